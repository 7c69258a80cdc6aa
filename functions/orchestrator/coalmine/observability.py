"""The Logger, Tracer and Metrics every handler shares (service and namespace "coalmine").

Configured by the Powertools environment variables (POWERTOOLS_SERVICE_NAME,
POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_TRACE_DISABLED, ...) with coalmine's defaults.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from coalmine import outcome_metrics
from coalmine.models import Deployment

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "coalmine")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "coalmine")  # template.yaml's

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)


Handler = Callable[[dict[str, Any], LambdaContext], Any]


def log_metrics(handler: Handler) -> Handler:
    """Powertools' ``metrics.log_metrics`` without its "No application metrics to publish"
    warning: many invocations have nothing to count (an Analyze tick that changes nothing,
    ReleaseLock, a Cleanup with no lock to free), so an empty set is cleared, not flushed."""

    @functools.wraps(handler)
    def run(event: dict[str, Any], context: LambdaContext) -> Any:
        try:
            return handler(event, context)
        finally:
            if metrics.metric_set:
                metrics.flush_metrics()
            else:
                metrics.clear_metrics()

    return run


def count(name: str, function_name: str) -> None:
    """One EMF count, e.g. ``StepShifted``, ``Promoted``, ``RolledBack``, per deployed function."""
    metrics.add_dimension(name="DeployedFunction", value=function_name)
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def deployment_ended(d: Deployment, ending: str, values: dict[str, float]) -> None:
    """One deployment's metrics at its end (coalmine/outcome_metrics.py), flushed at once as
    their own EMF document: dimensions ``DeployedFunction`` and ``Alias``, the deployment's id
    and execution as metadata (searchable in Logs Insights, not dimensions)."""
    ended = EphemeralMetrics(service=SERVICE, namespace=NAMESPACE)
    ended.add_dimension(name="DeployedFunction", value=d.function_name)
    ended.add_dimension(name="Alias", value=d.alias)
    for name, value in values.items():
        unit = MetricUnit.Seconds if name in outcome_metrics.SECONDS else MetricUnit.Count
        ended.add_metric(name=name, unit=unit, value=value)
    ended.add_metadata(key="deploymentId", value=d.deployment_id)
    ended.add_metadata(key="executionArn", value=d.execution_arn or "")
    ended.add_metadata(key="ending", value=ending)
    ended.flush_metrics()


Step = Callable[[Deployment, LambdaContext], Deployment | None]


After = Callable[[Deployment, Deployment], Deployment]


def deployment_step(
    step: Step, after: After | None = None
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """A state's handler from ``step(deployment, context)``: the Lambda context in every log line,
    X-Ray, EMF flushed; the event parsed as the deployment document (pydantic, via Powertools)
    with its id as the correlation id; the returned document as plain JSON -- or, when the step
    returns None, its input passed on unchanged. ``after(input, output)`` (coalmine/recording.py:
    evidence offloaded, history updated) gives the document returned. Errors propagate to the
    state's Retry/Catch."""

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler
    @log_metrics
    @functools.wraps(step)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        current = parse(event=event, model=Deployment)
        logger.set_correlation_id(current.deployment_id)
        result = step(current, context)
        if after is not None:
            recorded = after(current, current if result is None else result)
            result = None if result is None and recorded == current else recorded
        return event if result is None else result.to_json()

    return handler
