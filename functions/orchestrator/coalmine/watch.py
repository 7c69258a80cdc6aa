"""Pure: the watch after a cutover, judged before/after (analysis.py asks, this module answers).

After the alias is wholly on the new version (AllAtOnce for ``analysis.watchSeconds``, blue/green
for its ``bakeSeconds``, an explicit step list's last 1.0 step for its bake: the post-promotion
bake, ``Deployment.outcome`` PROMOTED with a bake running) the old version serves nothing, so
there is nothing to compare with side by side. The new version is compared instead with the old
version's own behaviour in a window before the cutover: the same metrics (per-version, the
alias's ``ExecutedVersion`` dimension), the same window length, counts per minute, paired minute
for minute mirrored around the cutover minute (metric_queries.watch_periods), and judged by the
same gates and the same anytime-valid tests (gates.py, sequential.py). The absolute limits and
the alarms judge as in any step; too little traffic extends the watch and then follows
``lowTrafficPolicy``, as any step.

**The assumption.** A before/after comparison takes the old version's error rate and latency in
the minutes before the cutover as what it would have done in the minutes after it. That holds
when the traffic mix is steady over the window; it does not when the mix changes with time (a
daily peak, a batch job starting, a client's retry storm, a downstream outage): the test can then
blame the new version for a change of traffic (a false rollback) or miss a regression hidden by
one. Side-by-side steps (a canary) compare both versions on the same minutes and do not make it;
the watch is the judgement a cutover leaves, and a short one (a few minutes) keeps the window
close to the cutover.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from coalmine import metric_queries
from coalmine.business_metrics import GATE_PREFIX
from coalmine.gates import Period
from coalmine.gates_config import GatesConfig
from coalmine.models import Deployment, GateResult, Outcome

#: The gates that compare the new version with the old one (side by side, or before/after);
#: every business metric's gate (``metric:<name>``) too.
COMPARISON_GATES = frozenset({"errors", "latency"})


def compares(gate: str) -> bool:
    """``gate`` compares the versions (so a watch compares it before/after)."""
    return gate in COMPARISON_GATES or gate.startswith(GATE_PREFIX)


def watching(current: Deployment) -> bool:
    """The alias is wholly on the new version and the deployment still judges it."""
    return current.outcome == Outcome.PROMOTED


def cutover(current: Deployment, now: datetime) -> datetime:
    """When the running step (the watch) began: ``now`` less its elapsed and waited seconds."""
    return now - timedelta(seconds=current.bake.elapsed_seconds + current.bake.wait_seconds)


def read_start(current: Deployment, now: datetime) -> datetime:
    """GetMetricData's StartTime: the step's first minute, or during a watch the start of the
    old version's before-window (as long as the watch so far)."""
    began = cutover(current, now)
    if watching(current):
        return metric_queries.watch_start(began, now)
    return metric_queries.start_time(began)


def periods(
    current: Deployment, results: Sequence[Mapping[str, Any]], cfg: GatesConfig, now: datetime
) -> list[Period]:
    """The answer as the gates judge it: both versions minute by minute in a weighted step,
    (new after, old before) pairs during a watch."""
    if watching(current):
        return metric_queries.watch_periods(results, cfg, cutover(current, now))
    return metric_queries.periods(results, cfg)


def labelled(results: Sequence[GateResult], current: Deployment) -> list[GateResult]:
    """During a watch, the comparison gates say what they compared with."""
    if not watching(current):
        return list(results)
    return [_before_after(g) if compares(g.gate) else g for g in results]


def _before_after(gate: GateResult) -> GateResult:
    reason = f"{gate.reason} (before/after: the old version's minutes before the cutover)"
    evidence = {**gate.evidence, "baseline": "before-cutover"}
    return gate.model_copy(update={"reason": reason, "evidence": evidence})
