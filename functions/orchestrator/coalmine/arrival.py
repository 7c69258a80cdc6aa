"""Pure: has the data a tick judges arrived? Which minutes of a step its metrics cover, and a
metrics read that failed.

Lambda publishes its metrics once a minute and CloudWatch makes a minute readable some time after
it ends (``metricsDelaySeconds``, default 120 s). A minute without a datapoint is ambiguous:
Lambda emits nothing for a minute without invocations, and nothing is readable yet for a minute
not published. So a minute of the step counts as *in* when

- either version has a datapoint in it, or in a later minute (CloudWatch publishes in order), or
- it ended at least ``metricsDelaySeconds`` ago (no datapoint by then: no traffic).

``coverage`` says which minutes of the bake, from the step's first minute through the minute
holding the bake's last second, are in (``Coverage.missing`` lists the others); a step passes
only once none is missing (analysis.py). A GetMetricData read that was throttled after the
adapter's retries (``unread_gate``) is an INCONCLUSIVE tick covering nothing, up to
``MAX_UNREAD_TICKS`` in a row (``may_skip_read``); then the error takes the usual failure path.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from coalmine.models import Deployment, GateResult, Verdict

MINUTE = timedelta(seconds=60)
#: Metrics-read ticks that may fail in a row (each one an INCONCLUSIVE tick) before the error
#: fails the Analyze state.
MAX_UNREAD_TICKS = 3
READ_GATE = "metrics-read"


@dataclass(frozen=True)
class Coverage:
    """The minutes (their starts) from ``first`` through ``last`` that must be in, those that
    are not (``missing``), and when the last of them is in by age alone (``ready_at``)."""

    first: datetime
    last: datetime
    missing: tuple[datetime, ...]
    ready_at: datetime
    delay_seconds: int

    @property
    def complete(self) -> bool:
        return not self.missing

    def seconds_to_ready(self, now: datetime) -> int:
        """Seconds from ``now`` until every minute through ``last`` is in (>= 1)."""
        return max(1, math.ceil((self.ready_at - now).total_seconds()))

    def evidence(self) -> dict[str, Any]:
        return {
            "fromMinute": _iso(self.first),
            "throughMinute": _iso(self.last),
            "missing": [_iso(m) for m in self.missing],
            "delaySeconds": self.delay_seconds,
        }


def floor_minute(t: datetime) -> datetime:
    t = t if t.tzinfo else t.replace(tzinfo=UTC)
    return t.astimezone(UTC).replace(second=0, microsecond=0)


def coverage(datapoint_minutes: Iterable[datetime], *, step_start: datetime, through: datetime,
             now: datetime, delay_seconds: int) -> Coverage:  # fmt: skip
    """The minutes from ``step_start``'s through the one holding ``through``'s last second
    (``through`` <= ``step_start``: the first minute only); ``datapoint_minutes``: the minutes
    any version query answered a datapoint for."""
    first = floor_minute(step_start)
    last = max(first, floor_minute(through - timedelta(microseconds=1)))
    seen = {floor_minute(m) for m in datapoint_minutes}
    latest = max(seen, default=None)
    delay = timedelta(seconds=delay_seconds)
    missing = []
    minute = first
    while minute <= last:
        arrived = minute in seen or (latest is not None and latest > minute)
        if not arrived and now - (minute + MINUTE) < delay:
            missing.append(minute)
        minute += MINUTE
    return Coverage(first, last, tuple(missing), last + MINUTE + delay, delay_seconds)


def datapoint_minutes(results: Iterable[Mapping[str, Any]]) -> list[datetime]:
    """The minutes with a datapoint in the per-version answers (Ids ``n_*``, ``o_*``)."""
    return [
        when
        for result in results
        if str(result.get("Id", ""))[:2] in {"n_", "o_"}
        for when in result.get("Timestamps", [])
    ]


# ----------------------------------------------------------------------------- reads that fail
def unread_gate(current: Deployment, reason: str) -> GateResult:
    """The INCONCLUSIVE result of a tick whose metrics could not be read."""
    consecutive = unread_in_a_row(current) + 1
    return GateResult(
        gate=READ_GATE,
        verdict=Verdict.INCONCLUSIVE,
        reason=f"metrics not read ({consecutive} of {MAX_UNREAD_TICKS} allowed in a row): {reason}",
        evidence={"throttled": True, "consecutive": consecutive},
    )


def unread_in_a_row(current: Deployment) -> int:
    """How many of the latest ticks (across steps) could not read the metrics."""
    count = 0
    for step in reversed(current.steps):
        for tick in reversed(step.ticks):
            if not any(g.gate == READ_GATE for g in tick.gates):
                return count
            count += 1
    return count


def may_skip_read(current: Deployment) -> bool:
    """Another unread tick is allowed (else the read's error fails the state)."""
    return unread_in_a_row(current) < MAX_UNREAD_TICKS


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
