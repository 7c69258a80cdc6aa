"""The rehearsal's ``decisionAtSeconds`` (world/results.py) is the time of the decision for every
strategy, read from the execution's history: a rollback when Rollback began (a blue/green rolled
back during its watch was decided then, not at its cutover), a promotion judged by a watch after
the cutover when the watch's last Analyze ended, any other promotion when Promote began."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from coalmine_sandbox.world.results import _decision_at

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def _entered(name: str, at: float) -> dict[str, Any]:
    return {
        "type": "TaskStateEntered",
        "timestamp": T0 + timedelta(seconds=at),
        "stateEnteredEventDetails": {"name": name},
    }


def _exited(name: str, at: float) -> dict[str, Any]:
    return {
        "type": "TaskStateExited",
        "timestamp": T0 + timedelta(seconds=at),
        "stateExitedEventDetails": {"name": name, "output": "{}"},
    }


WATCHED = {"steps": [{"index": -1, "ticks": [{"elapsedSeconds": 60}]}]}
CANARY = {"steps": [{"index": 0, "ticks": [{"elapsedSeconds": 60}]}]}


@pytest.mark.parametrize(
    ("events", "document", "expected"),
    [
        pytest.param(
            [_entered("Promote", 1), _exited("Analyze", 61), _entered("Rollback", 121.5)],
            WATCHED,
            121.5,
            id="blue/green rolled back during its watch: at the rollback, not the cutover",
        ),
        pytest.param(
            [_entered("Promote", 1), _exited("Analyze", 61), _exited("Analyze", 361)],
            WATCHED,
            361.0,
            id="a cutover promoted: when its watch's last analysis passed",
        ),
        pytest.param(
            [_exited("Analyze", 300), _exited("Analyze", 420), _entered("Promote", 420)],
            CANARY,
            420.0,
            id="a canary promoted: at Promote",
        ),
        pytest.param(
            [_entered("Promote", 0.5)],
            {"steps": [{"index": -1, "ticks": [], "reason": "not judged"}]},
            0.5,
            id="AllAtOnce not watched: at Promote",
        ),
        pytest.param([_entered("Prepare", 0)], {}, None, id="stopped before any decision"),
    ],
)
def test_decision_time_is_when_the_deployment_was_decided(
    events: list[dict[str, Any]], document: dict[str, Any], expected: float | None
) -> None:
    assert _decision_at(events, T0, document) == expected
