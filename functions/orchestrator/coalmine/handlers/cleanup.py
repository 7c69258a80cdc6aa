"""Cleanup: after a stop, a timeout or a crash, put the alias wholly back on one version and
free its lock (coalmine/recovery.py). Invoked by the ``CleanupOnEndRule`` EventBridge rule on
Step Functions ``Execution Status Change`` events (ABORTED, TIMED_OUT, FAILED)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from coalmine import recovery
from coalmine.adapters.lambda_api import LambdaApi
from coalmine.adapters.locks_table import LockTable
from coalmine.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    change = parse(event=event, model=recovery.ExecutionEnded).detail
    logger.set_correlation_id(change.name)
    done = recovery.clean_up(change, LambdaApi(), LockTable())
    logger.info("cleaned up", extra={"status": change.status, "done": done})
    return {"executionArn": change.execution_arn, "status": change.status, "done": done}
