"""Reading an execution back (coalmine/execution_history.py): the last deployment document."""

from __future__ import annotations

import json
from typing import Any

import pytest

from coalmine.execution_history import last_document

DOC = {"deploymentId": "d-1", "outcome": "IN_PROGRESS"}
PROMOTED = DOC | {"outcome": "PROMOTED"}


def _exited(name: str, output: Any) -> dict[str, Any]:
    text = output if isinstance(output, str) else json.dumps(output)
    return {"type": "TaskStateExited", "stateExitedEventDetails": {"name": name, "output": text}}


def _succeeded(output: Any) -> dict[str, Any]:
    return {
        "type": "ExecutionSucceeded",
        "executionSucceededEventDetails": {"output": json.dumps(output)},
    }


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([], None),
        ([_exited("Prepare", DOC)], DOC),
        # a rolled-back execution: the Rollback state's document, then a Fail state (no output)
        (
            [_exited("Prepare", DOC), _exited("Rollback", DOC | {"outcome": "ROLLED_BACK"}),
             {"type": "ExecutionFailed", "executionFailedEventDetails": {"error": "E"}}],
            DOC | {"outcome": "ROLLED_BACK"},
        ),
        ([_exited("Prepare", DOC), _succeeded(PROMOTED)], PROMOTED),
        # outputs that are no document are passed over
        ([_exited("Prepare", DOC), _exited("Check", {"ok": True}), _exited("X", "not json")], DOC),
        ([_exited("Prepare", DOC), _exited("X", [1, 2])], DOC),
        ([{"type": "ExecutionStarted", "executionStartedEventDetails": {"input": "{}"}}], None),
    ],
)  # fmt: skip
def test_last_document(events: list[dict[str, Any]], expected: dict[str, Any] | None) -> None:
    assert last_document(events) == expected
