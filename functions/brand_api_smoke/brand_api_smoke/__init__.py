"""brand-api-smoke: a sample coalmine lifecycle hook for brand-api (docs/reference.md "Hooks").

``app.handler`` receives coalmine's hook payload and tests ``brand-api:<toVersion>`` directly
with API Gateway requests; ``checks`` builds those requests and judges the answers.
"""
