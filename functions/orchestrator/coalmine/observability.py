"""The Logger, Tracer and Metrics every handler shares (service "coalmine", namespace Coalmine).

Configured by the Powertools environment variables (POWERTOOLS_SERVICE_NAME,
POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_TRACE_DISABLED, ...) with coalmine's defaults.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "coalmine")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Coalmine")

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)


def count(name: str, function_name: str) -> None:
    """One EMF count, e.g. ``StepShifted``, ``Promoted``, ``RolledBack``, per deployed function."""
    metrics.add_dimension(name="DeployedFunction", value=function_name)
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
