"""history: the deployment's item in DeploymentHistory (its key, its phase, what an update sets)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from coalmine import deployment, history, strategies
from coalmine.models import (
    Action,
    AnalysisConfig,
    Deployment,
    ErrorInfo,
    HookWait,
    Outcome,
    StepRecord,
    Verdict,
)

T0 = datetime(2030, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)


def _judged() -> StepRecord:
    return StepRecord(index=0, weight=0.5, bake_seconds=60, verdict=Verdict.PASS)


def _deployment(**update: object) -> Deployment:
    plan = strategies.resolve("Linear50PercentEvery1Minute")
    d = deployment.prepared("d-1", "brand-api", "prod", "1", "r", plan, AnalysisConfig(), "2", None)
    return d.model_copy(update={"started_at": T0, **update})


def test_the_key_is_function_alias_and_the_start_in_one_spelling() -> None:
    d = _deployment()
    assert history.key(d) == {
        "deploymentKey": "brand-api:prod",
        "startedAt": "2030-01-01T12:00:00.123Z",
    }
    # the same instant from the Step Functions context (ISO with an offset) keys the same item
    other = d.model_copy(
        update={"started_at": datetime.fromisoformat("2030-01-01T13:00:00.123+01:00")}
    )
    assert history.key(other) == history.key(d)


def _hook_wait(lifecycle: str) -> HookWait:
    return HookWait.model_validate({
        "lifecycle": lifecycle, "function": "smoke", "since": "2030-01-01T00:00:00Z",
        "resume": "SHIFT" if lifecycle == "PreTraffic" else "PROMOTE",
        "timeoutSeconds": 600, "heartbeatSeconds": 599,
    })  # fmt: skip


@pytest.mark.parametrize(
    ("update", "ended", "phase"),
    [
        ({}, False, "PREPARED"),
        ({"step_index": 0, "weight": 0.5, "action": Action.BAKE}, False, "STEP 1 (50%)"),
        (
            {"step_index": 0, "weight": 0.5, "action": Action.SHIFT, "steps": [_judged()]},
            False,
            "STEP 1 (50%) PASS",
        ),
        ({"action": Action.PROMOTE, "step_index": 0}, False, "PROMOTING"),
        # a callback hook's wait: before any traffic (nothing moved), after the cutover (promoting)
        ({"action": Action.HOOK, "hook_wait": _hook_wait("PreTraffic")}, False, "PREPARED"),
        ({"action": Action.HOOK, "hook_wait": _hook_wait("PostTraffic")}, False, "PROMOTING"),
        ({"outcome": Outcome.PROMOTED, "action": Action.BAKE}, False, "POST_PROMOTION_BAKE"),
        ({"outcome": Outcome.PROMOTED, "action": Action.FINISH}, False, "PROMOTED"),
        ({"action": Action.ROLLBACK}, False, "ROLLING_BACK"),
        ({"outcome": Outcome.ROLLED_BACK, "action": Action.FINISH}, False, "ROLLED_BACK"),
        ({"action": Action.ROLLBACK}, True, "ROLLED_BACK"),
        ({"error": ErrorInfo(Error="AliasChangedOutOfBand", Cause="x")}, True, "ABORTED"),
        ({"outcome": Outcome.PROMOTED, "action": Action.FINISH}, True, "PROMOTED"),
    ],
)
def test_the_phase(update: dict[str, object], ended: bool, phase: str) -> None:
    assert history.phase(_deployment(**update), ended=ended) == phase


def test_only_a_phase_change_a_new_verdict_or_the_end_is_written() -> None:
    d = deployment.shifted(deployment.published(_deployment(), "2"), "r")
    baked = d.model_copy(update={"bake": d.bake.model_copy(update={"elapsed_seconds": 10})})
    assert not history.changed(d, baked)
    assert history.changed(d, baked, ended=True)
    assert history.changed(_deployment(), d)
    judged = d.model_copy(deep=True)
    judged.steps[0].verdict = Verdict.PASS
    assert history.changed(d, judged)


def test_the_started_item_holds_the_input_the_plan_and_the_ttl() -> None:
    d = _deployment()
    request = {
        "functionName": "brand-api",
        "targetVersion": "2",
        "strategy": "Linear50PercentEvery1Minute",
    }
    item = history.started_item(d, request, T0, retention_days=30)
    assert json.loads(item["input"]) == request
    assert json.loads(item["plan"])["steps"] == [{"weight": 0.5, "bakeSeconds": 60}]
    assert item["expiresAt"] == int((T0 + timedelta(days=30)).timestamp())
    assert item["phases"] == [{"phase": "PREPARED", "at": "2030-01-01T12:00:00.123Z"}]
    assert item["endedAt"] is None


def test_an_ending_sets_the_end_and_the_duration() -> None:
    d = _deployment(outcome=Outcome.PROMOTED, action=Action.FINISH, reason=None)
    fields = history.fields(d, T0 + timedelta(seconds=90), ended=True)
    assert fields["phase"] == "PROMOTED"
    assert fields["endedAt"] == "2030-01-01T12:01:30.123Z"
    assert fields["durationSeconds"] == 90.0
    assert fields["verdicts"] == "[]"


_UPLOAD = {
    "source": "aws.s3",
    "detail-type": "Object Created",
    "detail": {
        "bucket": {"name": "artifacts"},
        "object": {"key": "deployments/brand-api/v2.zip"},
        "requester": "123456789012",
    },
}


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (
            {"upload": _UPLOAD},
            "upload of s3://artifacts/deployments/brand-api/v2.zip by 123456789012",
        ),
        (
            {"upload": {"detail": {"object": {"key": "k"}}}},
            "upload of s3://?/k by an unknown requester",
        ),
        (
            {"functionName": "f", "startedBy": " arn:aws:iam::1:role/ci "},
            "arn:aws:iam::1:role/ci (as reported by the caller)",
        ),
        ({"functionName": "f", "startedBy": "   "}, history.UNKNOWN_CALLER),
        ({"functionName": "f"}, history.UNKNOWN_CALLER),
        ("not an object", history.UNKNOWN_CALLER),
        # an upload's requester wins over what the input says of itself
        (
            {"upload": _UPLOAD, "startedBy": "me"},
            "upload of s3://artifacts/deployments/brand-api/v2.zip by 123456789012",
        ),
    ],
)
def test_started_by_says_who_asked_as_the_input_tells_it(request_: object, expected: str) -> None:
    assert history.started_by(request_) == expected


def test_started_by_is_cut_to_its_length() -> None:
    said = history.started_by({"startedBy": "x" * 1000})
    assert len(said) == history.STARTED_BY_CHARS
    assert said.endswith("...(cut)")
