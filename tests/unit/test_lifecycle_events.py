"""lifecycle_events: which event a step emits, its detail (valid against schemas/events/), the
PutEvents entry and its limits; outcome_metrics: a deployment's metrics at its end."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from lifecycle_schemas import SCHEMAS, problems, slug

from coalmine import deployment, lifecycle_events, outcome_metrics, strategies
from coalmine.models import (
    Action,
    AnalysisConfig,
    Deployment,
    ErrorInfo,
    EvidenceRecord,
    Outcome,
    StepRecord,
)

T0 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
ARN = "arn:aws:states:eu-west-1:123456789012:execution:coalmine-deployment:d-1"
REPORT = "s3://coalmine-reports/reports/brand-api/prod/d-1/"
E = lifecycle_events


def _deployment(**update: object) -> Deployment:
    plan = strategies.resolve("Linear50PercentEvery1Minute")
    d = deployment.prepared("d-1", "brand-api", "prod", "1", "r", plan, AnalysisConfig(), "2", None)
    return d.model_copy(update={"started_at": T0, "execution_arn": ARN, **update})


PREPARED = _deployment()
STEP_1 = _deployment(step_index=0, weight=0.5, action=Action.BAKE)
PROMOTED = _deployment(step_index=0, weight=1.0, action=Action.FINISH, outcome=Outcome.PROMOTED)
ROLLED_BACK = _deployment(
    step_index=0, weight=0.0, action=Action.FINISH, outcome=Outcome.ROLLED_BACK, reason="errors"
)
ABORTED = STEP_1.model_copy(
    update={"error": ErrorInfo(Error="AliasChangedOutOfBand", Cause="someone")}
)


def test_every_detail_type_has_a_valid_2020_12_schema_and_no_schema_is_orphaned() -> None:
    files = {p.stem for p in SCHEMAS.glob("*.json")}
    assert files == {slug(t) for t in E.DETAIL_TYPES}
    for path in SCHEMAS.glob("*.json"):
        schema = json.loads(path.read_text())
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize(
    ("before", "after", "ended", "kinds"),
    [
        (PREPARED, STEP_1, False, [E.SHIFTED]),  # ShiftTraffic
        (STEP_1, STEP_1.model_copy(update={"action": Action.SHIFT}), False, []),  # a tick
        (STEP_1, PROMOTED.model_copy(update={"action": Action.BAKE}), False, [E.SHIFTED]),
        (STEP_1, ROLLED_BACK, False, []),  # Rollback: the ending says it
        (PREPARED, PREPARED.model_copy(update={"action": Action.ROLLBACK}), False, []),  # hook
        (PROMOTED, PROMOTED, True, [E.PROMOTED]),  # ReleaseLock
        (ROLLED_BACK, ROLLED_BACK, True, [E.ROLLED_BACK]),
        (ABORTED, ABORTED, True, [E.ABORTED]),
    ],
)
def test_which_event_a_step_emits(
    before: Deployment, after: Deployment, ended: bool, kinds: list[str]
) -> None:
    assert E.after_step(before, after, ended=ended) == kinds


@pytest.mark.parametrize(
    ("d", "kind", "status"),
    [
        (PREPARED, E.STARTED, None),
        (STEP_1, E.SHIFTED, None),
        (PROMOTED.model_copy(update={"action": Action.BAKE}), E.SHIFTED, None),
        (PROMOTED, E.PROMOTED, None),
        (ROLLED_BACK, E.ROLLED_BACK, None),
        (ABORTED, E.ABORTED, None),
        (STEP_1, E.STOPPED, "ABORTED"),
        (STEP_1, E.STOPPED, "TIMED_OUT"),
        (PROMOTED, E.STOPPED, "ABORTED"),  # stopped once the promotion was complete
        (STEP_1, E.FAILED, "FAILED"),
    ],
)
def test_each_detail_is_valid_against_its_schema(d: Deployment, kind: str, status: str) -> None:
    body = E.detail(d, kind, T0 + timedelta(minutes=3), report=REPORT, status=status)
    assert problems(kind, body) == []
    assert body["executionArn"] == ARN
    assert body["time"] == "2030-01-01T12:03:00.000Z"


def test_a_detail_breaking_its_schema_is_caught() -> None:
    body = E.detail(STEP_1, E.SHIFTED, T0)
    assert problems(E.PROMOTED, body)  # weight 0.5 is no promotion
    assert problems(E.STOPPED, body)  # no status
    assert problems("Deployment Exploded", body) == [
        "no schema for detail-type 'Deployment Exploded'"
    ]


def test_the_detail_names_the_console_and_the_report() -> None:
    body = E.detail(ROLLED_BACK, E.ROLLED_BACK, T0, report=REPORT)
    assert body["consoleUrl"] == (
        "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1"
        f"#/v2/executions/details/{ARN}"
    )
    assert body["reportUrl"] == (
        "https://s3.console.aws.amazon.com/s3/buckets/coalmine-reports"
        "?prefix=reports/brand-api/prod/d-1/"
    )
    assert (body["step"], body["weight"], body["reason"]) == (1, 0.0, "errors")
    cn = E.console_url(ARN.replace("arn:aws:", "arn:aws-cn:").replace("eu-west-1", "cn-north-1"))
    assert cn.startswith("https://cn-north-1.console.amazonaws.cn/states/")


def test_a_stop_says_what_cleanup_did_and_a_long_reason_is_cut() -> None:
    body = E.detail(
        STEP_1.model_copy(update={"reason": "x" * 5000}), E.STOPPED, T0, status="ABORTED"
    )
    assert body["reason"].startswith("the execution was stopped")
    assert body["reason"].endswith("...(cut)")
    assert len(body["reason"]) == E.REASON_CHARS + 8
    assert body["status"] == "ABORTED"
    assert body["phase"] == "STOPPED"


def test_an_entry_is_on_the_default_bus_shape_and_sized_as_eventbridge_counts() -> None:
    body = E.detail(STEP_1, E.SHIFTED, T0)
    entry = E.entry(E.SHIFTED, body, T0)
    assert (entry["Source"], entry["DetailType"], entry["Resources"]) == (
        "coalmine",
        E.SHIFTED,
        [ARN],
    )
    assert json.loads(entry["Detail"]) == body
    expected = 14 + len("coalmine") + len(E.SHIFTED) + len(entry["Detail"]) + len(ARN)
    assert E.entry_size(entry) == expected


def test_batches_hold_put_events_limits() -> None:
    small = E.entry(E.SHIFTED, {"x": "a"}, T0)
    big = E.entry(E.SHIFTED, {"x": "a" * 100_000}, T0)
    huge = E.entry(E.SHIFTED, {"x": "a" * 300_000}, T0)
    assert [len(b) for b in E.batches([small] * 23)] == [10, 10, 3]
    assert [len(b) for b in E.batches([big, big, big, small])] == [2, 2]
    assert list(E.batches([huge])) == []  # too large alone: left out (the adapter counts it)


def test_the_decision_time_is_the_step_that_decided() -> None:
    t1, t2 = T0 + timedelta(minutes=2), T0 + timedelta(minutes=9)
    # an Analyze choosing promotion decides; Promote's FINISH after it does not
    analyzed = deployment.decided(STEP_1, STEP_1.model_copy(update={"action": Action.PROMOTE}), t1)
    assert analyzed.decided_at == t1
    finished = deployment.decided(analyzed, PROMOTED.model_copy(update={"decided_at": t1}), t2)
    assert finished.decided_at == t1
    # in the watch after the cutover, the tick ending it decides
    watching = PROMOTED.model_copy(update={"action": Action.BAKE, "decided_at": t1})
    done = deployment.decided(watching, watching.model_copy(update={"action": Action.FINISH}), t2)
    assert done.decided_at == t2
    # a tick that only bakes on decides nothing
    assert deployment.decided(STEP_1, STEP_1, t1).decided_at is None


def test_a_deployments_metrics_at_its_end() -> None:
    step = StepRecord(index=0, weight=0.5, bake_seconds=60, tick_count=4)
    d = PROMOTED.model_copy(
        update={"steps": [step], "decided_at": T0 + timedelta(seconds=300),
                "evidence": EvidenceRecord(location=REPORT)}
    )  # fmt: skip
    values = outcome_metrics.values(d, E.PROMOTED, T0 + timedelta(seconds=420))
    assert values == {
        "DeploymentPromoted": 1.0,
        "AnalysisTicks": 4.0,
        "DeploymentDuration": 420.0,
        "DecisionTime": 300.0,
    }
    assert set(values) <= set(outcome_metrics.NAMES)
    moving = {E.STARTED, E.SHIFTED, E.APPROVAL_REQUESTED}
    assert set(outcome_metrics.ENDINGS) == set(E.DETAIL_TYPES) - moving


def test_the_schemas_live_where_the_docs_say() -> None:
    assert Path(__file__).resolve().parents[2] / "schemas" / "events" == SCHEMAS
