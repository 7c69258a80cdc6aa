"""Cleanup keeps trying: at least as long as Rollback's own retries (about 25 minutes) before it
gives up, and when it does, its error names the alias and the exact commands to finish by hand.

Lambda retries an asynchronous invocation only twice (1 min, then 2 min later): Cleanup therefore
retries within its invocation (up to its 15-minute timeout), so three attempts span more than
40 minutes; the last failure goes to the OnFailure queue, whose alarm notifies the alerts topic.
Pure: the handler (handlers/cleanup.py) passes the attempt, the sleep and its time budget in.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from coalmine.exceptions import RollbackFailed

#: Seconds between attempts within one invocation (then 60 s apart until the budget is spent).
BACKOFF_SECONDS = (5.0, 10.0, 20.0, 40.0, 60.0)


def persist(
    attempt: Callable[[], str],
    budget_seconds: float,
    sleep: Callable[[float], None],
    on_retry: Callable[[Exception, float], None],
) -> str:
    """``attempt()`` until it answers, or until the next wait would overrun ``budget_seconds``
    (then its last error is raised)."""
    waited, tries = 0.0, 0
    while True:
        try:
            return attempt()
        except Exception as error:
            delay = BACKOFF_SECONDS[min(tries, len(BACKOFF_SECONDS) - 1)]
            if waited + delay > budget_seconds:
                raise
            on_retry(error, delay)
            sleep(delay)
            waited, tries = waited + delay, tries + 1


def gave_up(function_name: str, alias: str, execution: str, table: str, error: Exception) -> str:
    """What Cleanup's last failure says: the alias, the error, and the commands to finish."""
    if isinstance(error, RollbackFailed):
        detail = str(error)  # it names the stable version and the exact update-alias command
    else:
        detail = (
            f"{type(error).__name__}: {error}. Finish by hand: aws lambda get-alias "
            f"--function-name {function_name} --name {alias}; if it is weighted, aws lambda "
            f"update-alias --function-name {function_name} --name {alias} --function-version "
            f"<the version it served before execution {execution}> --routing-config "
            f"AdditionalVersionWeights={{}}"
        )
    key = json.dumps({"lockId": {"S": f"{function_name}:{alias}"}})
    return (
        f"Cleanup of {function_name}:{alias} after execution {execution} gave up: {detail}; "
        f"then free its lock: aws dynamodb delete-item --table-name {table} --key '{key}'"
    )
