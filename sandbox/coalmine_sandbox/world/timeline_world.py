"""A rehearsal's ``timeline`` (coalmine/timeline.py) from what the world saw: every request it
sent (version, error, duration, binned by the minute it started, as CloudWatch bins it) and the
alias's routing sampled as each simulated minute ends; the ticks come from the evidence store
(the result's ``steps``), the decision from the execution history. ``coalmine report
EXECUTION_ARN`` makes the same document from AWS alone (cli/coalmine_cli/sources.py); a sandbox
test checks the two agree."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from coalmine import timeline

from ..sandbox import Sandbox
from .samples import Sample


class WorldLog:
    """A clock listener (routing per minute) and a request counter (per minute, per version)."""

    def __init__(self, sb: Sandbox, sample: Sample) -> None:
        self.sb, self.sample = sb, sample
        self.routing: dict[datetime, dict[str, float]] = {}
        self.requests: dict[datetime, dict[str, list[int]]] = defaultdict(dict)
        self.durations: dict[datetime, dict[str, list[float]]] = defaultdict(dict)
        self._lock = threading.Lock()

    def on_request(
        self, start: datetime, version: str, error: bool, throttled: bool, duration_ms: float | None
    ) -> None:
        if throttled:  # CloudWatch counts a throttle as no invocation
            return
        minute = timeline.minute_floor(start)
        with self._lock:
            row = self.requests[minute].setdefault(version, [0, 0])
            row[0] += 1
            row[1] += int(error)
            if duration_ms is not None:
                self.durations[minute].setdefault(version, []).append(duration_ms)

    def on_clock(self, t_from: datetime, t_to: datetime) -> None:
        """As a minute ends: the routing then, for that minute (and any the step jumped over)."""
        first, last = timeline.minute_floor(t_from), timeline.minute_floor(t_to)
        if first == last:
            return
        alias = self.sb.alias(self.sample.function_name, self.sample.alias)
        weights = alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {})
        routing = {str(v): float(w) for v, w in weights.items()}
        rest = round(1.0 - sum(routing.values()), 6)
        routing = {str(alias["FunctionVersion"]): rest, **routing} if rest > 0 else routing
        minute = first
        while minute < last:
            self.routing[minute] = routing
            minute += timedelta(minutes=1)

    def figures(self) -> dict[datetime, dict[str, dict[str, Any]]]:
        with self._lock:
            return {
                minute: {
                    version: timeline.figures(
                        requests,
                        errors,
                        timeline.percentile(self.durations[minute].get(version, []), 50),
                        timeline.percentile(self.durations[minute].get(version, []), 99),
                    )
                    for version, (requests, errors) in versions.items()
                }
                for minute, versions in self.requests.items()
            }


def world_timeline(
    log: WorldLog,
    result: dict[str, Any],
    description: dict[str, Any],
    events: list[dict[str, Any]],
    played: list[dict[str, Any]],
) -> dict[str, Any]:
    """The rehearsal's timeline: ``result`` is the result document (its steps hold every tick),
    ``events`` the execution history, ``played`` the scenario's events as performed."""
    started, ended = description["startDate"], description.get("stopDate") or log.sb.clock.now()
    actions = [
        timeline.action(
            started + timedelta(seconds=float(e["performedAtSeconds"])),
            started,
            str(e["action"]),
            str(e.get("result", "")),
        )
        for e in played
        if e.get("performedAtSeconds") is not None
    ]
    if description["status"] == "ABORTED":
        actions.append(timeline.action(ended, started, "stop", result.get("reason") or "stopped"))
    decided = timeline.decision_at(events, result) or (
        ended if description["status"] == "ABORTED" else None
    )
    return timeline.build(
        function=result["function"],
        alias=log.sample.alias,
        from_version=result.get("fromVersion"),
        to_version=result.get("toVersion"),
        execution_arn=description["executionArn"],
        started=started,
        ended=ended,
        minute_weights=log.routing,
        minute_figures=log.figures(),
        steps=result.get("steps") or [],
        actions=sorted(actions, key=lambda a: a["t"]),
        outcome=result["outcome"],
        reason=result.get("reason"),
        decided=decided,
    )
