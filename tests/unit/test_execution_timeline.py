"""coalmine/execution_timeline.py (moved from cli/coalmine_cli/sources.py) and the metrics
marker of coalmine/timeline.py: a timeline from what AWS recorded, as tables of cases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from coalmine import execution_timeline as et
from coalmine import timeline

T0 = datetime(2030, 1, 1, 0, 2, 4, tzinfo=UTC)
ARN = "arn:aws:states:eu-west-1:123456789012:execution:coalmine-deployment:d-1"
DOC = {"functionName": "f", "alias": "prod", "fromVersion": "1", "toVersion": "2"}


def exited(name: str, output: Any, seconds: float = 0.0) -> dict[str, Any]:
    text = output if isinstance(output, str) else json.dumps(output)
    return {
        "type": "TaskStateExited",
        "timestamp": T0 + timedelta(seconds=seconds),
        "stateExitedEventDetails": {"name": name, "output": text},
    }


@pytest.mark.parametrize(
    ("output", "events", "expected"),
    [
        (json.dumps(DOC), [], DOC),  # the execution's output first
        (None, [exited("Prepare", DOC), exited("Analyze", "not json")], DOC),
        (None, [exited("Prepare", {**DOC, "weight": 0.1}), exited("X", {"a": 1})],
         {**DOC, "weight": 0.1}),
        (None, [exited("Prepare", [1, 2])], {}),  # no document anywhere
        ("{}", [], {}),
    ],
)  # fmt: skip
def test_last_document_is_the_latest_one_passed_on(
    output: str | None, events: list[dict[str, Any]], expected: dict[str, Any]
) -> None:
    assert et.last_document({"output": output}, events) == expected


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("s3://b/reports/f/prod/d-1/", ("b", "reports/f/prod/d-1/")),
        ("", ("", "")),
    ],
)
def test_tick_location(location: str, expected: tuple[str, str]) -> None:
    assert et.tick_location(location) == expected


def test_stored_ticks_fill_the_steps_and_the_document_fills_what_the_store_lacks() -> None:
    document = {
        "steps": [
            {"index": 0, "weight": 0.1, "ticks": [{"seq": 3, "v": "doc"}, {"seq": 4, "v": "doc"}]},
            {"index": -1, "weight": 1.0, "ticks": []},
        ]
    }
    stored = [
        {"step": 0, "weight": 0.1, "seq": 1, "v": "s3"},
        {"step": 0, "weight": 0.1, "seq": 3, "v": "s3"},
        {"step": -1, "seq": 5, "v": "s3"},
    ]
    steps = et.stored_steps(document, stored)
    assert [(t["seq"], t["v"]) for t in steps[0]["ticks"]] == [(1, "s3"), (3, "s3"), (4, "doc")]
    assert [(t["seq"], t["v"]) for t in steps[1]["ticks"]] == [(5, "s3")]
    assert "step" not in steps[0]["ticks"][0]
    assert "weight" not in steps[0]["ticks"][0]


def test_minute_queries_and_figures_round_trip() -> None:
    queries = et.minute_queries("f", "prod", ["1", "2"])
    assert [q["Id"] for q in queries] == [
        f"v{i}_{s}" for i in (0, 1) for s in ("inv", "err", "p50", "p99")
    ]
    dims = queries[4]["MetricStat"]["Metric"]["Dimensions"]
    assert {"Name": "ExecutedVersion", "Value": "2"} in dims
    assert {"Name": "Resource", "Value": "f:prod"} in dims
    minutes = timeline.window(T0, T0 + timedelta(minutes=1))
    m = minutes[2]
    answers = {"v0_inv": 10.0, "v0_err": 1.0, "v0_p50": 5.0, "v0_p99": 9.0, "v1_inv": 0.0}
    results = [
        {"Id": q["Id"], "Timestamps": [m + timedelta(seconds=0)], "Values": [answers[q["Id"]]]}
        for q in queries
        if q["Id"] in answers
    ]
    found = et.minute_figures(results, ["1", "2"], minutes)
    assert found == {m: {"1": timeline.figures(10, 1, 5.0, 9.0)}}  # v2 had no request
    assert et.query_span(minutes) == (minutes[0], minutes[-1] + timedelta(minutes=1))


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ({"status": "SUCCEEDED", "output": json.dumps({"outcome": "PROMOTED", "reason": "ok"})},
         ("PROMOTED", "ok")),
        ({"status": "FAILED", "error": "DeploymentRolledBack", "cause": "bad"},
         ("ROLLED_BACK", "bad")),
        ({"status": "ABORTED", "cause": "by hand"}, ("STOPPED", "by hand")),
        ({"status": "FAILED", "error": "InvalidInput", "cause": "x"},
         ("FAILED (InvalidInput)", "x")),
        ({"status": "RUNNING"}, (None, None)),
    ],
)  # fmt: skip
def test_ended_outcome_and_reason(
    description: dict[str, Any], expected: tuple[str | None, str | None]
) -> None:
    assert et.ended(description) == expected


def test_execution_without_a_document_has_no_evidence() -> None:
    description = {"executionArn": ARN, "status": "FAILED", "startDate": T0}
    with pytest.raises(et.NoEvidence, match="ended before Prepare"):
        et.Execution(description, [], T0)


def test_an_execution_stopped_mid_bake_draws_its_stop_and_routing() -> None:
    shifted = {**DOC, "weight": 0.25, "evidence": {"location": "s3://b/reports/f/prod/d-1/"}}
    events = [
        exited("Prepare", DOC, 1),
        exited("ShiftTraffic", shifted, 70),
        {"type": "ExecutionAborted", "timestamp": T0 + timedelta(seconds=200),
         "executionAbortedEventDetails": {"cause": "by hand"}},
    ]  # fmt: skip
    description = {
        "executionArn": ARN,
        "status": "ABORTED",
        "startDate": T0,
        "stopDate": T0 + timedelta(seconds=200),
    }
    execution = et.Execution(description, events, T0)
    assert execution.evidence_location == "s3://b/reports/f/prod/d-1/"
    assert execution.versions == ["1", "2"]
    read_at = T0 + timedelta(minutes=30)
    tl = execution.timeline([], {}, read_at)
    assert tl["decision"]["outcome"] == "STOPPED"
    assert tl["decision"]["t"] == 200.0
    assert [a["detail"] for a in tl["actions"]] == ["by hand"]
    assert tl["minutes"][2]["weights"] == {"1": 1.0}  # the start minute: not yet shifted
    assert tl["minutes"][-1]["weights"] == {"1": 0.75, "2": 0.25}
    assert tl["metricsComplete"] is True
    assert tl["metricsReadAt"] == timeline.iso(read_at)


@pytest.mark.parametrize(
    ("read_after_end", "complete", "through"),
    [
        (0, False, "2030-01-01T00:02:00Z"),  # 00:02 ended SETTLE_SECONDS + 60 s before
        (timeline.SETTLE_SECONDS - 60, False, "2030-01-01T00:04:00Z"),
        (timeline.SETTLE_SECONDS - 1, False, "2030-01-01T00:04:00Z"),
        (timeline.SETTLE_SECONDS, True, "2030-01-01T00:05:00Z"),  # the last minute settled
    ],
)
def test_the_metrics_marker_says_which_minutes_had_settled(
    read_after_end: float, complete: bool, through: str
) -> None:
    ended = datetime(2030, 1, 1, 0, 6, 0, tzinfo=UTC)  # the end of the last minute, 00:05
    minutes = timeline.window(T0, ended - timedelta(minutes=1))
    marker = timeline.metrics_marker(minutes, ended + timedelta(seconds=read_after_end))
    assert (marker["metricsComplete"], marker["metricsThrough"]) == (complete, through)
    assert timeline.is_complete({"schema": timeline.SCHEMA, **marker}) is complete


def test_a_rehearsal_timeline_is_complete_and_the_wait_ends_when_the_end_minute_settles() -> None:
    marker = timeline.metrics_marker(timeline.window(T0, T0), None)
    assert marker["metricsComplete"] is True
    end = datetime(2030, 1, 1, 0, 5, 30, tzinfo=UTC)
    assert timeline.settle_wait(end, end) == 30 + timeline.SETTLE_SECONDS
    assert timeline.settle_wait(end, end + timedelta(hours=1)) == 0.0
    assert not timeline.is_complete({"schema": timeline.SCHEMA})
