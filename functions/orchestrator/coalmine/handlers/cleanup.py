"""Cleanup: after a stop, a timeout or a crash (``Execution Status Change`` events, its OnEnd rule),
put the alias wholly back on one version and free its lock (coalmine/recovery.py); only for an
execution DescribeExecution confirms ended and the lock names."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from coalmine import cleanup_retries, recovery
from coalmine.adapters.lambda_api import LambdaApi
from coalmine.adapters.locks_table import LockTable
from coalmine.adapters.stepfunctions import StepFunctionsApi
from coalmine.exceptions import CoalmineError, RollbackFailed
from coalmine.handlers import rollback
from coalmine.observability import log_metrics, logger, tracer
from coalmine.recording import EndingLocks

MARGIN_SECONDS = 60.0  # of the invocation's time left for the last attempt


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    change = parse(event=event, model=recovery.ExecutionEnded).detail
    logger.set_correlation_id(change.name)
    locks, budget = LockTable(), context.get_remaining_time_in_millis() / 1000 - MARGIN_SECONDS
    cleaning = partial(clean_up, change, LambdaApi(), EndingLocks(locks, change.status))
    try:
        done = cleanup_retries.persist(cleaning, budget, time.sleep, _retrying)
    except Exception as error:
        name, alias = recovery.function_and_alias(change)
        failed = cleanup_retries.gave_up(name, alias, change.name, locks.table, error)
        raise RollbackFailed(failed) from error
    logger.info("cleaned up", extra={"status": change.status, "done": done})
    return {"executionArn": change.execution_arn, "status": change.status, "done": done}


def clean_up(
    change: recovery.StatusChange, lambda_api: LambdaApi, locks: recovery.HeldLocks
) -> str:
    """recovery.clean_up with Rollback's own code; an AWS error restoring the alias is a failure
    to restore it (RollbackFailed) like coalmine's own. The event is checked (DescribeExecution)."""
    restore, read = partial(rollback.restore, own=lambda_api), rollback.reader(lambda_api)
    failures = (CoalmineError, ClientError)  # (a target's function: through its role)
    return recovery.clean_up(change, locks, restore, failures, read, StepFunctionsApi())


def _retrying(error: Exception, delay: float) -> None:
    logger.warning("cleanup failed; retrying", extra={"error": str(error), "inSeconds": delay})
