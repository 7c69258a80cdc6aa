"""deployment.ticked with the metric gates: extension, low-traffic policy, dry run, promotion."""

from __future__ import annotations

from coalmine import deployment, strategies
from coalmine.models import Action, AnalysisConfig, Deployment, GateResult, Outcome, Verdict

LOW = GateResult(gate="errors", verdict=Verdict.INCONCLUSIVE, reason="served 12 of the 100")
OK = GateResult(gate="errors", verdict=Verdict.PASS, reason="no error regression")
BAD = GateResult(gate="errors", verdict=Verdict.FAIL, reason="error rate 5% above 1%")
ALARM_UNSURE = GateResult(gate="alarms", verdict=Verdict.INCONCLUSIVE, reason="no data")


def _at_bake_end(**analysis: object) -> Deployment:
    cfg = AnalysisConfig.model_validate({"maxBakeExtensionSeconds": 120, **analysis})
    plan = strategies.resolve("Canary10Percent5Minutes")
    d = deployment.prepared("d", "f", "prod", "1", "r", plan, cfg, "2", None)
    d = deployment.shifted(deployment.published(d, "2"), "r")
    d.bake.elapsed_seconds = 240  # the next tick ends the bake
    return d


def _run(d: Deployment, gates: list[GateResult], ticks: int) -> Deployment:
    for _ in range(ticks):
        d = deployment.ticked(d, gates, new_invocations=12)
    return d


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


def test_after_promotion_comparisons_do_not_block_and_a_fail_still_rolls_back() -> None:
    d = _at_bake_end()
    d.outcome, d.steps[-1].index = Outcome.PROMOTED, -1
    done = _run(d, [LOW], 1)
    assert done.action == Action.FINISH
    assert done.steps[-1].ticks[-1].gates[0].reason.startswith("not compared")
    limit = GateResult(gate="error-rate-limit", verdict=Verdict.FAIL, reason="5% > 1%")
    assert _run(d, [LOW, limit], 1).action == Action.ROLLBACK
