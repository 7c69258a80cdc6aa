"""coalmine: progressive delivery for AWS Lambda, orchestrated by Step Functions.

Pure domain: ``models``, ``strategies``, ``validation``, ``analysis``, ``deployment``.
AWS access: ``adapters``. One Lambda handler per state: ``handlers``.
"""
