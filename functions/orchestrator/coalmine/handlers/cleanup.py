"""Cleanup: after a stop, a timeout or a crash, put the alias wholly back on one version and
free its lock (coalmine/recovery.py). Invoked by the ``CleanupOnEndRule`` EventBridge rule on
Step Functions ``Execution Status Change`` events (ABORTED, TIMED_OUT, FAILED)."""

from __future__ import annotations

from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from coalmine import recovery
from coalmine.adapters.lambda_api import LambdaApi
from coalmine.adapters.locks_table import LockTable
from coalmine.exceptions import CoalmineError
from coalmine.handlers.rollback import roll_back
from coalmine.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    change = parse(event=event, model=recovery.ExecutionEnded).detail
    logger.set_correlation_id(change.name)
    done = clean_up(change, LambdaApi(), LockTable())
    logger.info("cleaned up", extra={"status": change.status, "done": done})
    return {"executionArn": change.execution_arn, "status": change.status, "done": done}


def clean_up(change: recovery.StatusChange, lambda_api: LambdaApi, locks: LockTable) -> str:
    """recovery.clean_up with Rollback's own code; an AWS error restoring the alias is a failure
    to restore it (RollbackFailed) like coalmine's own."""
    restore = partial(roll_back, lambda_api=lambda_api)
    failures = (CoalmineError, ClientError)
    return recovery.clean_up(change, locks, restore, failures, _reader(lambda_api))


def _reader(lambda_api: LambdaApi) -> recovery.ReadAlias:
    return lambda d: lambda_api.get_alias(d.function_name, d.alias)
