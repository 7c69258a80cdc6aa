"""analysis.ticked, the Deployment after one analysis tick: the next action and wait, extension,
low-traffic policy, dry run, promotion (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from coalmine import analysis, deployment, strategies
from coalmine.models import Action, AnalysisConfig, Deployment, GateResult, Outcome, Plan, Verdict
from events import load_event

LOW = GateResult(gate="errors", verdict=Verdict.INCONCLUSIVE, reason="served 12 of the 100")
OK = GateResult(gate="errors", verdict=Verdict.PASS, reason="no error regression")
BAD = GateResult(gate="errors", verdict=Verdict.FAIL, reason="error rate 5% above 1%")
ALARM_UNSURE = GateResult(gate="alarms", verdict=Verdict.INCONCLUSIVE, reason="no data")
PASS = [GateResult(gate="alarms", verdict=Verdict.PASS, reason="ok")]
UNSURE = [GateResult(gate="alarms", verdict=Verdict.INCONCLUSIVE, reason="no data: errors")]
FAIL = [GateResult(gate="alarms", verdict=Verdict.FAIL, reason="alarm(s) in ALARM: errors")]


def _published(plan: Plan | str, interval: int = 60) -> Deployment:
    plan = strategies.resolve(plan) if isinstance(plan, str) else plan
    cfg = AnalysisConfig(interval_seconds=interval)
    return deployment.published(
        deployment.prepared("d-1", "brand-api", "prod", "1", "rev-0", plan, cfg, "2", None), "2"
    )


def _at_bake_end(**analysis: object) -> Deployment:
    cfg = AnalysisConfig.model_validate({"maxBakeExtensionSeconds": 120, **analysis})
    plan = strategies.resolve("Canary10Percent5Minutes")
    d = deployment.prepared("d", "f", "prod", "1", "r", plan, cfg, "2", None)
    d = deployment.shifted(deployment.published(d, "2"), "r")
    d.bake.elapsed_seconds = 240  # the next tick ends the bake
    return d


def _run(d: Deployment, gates: list[GateResult], ticks: int) -> Deployment:
    for _ in range(ticks):
        d = analysis.ticked(d, gates, new_invocations=12)
    return d


@pytest.mark.parametrize(
    ("strategy", "interval", "gates", "actions", "waits"),
    [
        # 300 s bake, 60 s interval: 4 more bakes, then PROMOTE
        (
            "Canary10Percent5Minutes",
            60,
            [PASS] * 5,
            [Action.BAKE] * 4 + [Action.PROMOTE],
            [60, 60, 60, 60, 0],
        ),
        # 300 s bake, 120 s interval: the last wait is what is left (60 s)
        (
            "Canary10Percent5Minutes",
            120,
            [PASS] * 3,
            [Action.BAKE, Action.BAKE, Action.PROMOTE],
            [120, 60, 0],
        ),
        # a failure on the second tick rolls back at once
        ("Canary10Percent5Minutes", 60, [PASS, FAIL], [Action.BAKE, Action.ROLLBACK], [60, 60]),
        # linear: after the first step's bake, SHIFT to the next step
        ("Linear10PercentEvery1Minute", 60, [PASS], [Action.SHIFT], [0]),
        # inconclusive ticks are recorded, not acted on
        ("Canary10Percent5Minutes", 300, [UNSURE], [Action.PROMOTE], [0]),
    ],
)
def test_ticks_choose_the_next_action(
    strategy: str, interval: int, gates: list, actions: list[Action], waits: list[int]
) -> None:
    d = deployment.shifted(_published(strategy, interval), "rev-1")
    seen_actions, seen_waits = [], []
    for tick_gates in gates:
        d = analysis.ticked(d, tick_gates)
        seen_actions.append(d.action)
        seen_waits.append(d.bake.wait_seconds)
    assert seen_actions == actions
    assert seen_waits == waits
    assert len(d.steps[-1].ticks) == len(gates)


def test_elapsed_time_accumulates_per_tick() -> None:
    d = deployment.shifted(_published("Canary10Percent5Minutes", 120), "rev")
    d = analysis.ticked(analysis.ticked(d, PASS), PASS)
    assert [t.elapsed_seconds for t in d.steps[0].ticks] == [120, 240]
    assert d.bake.elapsed_seconds == 240


def test_a_failed_tick_names_the_step_and_the_alarm() -> None:
    d = analysis.ticked(deployment.shifted(_published("Canary10Percent5Minutes"), "r"), FAIL)
    assert d.action == Action.ROLLBACK
    assert d.steps[0].verdict == Verdict.FAIL
    assert d.reason == "step 1 (10%) failed analysis: alarms: alarm(s) in ALARM: errors"


def test_a_passed_step_gets_a_verdict() -> None:
    d = deployment.shifted(_published("Canary10Percent1Minute"), "r")
    d = analysis.ticked(d, PASS)
    assert (d.steps[0].verdict, d.action) == (Verdict.PASS, Action.PROMOTE)


@pytest.mark.parametrize(("gates", "action"), [(PASS, Action.FINISH), (FAIL, Action.ROLLBACK)])
def test_post_promotion_bake_finishes_or_rolls_back(gates: list, action: Action) -> None:
    plan = Plan(strategy="blueGreen", steps=[], post_promotion_bake_seconds=60)
    d = analysis.ticked(deployment.promoted(_published(plan), "r"), gates)
    assert d.action == action
    if action == Action.ROLLBACK:
        assert d.reason.startswith("post-promotion bake failed analysis")


def test_low_traffic_extends_the_bake_to_its_limit_then_rolls_back() -> None:
    d = _run(_at_bake_end(), [LOW], 1)
    assert (d.action, d.bake.extended_seconds, d.bake.wait_seconds) == (Action.BAKE, 60, 60)
    d = _run(d, [LOW], 2)
    assert d.action == Action.ROLLBACK
    assert d.reason == (
        "step 1 (10%) failed analysis: not enough traffic: "
        "12 invocations of the new version < minInvocations"
    )
    assert [t.action for t in d.steps[-1].ticks] == ["EXTEND", "EXTEND", "ROLLBACK"]


def test_low_traffic_with_the_promote_policy_passes_after_the_extension() -> None:
    d = _run(_at_bake_end(lowTrafficPolicy="promote"), [LOW], 3)
    assert d.action == Action.PROMOTE
    assert d.steps[-1].verdict == Verdict.INCONCLUSIVE


def test_an_alarm_without_data_never_extends_nor_rolls_back() -> None:
    d = _run(_at_bake_end(), [OK, ALARM_UNSURE], 1)
    assert d.action == Action.PROMOTE
    assert d.steps[-1].ticks[-1].verdict == Verdict.INCONCLUSIVE  # recorded, decides nothing


def test_a_dry_run_records_the_fail_and_moves_on() -> None:
    d = _run(_at_bake_end(dryRun=True), [BAD], 1)
    tick = d.steps[-1].ticks[-1]
    assert (tick.verdict, tick.action, tick.enforced) == (Verdict.FAIL, "ROLLBACK", False)
    assert d.action == Action.PROMOTE
    assert d.reason is not None
    assert d.reason.startswith("dry run: step 1 (10%) would have failed")


def test_after_promotion_the_watch_is_judged_as_any_step() -> None:
    # Given the watch after a cutover, at the end of its bake
    d = _at_bake_end()
    d.outcome, d.steps[-1].index = Outcome.PROMOTED, -1
    # Then too little traffic extends it (the comparison is judged, before/after), ...
    extended = _run(d, [LOW], 1)
    assert (extended.action, extended.bake.extended_seconds) == (Action.BAKE, 60)
    # ... passing gates finish it and say how many passed, and any FAIL rolls back
    done = _run(d, [OK], 1)
    assert (done.action, done.steps[-1].reason) == (Action.FINISH, "1 gate(s) passed")
    limit = GateResult(gate="error-rate-limit", verdict=Verdict.FAIL, reason="5% > 1%")
    failed = _run(d, [OK, limit], 1)
    assert failed.action == Action.ROLLBACK
    assert failed.reason == "post-promotion bake failed analysis: error-rate-limit: 5% > 1%"


def _answer(**counts: float) -> list[dict[str, Any]]:
    at = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    return [{"Id": qid, "Timestamps": [at], "Values": [v]} for qid, v in counts.items()]


@pytest.mark.parametrize(
    ("states", "alarm", "verdict", "action"),
    [
        ({"brand-api-prod-errors": "OK"}, "OK", Verdict.PASS, Action.BAKE),
        ({}, "MISSING", Verdict.INCONCLUSIVE, Action.BAKE),  # deleted mid-deployment
        ({"brand-api-prod-errors": "ALARM"}, "ALARM", Verdict.FAIL, Action.ROLLBACK),
    ],
)
def test_a_tick_judges_the_metrics_then_the_alarms(
    states: dict[str, str], alarm: str, verdict: Verdict, action: Action
) -> None:
    # Given the Analyze event (one alarm configured), When CloudWatch answers
    current = Deployment.model_validate(load_event("analyze"))
    answer = _answer(n_inv=120, n_err=0, o_inv=1080, o_err=10)
    d = analysis.tick(current, answer, states, now=datetime(2030, 1, 1, 12, 3, tzinfo=UTC))
    # Then the metric gates come first, the alarms gate last, and the tick decides on all of them
    tick = d.steps[-1].ticks[-1]
    assert [g.gate for g in tick.gates] == ["errors", "latency", "alarms"]
    assert tick.gates[-1].evidence["states"] == {"brand-api-prod-errors": alarm}
    assert (tick.verdict, d.action) == (verdict, action)
