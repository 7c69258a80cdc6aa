"""Pure: what an operator's pending request does at the next analysis tick (operator_actions.py),
and how the rest of the document's readers see an operator's abort."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from coalmine import deployment, history, lifecycle_events, operator_actions, strategies
from coalmine.models import (
    Action,
    AnalysisConfig,
    Bake,
    Deployment,
    OperatorAction,
    Outcome,
    StepRecord,
    Verdict,
)

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
ALICE = "arn:aws:sts::123456789012:assumed-role/oncall/alice"


def _baking() -> Deployment:
    plan = strategies.resolve("Canary10Percent5Minutes")
    d = deployment.prepared("d-1", "brand-api", "prod", "1", "r", plan, AnalysisConfig(), "2", None)
    return d.model_copy(update={"started_at": T0, "step_index": 0, "weight": 0.1,
                                "action": Action.BAKE})  # fmt: skip


def _abort(seconds: int = 30, principal: str = ALICE, ident: str = "a1") -> OperatorAction:
    return OperatorAction(
        id=ident, action="abort", principal=principal, at=T0 + timedelta(seconds=seconds),
        reason="wrong prices",
    )  # fmt: skip


def test_no_request_leaves_the_tick_to_the_analysis() -> None:
    assert operator_actions.act(_baking(), [], T0) is None


def test_an_abort_rolls_back_at_once_naming_the_operator_and_the_reason() -> None:
    now = T0 + timedelta(seconds=60)
    after = operator_actions.act(_baking(), [_abort()], now)
    assert after is not None
    assert after.action == Action.ROLLBACK
    assert after.error is not None
    assert after.error.Error == "DeploymentAborted"
    assert after.error.Cause == f"aborted by {ALICE}: wrong prices"
    assert after.reason == after.error.Cause
    [done] = after.operator_actions
    assert (done.id, done.principal, done.applied_at) == ("a1", ALICE, now)


def test_a_request_already_acted_on_is_not_acted_on_again() -> None:
    after = operator_actions.act(_baking(), [_abort()], T0 + timedelta(seconds=60))
    assert after is not None
    assert operator_actions.act(after, [_abort()], T0 + timedelta(seconds=120)) is None


def test_the_oldest_pending_request_is_acted_on_first() -> None:
    late, early = _abort(50, "arn:late", "late"), _abort(10, "arn:early", "early")
    after = operator_actions.act(_baking(), [late, early], T0 + timedelta(seconds=60))
    assert after is not None
    assert [a.id for a in after.operator_actions] == ["early"]
    assert operator_actions.pending(after, [late, early]) == [late]


def test_the_rollback_keeps_the_operators_reason_and_the_deployment_ends_aborted() -> None:
    aborted = operator_actions.act(_baking(), [_abort()], T0 + timedelta(seconds=60))
    assert aborted is not None
    rolled = deployment.rolled_back(aborted, "r2")
    assert rolled.reason == f"aborted by {ALICE}: wrong prices"
    assert history.phase(rolled, ended=True) == "ABORTED"
    recorded = history.fields(rolled, T0 + timedelta(seconds=90), ended=True)["operatorActions"]
    assert [a["principal"] for a in json.loads(recorded)] == [ALICE]
    assert history.fields(_baking(), T0)["operatorActions"] is None  # (no attribute written)
    assert lifecycle_events.after_step(rolled, rolled, ended=True) == [lifecycle_events.ABORTED]


def test_the_document_round_trips_with_its_operator_actions() -> None:
    aborted = operator_actions.act(_baking(), [_abort()], T0 + timedelta(seconds=60))
    assert aborted is not None
    wire = aborted.to_json()
    assert wire["operatorActions"][0]["appliedAt"] == "2030-01-01T12:01:00Z"
    assert Deployment.model_validate(wire) == aborted


def _promote_now(seconds: int = 30) -> OperatorAction:
    return OperatorAction(
        id="p1", action="promote-now", principal=ALICE, at=T0 + timedelta(seconds=seconds),
        reason="verified by hand",
    )  # fmt: skip


def test_promote_now_skips_the_remaining_bakes_through_the_promote_state() -> None:
    d = _baking()
    d.steps.append(StepRecord(index=0, weight=0.1, bake_seconds=300))
    after = operator_actions.act(d, [_promote_now()], T0 + timedelta(seconds=60))
    assert after is not None
    assert after.action == Action.PROMOTE
    assert after.error is None
    assert after.reason == f"promoted now by {ALICE}: verified by hand"
    assert after.steps[-1].reason == f"bake skipped: {after.reason}"
    assert after.bake == Bake()
    assert d.steps[-1].reason is None  # (the document given is not changed)
    # the Promote state then puts it wholly on the new version; the plan's watch still follows
    promoted = deployment.promoted(after, "r2")
    assert (promoted.weight, promoted.outcome) == (1.0, Outcome.PROMOTED)
    assert promoted.reason == after.reason


def test_promote_now_during_the_watch_ends_it_promoted() -> None:
    watching = _baking().model_copy(update={"outcome": Outcome.PROMOTED, "weight": 1.0})
    after = operator_actions.act(watching, [_promote_now()], T0 + timedelta(seconds=60))
    assert after is not None
    assert (after.action, after.outcome) == (Action.FINISH, Outcome.PROMOTED)
    assert history.phase(after, ended=True) == "PROMOTED"


def _request(action: str, seconds: int, ident: str) -> OperatorAction:
    return OperatorAction.model_validate(
        {"id": ident, "action": action, "principal": ALICE,
         "at": T0 + timedelta(seconds=seconds), "reason": "waiting"}
    )  # fmt: skip


def _in_bake() -> Deployment:
    d = _baking()
    d.steps.append(StepRecord(index=0, weight=0.1, bake_seconds=300))
    d.bake = Bake(bake_seconds=300, elapsed_seconds=120, wait_seconds=60)
    return d


def test_a_pause_holds_the_step_and_a_resume_bakes_on_from_where_it_stopped() -> None:
    paused = operator_actions.act(_in_bake(), [_request("pause", 10, "p")], T0)
    assert paused is not None
    assert (paused.paused_at, paused.action, paused.bake.elapsed_seconds) == (T0, Action.BAKE, 120)
    # a tick while paused that would end the step keeps it where it was
    passed = paused.model_copy(deep=True)
    passed.bake.elapsed_seconds, passed.action = 300, Action.PROMOTE
    passed.steps[-1].verdict = Verdict.PASS
    later = T0 + timedelta(hours=1)
    kept = operator_actions.held(paused, passed, later)
    assert (kept.action, kept.bake.elapsed_seconds, kept.steps[-1].verdict) == (
        Action.BAKE, 120, None
    )  # fmt: skip
    # ... but a FAIL still rolls back
    failed = paused.model_copy(update={"action": Action.ROLLBACK})
    assert operator_actions.held(paused, failed, later).action == Action.ROLLBACK
    resumed = operator_actions.act(paused, [_request("resume", 20, "r")], later)
    assert resumed is not None
    assert (resumed.paused_at, resumed.action, resumed.bake.wait_seconds) == (None, Action.BAKE, 60)
    assert operator_actions.held(resumed, passed, later) is passed  # not paused: as judged


def test_a_pause_longer_than_max_pause_seconds_rolls_back() -> None:
    paused = operator_actions.act(_in_bake(), [_request("pause", 10, "p")], T0)
    assert paused is not None
    limit = paused.analysis.max_pause_seconds
    assert limit == 86_400
    on = paused.model_copy(deep=True)
    assert operator_actions.held(paused, on, T0 + timedelta(seconds=limit)).action == Action.BAKE
    late = operator_actions.held(paused, on, T0 + timedelta(seconds=limit + 60))
    assert late.action == Action.ROLLBACK
    assert late.reason is not None
    assert "analysis.maxPauseSeconds (86400 s)" in late.reason
