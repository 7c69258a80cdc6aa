"""Pure: the user's CloudWatch alarms as one gate of a tick (analysis.py).

An alarm already in ALARM when the deployment's analysis began (its state last changed before
that) reports an incident the new version may be the fix for: it is recorded as ``preexisting``
and does not gate. Once it changes state (back to OK, then into ALARM again), its last change is
after the start and it gates like any other. The comparison gates judge meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from coalmine.models import Deployment, GateResult, Verdict

ALARMS_GATE = "alarms"


def alarms_gate(
    states: Mapping[str, str], preexisting: frozenset[str] = frozenset()
) -> GateResult | None:
    """ALARM -> FAIL naming them; INSUFFICIENT_DATA (or MISSING) -> INCONCLUSIVE; all OK -> PASS.

    ``states`` maps each configured alarm to its StateValue (``MISSING`` if it was deleted
    mid-deployment); no alarms -> no gate. An alarm in ``preexisting`` and still in ALARM is
    recorded (evidence ``preexisting``), not judged.
    """
    if not states:
        return None
    firing = sorted(n for n, s in states.items() if s == "ALARM" and n not in preexisting)
    already = sorted(n for n, s in states.items() if s == "ALARM" and n in preexisting)
    unknown = sorted(name for name, state in states.items() if state not in {"OK", "ALARM"})
    evidence: dict[str, object] = {"states": dict(sorted(states.items()))}
    if already:
        evidence["preexisting"] = already
    note = f" (in ALARM before the deployment, not judged: {', '.join(already)})" if already else ""
    if firing:
        reason = f"alarm(s) in ALARM: {', '.join(firing)}{note}"
        return GateResult(gate=ALARMS_GATE, verdict=Verdict.FAIL, reason=reason, evidence=evidence)
    if unknown:
        reason = f"alarm(s) without a verdict: {', '.join(unknown)}{note}"
        return GateResult(
            gate=ALARMS_GATE, verdict=Verdict.INCONCLUSIVE, reason=reason, evidence=evidence
        )
    judged = len(states) - len(already)
    reason = f"{judged} alarm(s) OK{note}"
    return GateResult(gate=ALARMS_GATE, verdict=Verdict.PASS, reason=reason, evidence=evidence)


def preexisting(states: Mapping[str, str], changed_at: Mapping[str, datetime],
                started: datetime) -> frozenset[str]:  # fmt: skip
    """The alarms in ALARM whose state last changed before ``started``."""
    return frozenset(
        name
        for name, state in states.items()
        if state == "ALARM" and name in changed_at and _utc(changed_at[name]) < started
    )


def analysis_started(current: Deployment, now: datetime) -> datetime:
    """When the deployment's first analysed step began: its first recorded tick's time minus its
    elapsed seconds (``startedAt`` of its summary once its ticks left the document: evidence.py),
    or (no tick recorded yet) the running step's start."""
    for step in current.steps:
        if step.started_at is not None:
            return _utc(step.started_at)
        for tick in step.ticks:
            if tick.at is not None:
                return _utc(tick.at) - timedelta(seconds=tick.elapsed_seconds)
    return now - timedelta(seconds=current.bake.elapsed_seconds + current.bake.wait_seconds)


def _utc(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)
