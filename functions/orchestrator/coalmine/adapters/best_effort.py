"""A write that must never change a deployment's outcome (the history item, the evidence, the
lifecycle events): tried, retried with back-off on any AWS error (or a write that reports part of
it failed: ``Incomplete``), then logged and counted with a Powertools metric."""

from __future__ import annotations

import time
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

from coalmine.observability import count, logger

#: Back-off between attempts (botocore's own standard-mode retries come on top of each).
RETRY_DELAYS = (0.5, 1.0, 2.0)


class Incomplete(Exception):
    """A call that answered 200 but did not do all of its work (PutEvents' FailedEntryCount)."""


def best_effort(
    write: Callable[[], object],
    metric: str,
    function_name: str,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Run ``write``; True once it succeeded, False (logged, ``metric`` counted) if every
    attempt failed with an AWS error. Anything else (a bug) propagates."""
    for delay in (*RETRY_DELAYS, None):
        try:
            write()
            return True
        except (ClientError, BotoCoreError, Incomplete) as error:
            if delay is None:
                logger.error(f"{metric}: giving up", extra={"error": str(error)})
                count(metric, function_name)
                return False
            sleep(delay)
    return False
