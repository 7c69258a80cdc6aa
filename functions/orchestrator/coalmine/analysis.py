"""Pure: gate results -> what a tick decides.

A gate is a function returning a GateResult: the CloudWatch alarms the user names
(``alarms_gate``) and the metric gates of gates.py. ``decide`` turns one tick's results into a
``gates.TickDecision``:

- the alarms gate is judged only when it FAILs: INSUFFICIENT_DATA cannot tell "no traffic" from
  "no errors", so it is recorded but never extends a bake or rolls back for low traffic;
- after promotion (post-promotion bake, blue/green) the old version serves nothing, so the
  comparison gates (``errors``, ``latency``) are recorded INCONCLUSIVE and not judged, and the
  bake is never extended: only a FAIL (absolute limits, throttles, alarms) rolls back;
- a dry run records the decision but never enforces it: a ROLLBACK bakes on (or ends the step),
  an EXTEND ends the step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from coalmine import gates as metric_gates
from coalmine.gates import TickAction, TickDecision
from coalmine.models import AnalysisConfig, GateResult, Tick, Verdict

ALARMS_GATE = "alarms"
COMPARISON_GATES = frozenset({"errors", "latency"})
_NOT_COMPARED = "not compared"
_SEVERITY = {Verdict.PASS: 0, Verdict.INCONCLUSIVE: 1, Verdict.FAIL: 2}


def alarms_gate(states: Mapping[str, str]) -> GateResult | None:
    """ALARM -> FAIL naming them; INSUFFICIENT_DATA (or MISSING) -> INCONCLUSIVE; all OK -> PASS.

    ``states`` maps each configured alarm to its StateValue (``MISSING`` if it was deleted
    mid-deployment); no alarms -> no gate.
    """
    if not states:
        return None
    firing = sorted(name for name, state in states.items() if state == "ALARM")
    unknown = sorted(name for name, state in states.items() if state not in {"OK", "ALARM"})
    evidence = {"states": dict(sorted(states.items()))}
    if firing:
        reason = f"alarm(s) in ALARM: {', '.join(firing)}"
        return GateResult(gate=ALARMS_GATE, verdict=Verdict.FAIL, reason=reason, evidence=evidence)
    if unknown:
        reason = f"alarm(s) without a verdict: {', '.join(unknown)}"
        return GateResult(
            gate=ALARMS_GATE, verdict=Verdict.INCONCLUSIVE, reason=reason, evidence=evidence
        )
    reason = f"{len(states)} alarm(s) OK"
    return GateResult(gate=ALARMS_GATE, verdict=Verdict.PASS, reason=reason, evidence=evidence)


def combine(gates: Sequence[GateResult]) -> Verdict:
    """The worst gate verdict (FAIL > INCONCLUSIVE > PASS); no gates -> PASS."""
    return max((g.verdict for g in gates), key=_SEVERITY.__getitem__, default=Verdict.PASS)


def failure_reason(gates: Sequence[GateResult]) -> str:
    return "; ".join(f"{g.gate}: {g.reason}" for g in gates if g.verdict == Verdict.FAIL)


def step_verdict(ticks: Sequence[Tick]) -> tuple[Verdict, str]:
    """A step's verdict once its bake is over: the worst of its ticks, with a reason."""
    verdict = max((t.verdict for t in ticks), key=_SEVERITY.__getitem__, default=Verdict.PASS)
    if not ticks:
        return verdict, "no analysis ran"
    if verdict == Verdict.PASS:
        return verdict, f"{len(ticks)} analysis tick(s) passed"
    reasons = sorted({g.reason for t in ticks for g in t.gates if g.verdict == verdict})
    return verdict, "; ".join(reasons)


def decide(results: Sequence[GateResult], cfg: AnalysisConfig, *, promoted: bool,
           bake_over: bool, extended_seconds: int, new_invocations: float,
           ) -> tuple[list[GateResult], TickDecision]:  # fmt: skip
    """(the gate results to record, the decision) for one tick; enforcement is ``enforce``'s."""
    recorded = [_not_compared(g) if promoted and g.gate in COMPARISON_GATES else g for g in results]
    judged = [g for g in recorded if _judged(g, promoted)]
    decision = metric_gates.combine(
        judged,
        bake_over=bake_over,
        extended_seconds=extended_seconds,
        interval_seconds=cfg.interval_seconds,
        cfg=cfg,
    )
    if promoted and decision.action == TickAction.EXTEND:
        decision = TickDecision(decision.verdict, TickAction.PASS, "post-promotion bake over")
    if decision.action == TickAction.ROLLBACK and decision.verdict != Verdict.FAIL:
        why = f"{new_invocations:g} invocations of the new version < minInvocations"
        decision = TickDecision(decision.verdict, decision.action, f"not enough traffic: {why}")
    if decision.action == TickAction.PASS and decision.verdict != Verdict.PASS:
        why = f"{new_invocations:g} invocations of the new version < minInvocations"
        decision = TickDecision(decision.verdict, decision.action, _passed_anyway(promoted, why))
    return recorded, decision


def tick_verdict(recorded: Sequence[GateResult], decision: TickDecision) -> Verdict:
    """What a tick reports: the worst recorded gate (an alarm's INSUFFICIENT_DATA shows as
    INCONCLUSIVE even though it decides nothing), never milder than the decision's verdict;
    comparisons skipped after promotion do not count."""
    shown = [g for g in recorded if not g.reason.startswith(_NOT_COMPARED)]
    return combine([*shown, GateResult(gate="decision", verdict=decision.verdict, reason="")])


def enforce(decision: TickDecision, cfg: AnalysisConfig, *, bake_over: bool) -> TickDecision:
    """What the deployment does: the decision itself, or in a dry run bake on / end the step."""
    if not cfg.dry_run or decision.action in {TickAction.CONTINUE, TickAction.PASS}:
        return decision
    action = TickAction.PASS if bake_over else TickAction.CONTINUE
    would = "roll back" if decision.action == TickAction.ROLLBACK else "extend the bake"
    return TickDecision(decision.verdict, action, f"dry run, not enforced: would {would}")


def _passed_anyway(promoted: bool, why: str) -> str:
    if promoted:
        return "post-promotion bake over: no gate failed"
    return f"not enough traffic ({why}), passed by lowTrafficPolicy promote"


def _judged(gate: GateResult, promoted: bool) -> bool:
    if gate.gate == ALARMS_GATE or promoted:
        return gate.verdict == Verdict.FAIL
    return True


def _not_compared(gate: GateResult) -> GateResult:
    reason = f"{_NOT_COMPARED}: the old version serves no traffic after promotion"
    return gate.model_copy(update={"verdict": Verdict.INCONCLUSIVE, "reason": reason})
