"""coalmine/timeline.py: the pieces of a deployment's timeline, as tables of cases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from coalmine import timeline

T0 = datetime(2030, 1, 1, 0, 2, 4, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([], 50, None),
        ([7.0], 99, 7.0),
        ([3.0, 1.0, 2.0], 50, 2.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.0),  # nearest rank: ceil(0.5 * 4) = 2nd
        ([float(i) for i in range(1, 101)], 99, 99.0),
        ([float(i) for i in range(1, 201)], 99, 198.0),
        ([1.0, 2.0], 100, 2.0),
    ],
)
def test_percentile_is_nearest_rank(values: list[float], p: float, expected: float | None) -> None:
    assert timeline.percentile(values, p) == expected


@pytest.mark.parametrize(
    ("started", "ended", "first", "count"),
    [
        (T0, T0, "2030-01-01T00:00:00Z", 3),  # two minutes of context + the start minute
        (T0, at(120), "2030-01-01T00:00:00Z", 5),
        (at(-4), at(56), "2030-01-01T00:00:00Z", 4),  # 00:02:00 .. 00:03:00
        (T0, at(-10), "2030-01-01T00:00:00Z", 3),  # an end before the start: the start's minute
    ],
)
def test_window_covers_context_then_every_minute_through_the_end(
    started: datetime, ended: datetime, first: str, count: int
) -> None:
    minutes = timeline.window(started, ended)
    assert timeline.iso(minutes[0]) == first
    assert len(minutes) == count
    assert all((b - a) == timedelta(minutes=1) for a, b in pairwise(minutes))


@pytest.mark.parametrize(
    ("state", "document", "expected"),
    [
        (
            "ShiftTraffic",
            {"fromVersion": "2", "toVersion": "3", "weight": 0.1},
            {"2": 0.9, "3": 0.1},
        ),
        ("ShiftTraffic", {"fromVersion": "2", "toVersion": "3", "weight": 1.0}, {"3": 1.0}),
        ("ShiftTraffic", {"fromVersion": "2", "toVersion": "3", "weight": 0.0}, {"2": 1.0}),
        ("Promote", {"fromVersion": "2", "toVersion": "3", "weight": 0.5}, {"3": 1.0}),
        ("Rollback", {"fromVersion": "2", "toVersion": "3", "weight": 0.5}, {"2": 1.0}),
        ("Rollback", {"fromVersion": "2"}, {"2": 1.0}),  # rolled back before publishing
        ("Promote", {"fromVersion": "2"}, None),
        ("ShiftTraffic", {}, None),
        ("Analyze", {"fromVersion": "2", "toVersion": "3", "weight": 0.1}, None),
    ],
)
def test_routing_after_each_state(
    state: str, document: dict[str, Any], expected: dict[str, float] | None
) -> None:
    assert timeline.routing_after(state, document) == expected


def _exited(name: str, seconds: float, document: dict[str, Any] | str) -> dict[str, Any]:
    output = document if isinstance(document, str) else json.dumps(document)
    return {
        "type": "TaskStateExited",
        "timestamp": at(seconds),
        "stateExitedEventDetails": {"name": name, "output": output},
    }


def _entered(name: str, seconds: float) -> dict[str, Any]:
    return {
        "type": "TaskStateEntered",
        "timestamp": at(seconds),
        "stateEnteredEventDetails": {"name": name, "input": "{}"},
    }


DOC = {"fromVersion": "2", "toVersion": "3"}
CANARY = [
    _exited("Prepare", 1, DOC),
    _exited("ShiftTraffic", 2, {**DOC, "weight": 0.1}),
    _exited("Analyze", 62, {**DOC, "weight": 0.1}),
    _exited("ShiftTraffic", 302, {**DOC, "weight": 1.0}),
]


@pytest.mark.parametrize(
    ("events", "t", "expected"),
    [
        ([], 100, {"2": 1.0}),  # nothing shifted: the old version
        (CANARY, 0, {"2": 1.0}),
        (CANARY, 2, {"2": 0.9, "3": 0.1}),  # a change counts from its own instant
        (CANARY, 301, {"2": 0.9, "3": 0.1}),
        (CANARY, 400, {"3": 1.0}),
        ([*CANARY[:2], _exited("Rollback", 120, {**DOC, "weight": 0.1})], 130, {"2": 1.0}),
        ([_exited("ShiftTraffic", 2, "not json")], 10, {"2": 1.0}),  # unreadable: ignored
    ],
)
def test_weights_at_follow_the_routing_states(
    events: list[dict[str, Any]], t: float, expected: dict[str, float]
) -> None:
    changes = timeline.routing_changes(events)
    assert timeline.weights_at(changes, {"2": 1.0}, at(t)) == expected


WATCHED = {"steps": [{"index": -1, "ticks": [{"elapsedSeconds": 60}]}]}


@pytest.mark.parametrize(
    ("events", "document", "expected"),
    [
        ([], {}, None),
        ([_entered("Rollback", 120), _entered("Rollback", 130)], {}, 120),  # the first entry
        ([_entered("Promote", 300)], {}, 300),
        ([_entered("Promote", 300), _exited("Analyze", 360, DOC)], WATCHED, 360),
        ([_entered("Promote", 300), _exited("Analyze", 360, DOC)], {}, 300),  # no watch
        ([_entered("Promote", 300), _entered("Rollback", 320)], {}, 320),
    ],
)
def test_decision_at(
    events: list[dict[str, Any]], document: dict[str, Any], expected: float | None
) -> None:
    found = timeline.decision_at(events, document)
    assert (None if found is None else (found - T0).total_seconds()) == expected


def _tick(seconds: float, verdict: str, seq: int) -> dict[str, Any]:
    return {
        "seq": seq,
        "elapsedSeconds": 60 * (seq + 1),
        "verdict": verdict,
        "action": "CONTINUE",
        "reason": "baking",
        "at": timeline.iso(at(seconds)),
        "gates": [{"gate": "errors", "verdict": verdict, "reason": "r", "evidence": {"n": 1}}],
    }


def test_tick_rows_flatten_every_step_in_time_order() -> None:
    steps = [
        {"index": -1, "weight": 1.0, "ticks": [_tick(400, "PASS", 0)]},
        {"index": 0, "weight": 0.1, "ticks": [_tick(120, "FAIL", 1), _tick(60, "PASS", 0)]},
        {"index": 1, "weight": 0.5, "ticks": []},
    ]
    rows = timeline.tick_rows(steps, T0)
    assert [(r["t"], r["step"], r["weight"], r["verdict"]) for r in rows] == [
        (60.0, 0, 0.1, "PASS"),
        (120.0, 0, 0.1, "FAIL"),
        (400.0, -1, 1.0, "PASS"),
    ]
    assert rows[1]["gates"] == [
        {"gate": "errors", "verdict": "FAIL", "reason": "r", "evidence": {"n": 1}}
    ]


@pytest.mark.parametrize(
    ("requests", "errors", "rate"),
    [(0, 0, None), (100, 0, 0.0), (113, 23, 0.20354), (3, 3, 1.0)],
)
def test_figures_error_rate(requests: int, errors: int, rate: float | None) -> None:
    assert timeline.figures(requests, errors, None, None)["errorRate"] == rate


def test_build_fills_every_minute_and_version() -> None:
    minute = timeline.minute_floor(T0)
    built = timeline.build(
        function="brand-api",
        alias="prod",
        from_version="2",
        to_version="3",
        execution_arn="arn",
        started=T0,
        ended=at(70),
        minute_weights={minute: {"2": 0.9, "3": 0.1}},
        minute_figures={minute: {"3": timeline.figures(10, 1, 20.0, 30.0)}},
        steps=[{"index": 0, "weight": 0.1, "ticks": [_tick(60, "PASS", 0)]}],
        actions=[timeline.action(at(65), T0, "stop", "by hand")],
        outcome="STOPPED",
        reason="by hand",
        decided=at(65),
    )
    assert [m["t"] for m in built["minutes"]] == [-124.0, -64.0, -4.0, 56.0]
    assert built["minutes"][0]["weights"] == {}  # no sample: no weights
    assert built["minutes"][2]["versions"]["3"]["errorRate"] == 0.1
    assert built["minutes"][2]["versions"]["2"]["requests"] == 0
    assert built["decision"] == {
        "outcome": "STOPPED",
        "reason": "by hand",
        "at": "2030-01-01T00:03:09Z",
        "t": 65.0,
    }
    assert built["actions"] == [
        {"at": "2030-01-01T00:03:09Z", "t": 65.0, "action": "stop", "detail": "by hand"}
    ]
    assert built["schema"] == timeline.SCHEMA
    json.dumps(built)  # plain JSON
