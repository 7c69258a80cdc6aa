"""Deployment state transitions (pure): shift, promote, roll back, alias ownership (the tick's
transition, analysis.ticked, is test_tick.py's)."""

from __future__ import annotations

import json

import pytest

from coalmine import deployment, ownership, strategies
from coalmine.exceptions import AliasChangedOutOfBand
from coalmine.models import (
    Action,
    AliasState,
    AnalysisConfig,
    Deployment,
    ErrorInfo,
    GateResult,
    Outcome,
    Plan,
    Verdict,
)
from events import load_event

PASS = [GateResult(gate="alarms", verdict=Verdict.PASS, reason="ok")]
UNSURE = [GateResult(gate="alarms", verdict=Verdict.INCONCLUSIVE, reason="no data: errors")]
FAIL = [GateResult(gate="alarms", verdict=Verdict.FAIL, reason="alarm(s) in ALARM: errors")]


def _published(plan: Plan | str, interval: int = 60) -> Deployment:
    plan = strategies.resolve(plan) if isinstance(plan, str) else plan
    d = deployment.prepared(
        "d-1",
        "brand-api",
        "prod",
        "1",
        "rev-0",
        plan,
        AnalysisConfig(interval_seconds=interval),
        "2",
        None,
    )
    return deployment.published(d, "2")


@pytest.mark.parametrize(
    ("strategy", "action"),
    [("Canary10Percent5Minutes", Action.SHIFT), ("AllAtOnce", Action.PROMOTE)],
)
def test_published_chooses_shift_or_promote(strategy: str, action: Action) -> None:
    d = _published(strategy)
    assert (d.to_version, d.action) == ("2", action)


def test_shift_starts_a_bake_of_one_interval() -> None:
    # Given a canary of 10% for 5 minutes analysed every 60 s
    d = deployment.shifted(_published("Canary10Percent5Minutes"), "rev-1")
    # Then the alias routes 10%, one step record exists, and the first wait is one interval
    assert (d.step_index, d.weight, d.revision_id, d.action) == (0, 0.1, "rev-1", Action.BAKE)
    assert d.bake.model_dump() == {
        "bake_seconds": 300,
        "elapsed_seconds": 0,
        "wait_seconds": 60,
        "extended_seconds": 0,
    }
    assert [(s.index, s.weight, s.verdict) for s in d.steps] == [(0, 0.1, None)]


def test_shift_with_a_bake_shorter_than_the_interval_waits_the_bake() -> None:
    d = deployment.shifted(_published("Canary10Percent1Minute", interval=300), "rev-1")
    assert d.bake.wait_seconds == 60


@pytest.mark.parametrize(
    ("bakes", "expected_actions"),
    [([0, 0], [Action.SHIFT, Action.PROMOTE]), ([0, 60], [Action.SHIFT, Action.BAKE])],
)
def test_steps_without_bake_move_straight_on(bakes: list[int], expected_actions: list) -> None:
    plan = strategies.resolve(
        strategies.StepsStrategy.model_validate(
            {
                "type": "steps",
                "steps": [{"weight": 0.1 * (i + 1), "bakeSeconds": b} for i, b in enumerate(bakes)],
            }
        )
    )
    d = _published(plan)
    actions = []
    for _ in bakes:
        d = deployment.shifted(d, "rev")
        actions.append(d.action)
    assert actions == expected_actions
    assert d.steps[0].reason == "no bake time: not analysed"


@pytest.mark.parametrize(
    ("post_bake", "action", "records"), [(0, Action.FINISH, 0), (600, Action.BAKE, 1)]
)
def test_promoted(post_bake: int, action: Action, records: int) -> None:
    plan = Plan(strategy="blueGreen", steps=[], post_promotion_bake_seconds=post_bake)
    d = deployment.promoted(_published(plan), "rev-9")
    assert (d.outcome, d.weight, d.action, d.revision_id) == (
        Outcome.PROMOTED,
        1.0,
        action,
        "rev-9",
    )
    assert [s.index for s in d.steps] == [-1] * records


@pytest.mark.parametrize(
    ("action", "error", "reason", "expected"),
    [
        (Action.ROLLBACK, None, "step 1 failed", "step 1 failed"),
        (Action.ROLLBACK, None, None, "rolled back (no reason given)"),
        (
            Action.SHIFT,
            ErrorInfo(Error="States.TaskFailed", Cause="boom"),
            None,
            "ShiftTraffic failed: States.TaskFailed: boom",
        ),
        (
            Action.BAKE,
            ErrorInfo(
                Error="AwsThrottled",
                Cause=json.dumps({"errorMessage": "slow down", "errorType": "AwsThrottled"}),
            ),
            None,
            "Analyze failed: AwsThrottled: slow down",
        ),
        (
            Action.PROMOTE,
            ErrorInfo(Error="States.Timeout"),
            "ignored",
            "Promote failed: States.Timeout: (no cause given)",
        ),
    ],
)
def test_rolled_back_reason(
    action: Action, error: ErrorInfo | None, reason: str | None, expected: str
) -> None:
    d = _published("Canary10Percent5Minutes").model_copy(
        update={"action": action, "error": error, "reason": reason}
    )
    done = deployment.rolled_back(d, "rev-x")
    assert (done.outcome, done.weight, done.action) == (Outcome.ROLLED_BACK, 0.0, Action.ROLLBACK)
    assert done.reason == expected


def test_rollback_event_fixture_carries_the_analysis_reason() -> None:
    d = Deployment.model_validate(load_event("rollback"))
    assert "brand-api-prod-errors" in deployment.rolled_back(d, "r").reason


# ----------------------------------------------------------------------------- alias ownership
SHIFTED = deployment.shifted(_published("Linear10PercentEvery1Minute"), "rev-1")  # 10% on v2
NEXT = ("1", {"2": 0.2})


def _alias(version: str, weights: dict[str, float], revision: str = "rev-now") -> AliasState:
    return AliasState(function_version=version, weights=weights, revision_id=revision)


STABLE = ("1", {})
SHIFTING = SHIFTED.model_copy(update={"action": Action.SHIFT})  # stopped while shifting to 20%
PROMOTING = SHIFTED.model_copy(update={"action": Action.PROMOTE})  # ... or while promoting


@pytest.mark.parametrize(
    ("d", "observed", "intended", "ours"),
    [
        (SHIFTED, _alias("1", {"2": 0.1}, "rev-1"), NEXT, True),  # the revision we wrote
        (SHIFTED, _alias("1", {"2": 0.1}, "rev-1"), STABLE, True),
        (SHIFTED, _alias("1", {"2": 0.2}), NEXT, True),  # what we are about to set (lost answer)
        (SHIFTED, _alias("1", {"2": 0.2000000001}), NEXT, True),  # float noise
        (SHIFTED, _alias("1", {"2": 0.1}), NEXT, False),  # our weights, someone else's revision
        (SHIFTED, _alias("1", {"2": 0.5}), NEXT, False),  # someone else's weight
        (SHIFTED, _alias("1", {"3": 0.1}), NEXT, False),  # another version
        (SHIFTED, _alias("3", {}), NEXT, False),  # pointed elsewhere
        (SHIFTED, _alias("2", {}), NEXT, False),  # promoted by hand
        (SHIFTED, _alias("1", {}), NEXT, False),  # rolled back by hand: do not shift over it
        (SHIFTED, _alias("2", {}), STABLE, False),  # a rollback never undoes a hand promotion
        (SHIFTED, _alias("1", {"2": 0.5}), STABLE, False),  # ... nor a planned weight set by hand
        (SHIFTING, _alias("1", {"2": 0.2}), STABLE, True),  # the shift whose answer was lost
        (SHIFTING, _alias("1", {"2": 0.5}), STABLE, False),
        (PROMOTING, _alias("2", {}), STABLE, True),  # the promotion whose answer was lost
        (SHIFTED, _alias("1", {"2": 0.1}, ""), STABLE, False),  # no revision: never ours by it
    ],
)
def test_claim_alias_by_revision(
    d: Deployment, observed: AliasState, intended: tuple[str, dict[str, float]], ours: bool
) -> None:
    if ours:
        assert ownership.claim_alias(d, observed, intended) == observed.revision_id
    else:
        with pytest.raises(AliasChangedOutOfBand, match="changed by someone else"):
            ownership.claim_alias(d, observed, intended)


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (_published("Canary10Percent5Minutes"), ("1", {})),
        (SHIFTED, ("1", {"2": 0.1})),
        (deployment.promoted(SHIFTED, "r"), ("2", {})),
    ],
)
def test_current_routing(d: Deployment, expected: tuple) -> None:
    assert ownership.current_routing(d) == expected
