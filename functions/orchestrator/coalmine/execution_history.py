"""Reading a deployment execution back from Step Functions -- pure: no boto3, the client is
passed in. Shared by `coalmine deploy` (a real execution on AWS) and the sandbox's rehearsal, so
both read an execution the same way.

- `HistoryReader`: an execution's history, read incrementally (each event returned once).
- `count_state_transitions`: state transitions as Standard workflows bill them.
- `cause_message`: the `errorMessage` of a Lambda error's Cause (JSON), or the Cause itself.
- `last_document`: the deployment document as the execution left it (its output, or the last
  state output that carried one: a rolled-back execution ends in a Fail state without output).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from coalmine.exceptions import lambda_error_message

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})  # an execution has ended


@dataclass
class HistoryReader:
    """Reads an execution's history incrementally (each event is returned once)."""

    sfn: Any  # a Step Functions client
    execution_arn: str
    _seen: int = 0
    _events: list[dict[str, Any]] = field(default_factory=list)

    def new_events(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": self.execution_arn, "maxResults": 1000}
        while True:
            page = self.sfn.get_execution_history(**kwargs)
            events.extend(page["events"])
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        fresh = events[self._seen :]
        self._seen = len(events)
        self._events.extend(fresh)
        return fresh

    @property
    def events(self) -> list[dict[str, Any]]:
        return self._events


def count_state_transitions(events: list[dict[str, Any]]) -> int:
    """State transitions as Standard workflows bill them: one per state entered."""
    return sum(1 for event in events if event["type"].endswith("StateEntered"))


def cause_message(cause: str | None) -> str | None:
    """A failure's Cause as a person reads it: a Lambda error's `errorMessage` when the Cause is
    its JSON, else the Cause as it is."""
    return lambda_error_message(cause) if cause else cause


def last_document(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The last deployment document (an object with a `deploymentId`) an execution passed on:
    the execution's output, else the newest state output holding one; None when none did (a
    deployment refused in Prepare)."""
    for event in reversed(events):
        details = event.get("executionSucceededEventDetails") or event.get(
            "stateExitedEventDetails"
        )
        if not details or not details.get("output"):
            continue
        try:
            output = json.loads(details["output"])
        except ValueError:
            continue
        if isinstance(output, dict) and "deploymentId" in output:
            return output
    return None
