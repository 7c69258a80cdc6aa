"""Step Functions' limits, as the sandbox holds every execution to them (seams/sfn_limits.py):
a state's output and the execution input at most 256 KiB, the history at most 25,000 events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from coalmine_sandbox import Sandbox
from coalmine_sandbox.seams import sfn_limits

ROLE = "arn:aws:iam::123456789012:role/limits"


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=7, template=None) as sandbox:
        yield sandbox


def _machine(sb: Sandbox, name: str, states: dict[str, Any], start: str) -> str:
    definition = json.dumps({"StartAt": start, "States": states})
    sfn = sb.client("stepfunctions")
    return sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE)[
        "stateMachineArn"
    ]


def _history(sb: Sandbox, arn: str) -> list[dict[str, Any]]:
    return sb.client("stepfunctions").get_execution_history(executionArn=arn)["events"]


def test_an_execution_input_over_256_kib_is_refused() -> None:
    with Sandbox(seed=7, template=None) as sb:
        machine = _machine(sb, "input", {"P": {"Type": "Pass", "End": True}}, "P")
        sfn = sb.client("stepfunctions")
        at_limit = json.dumps({"pad": "x" * (sfn_limits.INPUT_LIMIT_BYTES - 11)})
        assert len(at_limit.encode()) == sfn_limits.INPUT_LIMIT_BYTES
        sfn.start_execution(stateMachineArn=machine, input=at_limit)  # exactly 262,144: taken
        with pytest.raises(ClientError) as refused:
            sfn.start_execution(stateMachineArn=machine, input=at_limit[:-2] + 'x"}')
        assert refused.value.response["Error"]["Code"] == "ValidationException"
        assert "262144" in refused.value.response["Error"]["Message"]


def test_a_pass_state_whose_output_exceeds_256_kib_fails_the_execution(sb: Sandbox) -> None:
    # Given a Pass that doubles a 150 KB document (300 KB out). Every state's output is checked
    # the same way (moto's State._eval_body: Pass, Choice, Wait, Task), a Task's result too.
    states = {"Grow": {"Type": "Pass", "Parameters": {"a.$": "$.pad", "b.$": "$.pad"}, "End": True}}
    machine = _machine(sb, "grow", states, "Grow")
    sfn = sb.client("stepfunctions")
    text = json.dumps({"pad": "x" * 150_000})
    arn = sfn.start_execution(stateMachineArn=machine, input=text)["executionArn"]
    # Then the execution fails with States.DataLimitExceeded
    ended = sb.wait_for_execution(arn)
    assert ended["status"] == "FAILED"
    assert ended.get("error") == "States.DataLimitExceeded"


def _spin(sb: Sandbox, name: str) -> str:
    states = {
        "Spin": {"Type": "Pass", "Next": "Again"},
        "Again": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.stop", "BooleanEquals": True, "Next": "Done"}],
            "Default": "Spin",
        },
        "Done": {"Type": "Succeed"},
    }
    machine = _machine(sb, name, states, "Spin")
    sfn = sb.client("stepfunctions")
    return sfn.start_execution(stateMachineArn=machine, input='{"stop": false}')["executionArn"]


@pytest.mark.parametrize("limit", [300, 301])
def test_an_execution_fails_at_its_last_allowed_history_event(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    # Given AWS's limit (25,000 events) lowered so a test runs it in a second, and a Pass/Choice
    # loop that never ends (an odd and an even limit: the cut may fall inside either state)
    assert sfn_limits.HISTORY_LIMIT_EVENTS == 25_000
    monkeypatch.setattr(sfn_limits, "HISTORY_LIMIT_EVENTS", limit)
    arn = _spin(sb, f"spin-{limit}")
    # When it runs: it fails with States.Runtime, the failure being the last allowed event
    ended = sb.wait_for_execution(arn)
    assert ended["status"] == "FAILED"
    assert ended["error"] == "States.Runtime"
    assert ended["cause"] == sfn_limits.history_cause(limit)
    events = _history(sb, arn)
    assert len(events) == limit
    assert [events[-1]["type"], events[-1]["id"]] == ["ExecutionFailed", limit]
    assert events[-2]["type"] != "ExecutionFailed"
