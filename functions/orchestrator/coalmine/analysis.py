"""Pure: gate results -> a verdict.

Issue 2 has one gate, the CloudWatch alarms the user names; the statistical version-vs-version
analysis replaces/extends it later through the same seam: a gate is a function returning a
GateResult, ``combine`` folds GateResults into a tick's verdict, ``step_verdict`` folds ticks
into a step's verdict. Only FAIL stops a deployment; INCONCLUSIVE is recorded, not acted on (an
alarm in INSUFFICIENT_DATA cannot tell "no traffic" from "no errors").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from coalmine.models import GateResult, Tick, Verdict

ALARMS_GATE = "alarms"
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
