"""`coalmine status --watch`: follow one deployment until it ends, then exit as `coalmine deploy`
does (0 promoted, 1 not promoted; 4 at `--timeout`, 130 on Ctrl-C: the deployment goes on).

On a terminal the status (coalmine_cli/status.py) is redrawn in place every ``--poll-seconds``;
anywhere else (a CI log, a pipe) it is printed once, then one plain line per thing that happens
(the progress lines `coalmine deploy` prints: coalmine_cli/progress.py), then the status once
more at the end: nothing is redrawn, so a log reads top to bottom."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TextIO

from botocore.exceptions import ClientError

from coalmine.execution_history import TERMINAL, HistoryReader
from coalmine_cli import deploy, status
from coalmine_cli.progress import progress_lines

CLEAR = "\x1b[H\x1b[2J"  # cursor home, clear the screen


def known(sfn: Any, arn: str) -> str:
    """``arn`` if the execution exists; Refused (exit 2, one line) if Step Functions has none."""
    try:
        sfn.describe_execution(executionArn=arn)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
            raise deploy.Refused(f"execution {arn} does not exist") from error
        raise
    return arn


def one(arns: list[str], target: str) -> str:
    """The one execution to watch; Refused when there is none or more than one."""
    if not arns:
        raise deploy.Refused(f"no deployment of {target} is running")
    if len(arns) > 1:
        raise deploy.Refused(
            f"{len(arns)} deployments of {target} are running: name the alias or the execution"
        )
    return arns[0]


def watch(
    sfn: Any,
    arn: str,
    out: TextIO,
    *,
    tty: bool,
    poll_seconds: float = 5.0,
    timeout_seconds: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Follow ``arn`` until it ends; deploy's exit code. Raises deploy.TimedOut at the timeout."""
    reader = HistoryReader(sfn, arn)
    deadline = None if timeout_seconds is None else clock() + timeout_seconds
    first = True
    while True:
        description = sfn.describe_execution(executionArn=arn)
        fresh = reader.new_events()
        ended = description["status"] in TERMINAL
        if ended:  # (events written between the two reads)
            fresh += reader.new_events()
        if tty:
            header = f"coalmine status --watch  (every {poll_seconds:g} s; Ctrl-C stops watching)"
            lines = status.lines(description, reader.events)
            out.write(CLEAR + "\n".join([header, "", *lines]) + "\n")
        else:
            if not first:
                out.writelines(f"{line}\n" for line in progress_lines(fresh))
            if first or ended:
                out.writelines(f"{line}\n" for line in status.lines(description, reader.events))
        out.flush()
        if ended:
            return deploy.exit_code(description)
        first = False
        if deadline is not None and clock() >= deadline:
            raise deploy.TimedOut(arn)
        sleep(poll_seconds)
