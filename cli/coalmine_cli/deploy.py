"""`coalmine deploy`: start a deployment execution and follow it until it ends.

This is what CI runs: it validates the input locally first (so a typo fails in a second, with the
field named, and starts nothing), starts the execution, prints progress from its history, and
exits 0 only when the new version was promoted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from coalmine.exceptions import InvalidInput
from coalmine.execution_history import TERMINAL, HistoryReader
from coalmine.strategies import resolve
from coalmine.validation import parse_request
from coalmine_cli.progress import progress_lines

EXIT_PROMOTED = 0
EXIT_NOT_PROMOTED = 1
EXIT_BAD_INPUT = 2


def find_state_machine(cloudformation: Any, stack_name: str) -> str:
    """The deployment state machine's ARN from the stack's outputs."""
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    for output in stack.get("Outputs", []):
        if output["OutputKey"] == "DeploymentStateMachineArn":
            return output["OutputValue"]
    raise SystemExit(f"stack {stack_name} has no DeploymentStateMachineArn output")


def start(sfn: Any, state_machine_arn: str, request: dict[str, Any], name: str | None) -> str:
    # Both raise InvalidInput naming the field (an unknown strategy name included): nothing starts.
    resolve(parse_request(request).strategy)
    kwargs: dict[str, Any] = {"stateMachineArn": state_machine_arn, "input": json.dumps(request)}
    if name:
        kwargs["name"] = name
    return sfn.start_execution(**kwargs)["executionArn"]


def follow(
    sfn: Any,
    execution_arn: str,
    emit: Callable[[str], None],
    poll_seconds: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Print progress until the execution ends; return its final description."""
    reader = HistoryReader(sfn, execution_arn)
    while True:
        description = sfn.describe_execution(executionArn=execution_arn)
        for line in progress_lines(reader.new_events()):
            emit(line)
        if description["status"] in TERMINAL:
            for line in progress_lines(reader.new_events()):
                emit(line)
            return description
        sleep(poll_seconds)


def exit_code(description: dict[str, Any]) -> int:
    if description["status"] != "SUCCEEDED":
        return EXIT_NOT_PROMOTED
    output = json.loads(description.get("output") or "{}")
    return EXIT_PROMOTED if output.get("outcome") == "PROMOTED" else EXIT_NOT_PROMOTED


def bad_input_message(error: InvalidInput) -> str:
    return f"coalmine: invalid deployment input: {error}"
