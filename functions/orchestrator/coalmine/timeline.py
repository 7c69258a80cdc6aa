"""Pure: a deployment's ``timeline``, the one picture of what happened (docs/report.md).

Per simulated or real minute: the alias's weights and, per version, requests, errors, p50 and
p99 latency; per tick: each gate's verdict; the operator's actions; and the decision, its time
and reason. ``build`` assembles it from plain inputs, so two sources make the same document:

- a rehearsal, from what the world saw (the sandbox's traffic, the alias sampled each minute)
  plus the evidence store's ticks (sandbox/coalmine_sandbox/world/rehearsal.py);
- ``coalmine report EXECUTION_ARN``, from Step Functions' execution history (weights, decision),
  the evidence store (ticks) and CloudWatch (per-minute figures) (cli/coalmine_cli/sources.py).

Times are ISO 8601 UTC strings (``at``) and seconds since the execution started (``t``, negative
before it). The minutes covered run from ``CONTEXT_MINUTES`` before the start minute through the
minute the execution ended.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

SCHEMA = 1
#: Minutes shown before the execution's start minute (the old version alone: the baseline).
CONTEXT_MINUTES = 2
#: Task states after which the alias routes differently (the document's weight says how).
ROUTING_STATES = ("ShiftTraffic", "Promote", "Rollback")
#: How long after a minute ends its AWS/Lambda figures are taken to be in CloudWatch (Lambda
#: publishes within a minute or two; the fault matrix's delays go to 240 s: not covered).
SETTLE_SECONDS = 180

Routing = dict[str, float]  # version -> share of the alias's requests
Change = tuple[datetime, str, Routing]  # when, the state, the routing after it


def utc(t: datetime) -> datetime:
    return t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)


def iso(t: datetime) -> str:
    return utc(t).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    return utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


def minute_floor(t: datetime) -> datetime:
    return utc(t).replace(second=0, microsecond=0)


def window(started: datetime, ended: datetime) -> list[datetime]:
    """The minutes a timeline covers (each minute's start)."""
    first = minute_floor(started) - timedelta(minutes=CONTEXT_MINUTES)
    last = minute_floor(max(ended, started))
    count = int((last - first).total_seconds()) // 60 + 1
    return [first + timedelta(minutes=i) for i in range(count)]


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (CloudWatch's pNN over raw samples); None for no samples."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def figures(requests: int, errors: int, p50: float | None, p99: float | None) -> dict[str, Any]:
    """One version's figures for one minute."""
    return {
        "requests": int(requests),
        "errors": int(errors),
        "errorRate": round(errors / requests, 6) if requests else None,
        "p50Ms": None if p50 is None else round(p50, 3),
        "p99Ms": None if p99 is None else round(p99, 3),
    }


def routing_after(state: str, document: Mapping[str, Any]) -> dict[str, float] | None:
    """The alias's routing once ``state`` (one of ``ROUTING_STATES``) has run with ``document``
    as its output: ``{version: share}`` summing to 1; None when it says nothing."""
    old, new = document.get("fromVersion"), document.get("toVersion")
    if not old:
        return None
    if state == "Rollback":
        return {str(old): 1.0}
    if state == "Promote" and new:
        return {str(new): 1.0}
    if state == "ShiftTraffic" and new:
        weight = float(document.get("weight") or 0.0)
        if weight >= 1.0:
            return {str(new): 1.0}
        return {str(old): round(1.0 - weight, 6), str(new): weight} if weight else {str(old): 1.0}
    return None


def routing_changes(events: Iterable[Mapping[str, Any]]) -> list[Change]:
    """``(when, state, routing)`` for every routing state that ended, from an execution history
    (GetExecutionHistory's events, timestamps as datetimes)."""
    found: list[Change] = []
    for event in events:
        if event.get("type") != "TaskStateExited":
            continue
        details = event.get("stateExitedEventDetails") or {}
        if details.get("name") not in ROUTING_STATES:
            continue
        try:
            document = json.loads(details.get("output") or "{}")
        except ValueError:
            continue
        routing = routing_after(details["name"], document if isinstance(document, dict) else {})
        if routing is not None:
            found.append((utc(event["timestamp"]), details["name"], routing))
    return found


def weights_at(changes: Sequence[Change], base: Routing, t: datetime) -> Routing:
    """The routing in effect at ``t``: the last change at or before it, else ``base``."""
    current = base
    for at, _, routing in changes:
        if at <= t:
            current = routing
    return dict(current)


def decision_at(
    events: Sequence[Mapping[str, Any]], document: Mapping[str, Any]
) -> datetime | None:
    """When the deployment was decided, for every strategy: a rollback when Rollback began; a
    promotion judged by a watch after the cutover (blue/green, AllAtOnce, a last 1.0 step) when
    its last Analyze ended; any other promotion when Promote began. None: nothing was decided."""
    entered: dict[str, datetime | None] = {"Promote": None, "Rollback": None}
    last_analysis = None
    for event in events:
        details = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails")
        name = (details or {}).get("name")
        if event["type"] == "TaskStateEntered" and name in entered and entered[name] is None:
            entered[name] = event["timestamp"]
        if event["type"] == "TaskStateExited" and name == "Analyze":
            last_analysis = event["timestamp"]
    watched = any(s.get("index") == -1 and s.get("ticks") for s in document.get("steps") or [])
    promoted = entered["Promote"]
    if promoted is not None and watched and last_analysis is not None:
        promoted = last_analysis
    return entered["Rollback"] or promoted


def tick_rows(steps: Iterable[Mapping[str, Any]], started: datetime) -> list[dict[str, Any]]:
    """Every tick of every step (as the result JSON's ``steps[].ticks[]`` or the evidence store
    hold them), in time order, each gate's verdict, reason and evidence kept."""
    rows = []
    for step in steps:
        for tick in step.get("ticks") or []:
            at = tick.get("at")
            when = parse_time(at) if isinstance(at, str) else at
            rows.append(
                {
                    "at": iso(when) if when else None,
                    "t": _seconds(when, started) if when else None,
                    "step": step.get("index"),
                    "weight": step.get("weight"),
                    "seq": tick.get("seq"),
                    "elapsedSeconds": tick.get("elapsedSeconds"),
                    "verdict": tick.get("verdict"),
                    "action": tick.get("action"),
                    "reason": tick.get("reason"),
                    "enforced": tick.get("enforced", True),
                    "gates": [
                        {
                            "gate": g.get("gate"),
                            "verdict": g.get("verdict"),
                            "reason": g.get("reason"),
                            "evidence": g.get("evidence") or {},
                        }
                        for g in tick.get("gates") or []
                    ],
                }
            )
    return sorted(rows, key=lambda r: (r["t"] is None, r["t"] or 0.0, r["step"] or 0))


def build(
    *,
    function: str,
    alias: str,
    from_version: str | None,
    to_version: str | None,
    execution_arn: str,
    started: datetime,
    ended: datetime,
    minute_weights: Mapping[datetime, Mapping[str, float]],
    minute_figures: Mapping[datetime, Mapping[str, Mapping[str, Any]]],
    steps: Iterable[Mapping[str, Any]],
    actions: Iterable[Mapping[str, Any]],
    outcome: str,
    reason: str | None,
    decided: datetime | None,
    metrics_read_at: datetime | None = None,
) -> dict[str, Any]:
    """The timeline document (docs/report.md). ``minute_weights`` and ``minute_figures`` are
    keyed by the minute's start; a minute missing from ``minute_figures`` had no request.
    ``metrics_read_at``: when CloudWatch was read (None: the figures are the world's own, a
    rehearsal's, complete)."""
    started, ended = utc(started), utc(ended)
    versions = [v for v in (from_version, to_version) if v]
    minutes = []
    for minute in window(started, ended):
        found = minute_figures.get(minute, {})
        minutes.append(
            {
                "at": iso(minute),
                "t": _seconds(minute, started),
                "weights": dict(minute_weights.get(minute, {})),
                "versions": {v: dict(found.get(v) or figures(0, 0, None, None)) for v in versions},
            }
        )
    return {
        "schema": SCHEMA,
        "function": function,
        "alias": alias,
        "fromVersion": from_version,
        "toVersion": to_version,
        "executionArn": execution_arn,
        "startedAt": iso(started),
        "endedAt": iso(ended),
        "minutes": minutes,
        "ticks": tick_rows(steps, started),
        "actions": [dict(a) for a in actions],
        "decision": {
            "outcome": outcome,
            "reason": reason,
            "at": iso(decided) if decided else None,
            "t": _seconds(decided, started) if decided else None,
        },
        **metrics_marker(window(started, ended), metrics_read_at),
    }


def metrics_through(minutes: Sequence[datetime], read_at: datetime) -> datetime | None:
    """The last of ``minutes`` whose figures were read ``SETTLE_SECONDS`` after it ended (those
    after it may not all have been published yet); None if none was."""
    settled = [m for m in minutes if m + timedelta(seconds=60 + SETTLE_SECONDS) <= utc(read_at)]
    return settled[-1] if settled else None


def metrics_marker(minutes: Sequence[datetime], read_at: datetime | None) -> dict[str, Any]:
    """``metricsComplete`` (every minute's figures settled when read), ``metricsThrough`` (the
    last settled minute's start), ``metricsReadAt``."""
    if read_at is None:
        return {"metricsComplete": True, "metricsThrough": iso(minutes[-1]), "metricsReadAt": None}
    through = metrics_through(minutes, read_at)
    return {
        "metricsComplete": through is not None and through == minutes[-1],
        "metricsThrough": iso(through) if through else None,
        "metricsReadAt": iso(read_at),
    }


def settle_wait(ended: datetime, now: datetime) -> float:
    """Seconds from ``now`` until the end minute's figures are settled (0: already)."""
    ready = minute_floor(ended) + timedelta(seconds=60 + SETTLE_SECONDS)
    return max(0.0, (ready - utc(now)).total_seconds())


def is_complete(tl: Mapping[str, Any]) -> bool:
    """A stored timeline whose every minute's figures had settled when it was made."""
    return tl.get("schema") == SCHEMA and tl.get("metricsComplete") is True


def action(at: datetime, started: datetime, name: str, detail: str) -> dict[str, Any]:
    """One operator action (a stop, an alias moved by hand, ...)."""
    return {"at": iso(at), "t": _seconds(at, started), "action": name, "detail": detail}


def _seconds(t: datetime, started: datetime) -> float:
    return round((utc(t) - utc(started)).total_seconds(), 1)
