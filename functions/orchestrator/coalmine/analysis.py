"""Pure: what one tick of the ``Analyze`` state decides (handlers/analyze.py does its I/O).

The handler checks the alias, sends ``metric_request`` to GetMetricData, reads the user's alarms
and hands both answers to ``tick``, which returns the next Deployment:

1. ``judge_metrics``: the answer -> the metric gates' results (gates.py) and, for an async
   target, the async gates' (async_gates.py), the false-rollback rate split between them. An
   alias receiving async events that PublishVersion did not know as one (no event invoke config:
   Lambda's defaults apply) becomes an async target at this tick, judged from the next one;
2. ``alarms_gate`` (alarm_gate.py): the alarms' states -> one more gate result (an alarm in
   ALARM since before the deployment is recorded, not judged);
3. ``ticked``: the results -> a ``TickDecision`` (``combine``: the worst verdict, and bake on,
   extend the bake, end the step or roll back), recorded as a ``Tick`` (with when it ran and the
   minutes its metrics cover), and the deployment moved on. Four rules adjust ``combine``:

- past the bake, a step whose minutes are not all in (arrival.py) waits for them: only a FAIL
  decides before, so the last tick comes once the bake's last minute is in (a datapoint after
  it, or ``metricsDelaySeconds`` past its end); a throttled metrics read (``unread_tick``) is
  such a tick, covering nothing;
- the alarms gate is judged only when it FAILs: INSUFFICIENT_DATA cannot tell "no traffic" from
  "no errors", so it is recorded but never extends a bake or rolls back for low traffic;
- after a cutover (the watch: AllAtOnce, blue/green, an explicit list's last 1.0 step) the old
  version serves nothing, so the comparison gates compare the new version with the old one's own
  minutes before the cutover (watch.py: the read window, the pairing, the assumption) and every
  gate judges as in any step;
- a dry run records the decision but never enforces it: a ROLLBACK bakes on (or ends the step),
  an EXTEND ends the step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from coalmine import alarm_gate, arrival, async_gates, deployment, gates, metric_queries, watch
from coalmine.alarm_gate import ALARMS_GATE, alarms_gate
from coalmine.gates_config import GatesConfig
from coalmine.models import (
    Action,
    AnalysisConfig,
    Deployment,
    GateResult,
    Tick,
    TickAction,
    Verdict,
    worst,
)

COMPARISON_GATES = watch.COMPARISON_GATES


@dataclass(frozen=True)
class TickDecision:
    """A tick's verdict and action, why, and (EXTEND) by how many seconds the bake grows."""

    verdict: Verdict
    action: TickAction
    reason: str
    extend_seconds: int = 0
    wait_seconds: int | None = None  # CONTINUE past the bake: until the metrics are in


def tick(current: Deployment, metric_results: Sequence[Mapping[str, Any]],
         alarm_states: Mapping[str, str], *, now: datetime,
         alarm_changes: Mapping[str, datetime] | None = None) -> Deployment:  # fmt: skip
    """The Analyze state's decision: ``metric_results`` answer ``metric_request(current)``;
    ``alarm_states`` map the configured alarms CloudWatch still has to their StateValue and
    ``alarm_changes`` to when that state began; ``now`` is when the metrics were read."""
    current, results, new_invocations = judge_metrics(current, metric_results, now)
    covered = coverage(current, arrival.datapoint_minutes(metric_results), now)
    return ticked(current, results + _alarms(current, alarm_states, alarm_changes, now),
                  new_invocations, covered, now)  # fmt: skip


def unread_tick(current: Deployment, reason: str, alarm_states: Mapping[str, str], *,
                now: datetime, alarm_changes: Mapping[str, datetime] | None = None,
                ) -> Deployment:  # fmt: skip
    """A tick whose metrics read failed (``reason``): INCONCLUSIVE, covering no minute, the
    alarms still judged. The caller checks ``arrival.may_skip_read`` first."""
    covered = coverage(current, [], now)
    covered = replace(covered, missing=covered.missing or (covered.last,))
    results = [arrival.unread_gate(current, reason)]
    return ticked(current, results + _alarms(current, alarm_states, alarm_changes, now), 0,
                  covered, now)  # fmt: skip


def coverage(current: Deployment, minutes: Sequence[datetime], now: datetime) -> arrival.Coverage:
    """Which minutes of the running step's bake (through its planned end, extensions included)
    the datapoints cover at ``now``."""
    b = current.bake
    started = now - timedelta(seconds=b.elapsed_seconds + b.wait_seconds)
    bake_end = started + timedelta(seconds=b.bake_seconds + b.extended_seconds)
    return arrival.coverage(minutes, step_start=started, through=bake_end, now=now,
                            delay_seconds=current.analysis.metrics_delay_seconds)  # fmt: skip


def _alarms(current: Deployment, states: Mapping[str, str],
            changes: Mapping[str, datetime] | None, now: datetime) -> list[GateResult]:  # fmt: skip
    missing = {name: "MISSING" for name in current.analysis.alarms if name not in states}
    started = alarm_gate.analysis_started(current, now)
    already = alarm_gate.preexisting(states, changes or {}, started)
    alarms = alarms_gate({**states, **missing}, already)
    return [alarms] if alarms else []


# ----------------------------------------------------------------------------- what is asked
def metric_request(current: Deployment) -> list[dict[str, Any]]:
    """Both versions' counts (from ``watch.read_start``: since the step began, or during a watch
    the old version's before-window too) and the alias's async queue: all of it for a known
    async target, else only ``AsyncEventsReceived`` (metric_queries.py)."""
    versions = {"n": str(current.to_version), "o": current.from_version}
    queries = metric_queries.queries(current.function_name, current.alias, versions,
                                     current.analysis)  # fmt: skip
    known = current.async_target is not None
    return queries + metric_queries.async_queries(
        current.function_name, current.alias, target=known
    )


def judge_metrics(
    current: Deployment, results: Sequence[Mapping[str, Any]], now: datetime | None = None
) -> tuple[Deployment, list[GateResult], float]:
    """(the deployment, with ``asyncTarget`` if this answer reveals one; the gate results; the
    new version's invocations in the step so far). A target found at this tick is judged by the
    async gates from the next tick on (this tick's request did not ask for its queue). ``now``:
    when the metrics were read (a watch pairs its minutes around the cutover: watch.periods)."""
    if now is None:
        periods = metric_queries.periods(results, current.analysis)
    else:
        periods = watch.periods(current, results, current.analysis, now)
    queue = metric_queries.async_periods(results)
    known = current.async_target is not None
    if not known and any(p.received > 0 for p in queue):
        current = deployment.with_async_target(current, async_gates.target_from_config(None))
    version_cfg, dropped_alpha = async_gates.split_false_rollback_rate(current.analysis)
    judged = watch.labelled(gates.evaluate(periods, version_cfg), current)
    if known and current.async_target is not None:
        judged += async_gates.evaluate(queue, current.analysis, current.async_target,
                                       dropped_alpha)  # fmt: skip
    return current, judged, sum(p.new.invocations for p in periods)


# ----------------------------------------------------------------------------- what is decided
def combine(results: Sequence[GateResult], *, bake_over: bool, extended_seconds: int,
            interval_seconds: int, cfg: GatesConfig) -> TickDecision:  # fmt: skip
    """The judged gates' verdict (the worst one) and action.

    FAIL rolls back at once. Inside the bake anything else bakes on. When the bake is over, PASS
    ends the step; INCONCLUSIVE (too little traffic) extends the bake by ``interval_seconds`` up
    to ``max_bake_extension_seconds``, then follows ``low_traffic_policy`` (``ask``: the step ends
    and a human gate opens: approvals.py).
    """
    verdict = worst(g.verdict for g in results)
    if verdict == Verdict.FAIL:
        return TickDecision(verdict, TickAction.ROLLBACK, _reasons(results, verdict))
    if not bake_over:
        return TickDecision(verdict, TickAction.CONTINUE, "baking")
    if verdict == Verdict.PASS:
        return TickDecision(verdict, TickAction.PASS, f"{len(results)} gate(s) passed")
    why = _reasons(results, verdict)
    left = cfg.max_bake_extension_seconds - extended_seconds
    if left > 0:
        step = min(interval_seconds, left)
        return TickDecision(verdict, TickAction.EXTEND, f"extending the bake: {why}", step)
    if cfg.low_traffic_policy == "promote":
        return TickDecision(
            verdict, TickAction.PASS, f"not enough traffic, promoted by policy: {why}"
        )
    if cfg.low_traffic_policy == "ask":
        return TickDecision(verdict, TickAction.ASK, f"not enough traffic, a human decides: {why}")
    return TickDecision(verdict, TickAction.ROLLBACK, f"not enough traffic: {why}")


def ticked(current: Deployment, results: list[GateResult], new_invocations: float = 0,
           covered: arrival.Coverage | None = None, now: datetime | None = None,
           ) -> Deployment:  # fmt: skip
    """One analysis of the current step: record it, then bake on, extend, move on or roll back.

    ``results`` are every gate's (metric gates and alarms); ``new_invocations`` is what the new
    version served in this step (the low-traffic reason quotes it); ``covered``: the minutes the
    metrics cover (None: not known, taken as all in). Past the bake, a step whose minutes are not
    all in waits for them (INCONCLUSIVE, CONTINUE) whatever its gates say, unless one FAILs.
    """
    d = current.model_copy(deep=True)
    elapsed = d.bake.elapsed_seconds + d.bake.wait_seconds
    record = d.steps[-1]
    bake_over = elapsed >= d.bake.bake_seconds + d.bake.extended_seconds
    recorded = results
    decision = _decide(recorded, d.analysis, bake_over=bake_over,
                       extended_seconds=d.bake.extended_seconds,
                       new_invocations=new_invocations)  # fmt: skip
    if bake_over and covered is not None and now is not None:
        decision = _awaiting(decision, covered, now, d.analysis.interval_seconds)
    done = _enforce(decision, d.analysis, bake_over=bake_over)
    enforced = done == decision
    # What a tick reports: the worst recorded gate (an alarm's INSUFFICIENT_DATA shows as
    # INCONCLUSIVE though it decides nothing), never milder than the decision.
    verdict = worst([*(g.verdict for g in recorded), decision.verdict])
    record.ticks.append(Tick(elapsed_seconds=elapsed, verdict=verdict, gates=recorded,
                             action=decision.action, reason=decision.reason, enforced=enforced,
                             at=now, coverage=covered.evidence() if covered else None,
                             ))  # fmt: skip
    d.bake = d.bake.model_copy(update={"elapsed_seconds": elapsed})
    step = deployment.step_name(record)
    if not enforced and d.reason is None:
        d.reason = f"dry run: {step} would have failed: {decision.reason}"
    if done.action == TickAction.ROLLBACK:
        reason = f"{step} failed analysis: {done.reason}"
        record.verdict, record.reason = Verdict.FAIL, reason
        d.action, d.reason = Action.ROLLBACK, reason
        return d
    if done.action == TickAction.EXTEND:  # from the bake's end, or now if it waited for data
        end = max(d.bake.bake_seconds + d.bake.extended_seconds, elapsed) + done.extend_seconds
        d.bake.extended_seconds = end - d.bake.bake_seconds
    if done.action in {TickAction.CONTINUE, TickAction.EXTEND}:
        remaining = d.bake.bake_seconds + d.bake.extended_seconds - elapsed
        d.bake.wait_seconds = min(d.analysis.interval_seconds, remaining)
        if done.wait_seconds is not None:
            d.bake.wait_seconds = done.wait_seconds
        d.action = Action.BAKE
        return d
    record.verdict, record.reason = decision.verdict, done.reason
    if decision.verdict == Verdict.FAIL:  # a dry run: recorded, not enforced
        record.reason = f"dry run: {decision.reason}"
    d.bake.wait_seconds = 0
    d.action = deployment.after_step(d)
    return d


def _awaiting(decision: TickDecision, covered: arrival.Coverage, now: datetime,
              interval_seconds: int) -> TickDecision:  # fmt: skip
    """Past the bake with minutes not in: anything but a FAIL waits for them (at most one
    interval at a time), never passes, extends or rolls back for too little traffic."""
    if covered.complete or decision.verdict == Verdict.FAIL:
        return decision
    wait = min(interval_seconds, covered.seconds_to_ready(now))
    through = covered.last.strftime("%H:%M")
    reason = (f"bake over, waiting for the metrics through the {through} minute: "
              f"{len(covered.missing)} minute(s) not in yet")  # fmt: skip
    return TickDecision(Verdict.INCONCLUSIVE, TickAction.CONTINUE, reason, wait_seconds=wait)


def _decide(recorded: Sequence[GateResult], cfg: AnalysisConfig, *, bake_over: bool,
            extended_seconds: int, new_invocations: float) -> TickDecision:  # fmt: skip
    """``combine`` on the judged gates: the alarms gate counts only when it FAILs; a low-traffic
    decision quotes the new version's invocations."""
    judged = [g for g in recorded if g.verdict == Verdict.FAIL or g.gate != ALARMS_GATE]
    decision = combine(judged, bake_over=bake_over, extended_seconds=extended_seconds,
                       interval_seconds=cfg.interval_seconds, cfg=cfg)  # fmt: skip
    served = f"{new_invocations:g} invocations of the new version < minInvocations"
    if decision.action == TickAction.ROLLBACK and decision.verdict != Verdict.FAIL:
        return replace(decision, reason=f"not enough traffic: {served}")
    if decision.action == TickAction.PASS and decision.verdict != Verdict.PASS:
        why = f"not enough traffic ({served}), passed by lowTrafficPolicy promote"
        return replace(decision, reason=why)
    if decision.action == TickAction.ASK:
        why = f"not enough traffic ({served}), a human decides (lowTrafficPolicy ask)"
        return replace(decision, reason=why)
    return decision


def _enforce(decision: TickDecision, cfg: AnalysisConfig, *, bake_over: bool) -> TickDecision:
    """What the deployment does: the decision itself, or in a dry run bake on / end the step."""
    if not cfg.dry_run or decision.action in {TickAction.CONTINUE, TickAction.PASS}:
        return decision
    action = TickAction.PASS if bake_over else TickAction.CONTINUE
    would = {TickAction.ROLLBACK: "roll back", TickAction.ASK: "ask a human"}.get(
        decision.action, "extend the bake"
    )
    return TickDecision(decision.verdict, action, f"dry run, not enforced: would {would}")


def _reasons(results: Sequence[GateResult], verdict: Verdict) -> str:
    return "; ".join(f"{g.gate}: {g.reason}" for g in results if g.verdict == verdict)
