"""ReleaseLock: free the alias's lock on every ending the state machine runs (promoted, rolled
back, aborted), then pass the Deployment document on unchanged to the ``Finished`` Choice."""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from coalmine import lock
from coalmine.adapters.locks_table import LockTable
from coalmine.models import Deployment
from coalmine.observability import logger
from coalmine.recording import recorded_ending


@recorded_ending
def handler(current: Deployment, context: LambdaContext) -> None:
    released = release(current, LockTable())
    logger.info(
        "lock released" if released else "lock was not held", extra={"outcome": current.outcome}
    )
    return None  # the document passes on unchanged


def release(current: Deployment, locks: LockTable) -> bool:
    """Idempotent: False when the lock is already free (a retry) or another deployment's."""
    return locks.release(lock.deployment_lock_id(current), current.deployment_id)
