"""ReleaseLock: free the alias's lock on every ending the state machine runs (promoted, rolled
back, aborted), then pass the Deployment document on unchanged to the ``Finished`` Choice."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from coalmine import lock
from coalmine.adapters.locks_table import LockTable
from coalmine.models import Deployment
from coalmine.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    current = parse(event=event, model=Deployment)
    logger.set_correlation_id(current.deployment_id)
    released = release(current, LockTable())
    logger.info(
        "lock released" if released else "lock was not held", extra={"outcome": current.outcome}
    )
    return event


def release(current: Deployment, locks: LockTable) -> bool:
    """Idempotent: False when the lock is already free (a retry) or another deployment's."""
    return locks.release(lock.lock_id(current.function_name, current.alias), current.deployment_id)
