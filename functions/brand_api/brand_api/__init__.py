"""brand-api: the synchronous coalmine sample (API Gateway -> brand-api:prod -> DynamoDB).

``app.handler`` serves ``GET /brands/{brandId}``; ``faults`` holds the two fault knobs
(``FAULT_ERROR_RATE``, ``FAULT_LATENCY_MS``) that let a published version misbehave on purpose.
"""
