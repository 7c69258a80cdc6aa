"""CloudWatch metrics for AWS/Lambda, emulated in-process (moto cannot do percentiles and a
put_metric_data per invocation is far too slow).

What the store emits, per invocation (decisions, see also /work/shared/AWS-FACTS.md):
- Invocations = 1, Errors = 0 or 1 (Lambda's invocation metrics are binary indicators, so a
  minute with traffic but no errors has an Errors datapoint of Sum 0 and `Average(Errors)` is the
  error rate) and Duration (ms, the samples percentiles and PR(...) are computed from).
- A throttled attempt emits only Throttles = 1 (no Invocations, Errors or Duration). Throttles has
  no datapoint in a minute without a throttle. No traffic at all = no datapoint of any metric.
- Dimension sets, matched EXACTLY: `{}` (across all functions), `{FunctionName}`,
  `{FunctionName, Resource}` and, for invocations through an alias only,
  `{FunctionName, Resource, ExecutedVersion}` with `Resource = "function:alias"`. An invocation
  of a version number emits `{FunctionName}` and `{FunctionName, Resource="function:N"}`; an
  unqualified ($LATEST) one only `{FunctionName}` (AWS: "Resource -- a version or alias";
  "ExecutedVersion -- only alias invocations").
- Datapoints are stamped with the invocation's start minute. A minute becomes visible
  `publish_delay_seconds` (default 60) after it ends: a query at 12:03:30 sees 12:01 and before,
  not 12:02 or the running minute. This mimics Lambda's once-a-minute publication plus ingestion
  lag; CloudWatch alarms cope with it by looking back further (alarms.py). `set_publish_delay`
  changes it from a moment on (a rehearsal's "metrics arrive late").

Internally only the most specific cell is written (one dict lookup per invocation); the coarser
dimension sets are rolled up at query time. No lock: dict updates are atomic under the GIL and two
threads only race on a counter if they record the same function alias/version at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

from . import api, emf
from . import statistics as st

LAMBDA = "AWS/Lambda"
LAMBDA_UNITS = {"Invocations": "Count", "Errors": "Count", "Throttles": "Count"}
LAMBDA_UNITS["Duration"] = "Milliseconds"
DEFAULT_PUBLISH_DELAY_SECONDS = 60

Leaf = tuple[str, str | None, str | None]  # FunctionName, Resource, ExecutedVersion


class _Cell:
    """One minute of one leaf: counters plus the raw durations (sorted lazily, cached)."""

    __slots__ = ("durations", "errors", "invocations", "sorted_n", "throttles", "total")

    def __init__(self) -> None:
        self.invocations = 0
        self.errors = 0
        self.throttles = 0
        self.durations: list[float] = []
        self.sorted_n = 0
        self.total = 0.0

    def sorted_durations(self) -> list[float]:
        if self.sorted_n != len(self.durations):
            self.durations.sort()
            self.sorted_n = len(self.durations)
            self.total = sum(self.durations)
        return self.durations


def _ts(t: datetime) -> float:
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()


def _dims(dimensions: dict[str, str] | Iterable[dict[str, str]] | None) -> dict[str, str]:
    if dimensions is None:
        return {}
    if isinstance(dimensions, dict):
        return dict(dimensions)
    return {d["Name"]: d["Value"] for d in dimensions}


def _matcher(dims: dict[str, str]) -> Callable[[Leaf], bool] | None:
    """Which leaves roll up into the exact dimension set `dims` (None: a set Lambda never emits)."""
    fn, res, ver = dims.get("FunctionName"), dims.get("Resource"), dims.get("ExecutedVersion")
    keys = set(dims)
    if not keys:
        return lambda leaf: True
    if keys == {"FunctionName"}:
        return lambda leaf: leaf[0] == fn
    if keys == {"FunctionName", "Resource"}:
        return lambda leaf: leaf[0] == fn and leaf[1] == res
    if keys == {"FunctionName", "Resource", "ExecutedVersion"}:
        return lambda leaf: leaf == (fn, res, ver)
    return None


class MetricStore:
    def __init__(
        self,
        now: Callable[[], datetime],
        publish_delay_seconds: float = DEFAULT_PUBLISH_DELAY_SECONDS,
    ) -> None:
        self._now = now
        self.publish_delay_seconds = publish_delay_seconds
        self._published: tuple[float, float] = (-math.inf, -math.inf)  # (as of, visible until)
        self._minutes: dict[int, dict[Leaf, _Cell]] = {}
        self._last: tuple[int, dict[Leaf, _Cell]] = (-1, {})
        # generic series: (namespace, metric, frozenset(dims)) -> minute -> values; plus unit
        self._series: dict[tuple[str, str, frozenset[tuple[str, str]]], dict[int, list[float]]] = {}
        self._units: dict[tuple[str, str, frozenset[tuple[str, str]]], str] = {}

    # ------------------------------------------------------------------ writing
    def record_invocation(
        self,
        *,
        function_name: str,
        alias: str | None,
        executed_version: str,
        start: datetime,
        duration_ms: float,
        error: bool,
        throttled: bool = False,
    ) -> None:
        minute = int(_ts(start)) // 60
        last_minute, cells = self._last  # one attribute: swapped atomically across threads
        if minute != last_minute:
            cells = self._minutes.setdefault(minute, {})
            self._last = (minute, cells)
        if alias is not None:
            leaf: Leaf = (function_name, f"{function_name}:{alias}", executed_version)
        elif executed_version != "$LATEST":
            leaf = (function_name, f"{function_name}:{executed_version}", None)
        else:
            leaf = (function_name, None, None)
        cell = cells.get(leaf) or cells.setdefault(leaf, _Cell())
        if throttled:
            cell.throttles += 1
            return
        cell.invocations += 1
        if error:
            cell.errors += 1
        cell.durations.append(duration_ms)

    def record(
        self,
        *,
        namespace: str = LAMBDA,
        metric: str,
        dimensions: dict[str, str],
        timestamp: datetime,
        value: float,
        unit: str = "None",
    ) -> None:
        """One sample of any metric under exactly `dimensions` (no roll-up: emit every set)."""
        key = (namespace, metric, frozenset(_dims(dimensions).items()))
        minute = int(_ts(timestamp)) // 60
        self._series.setdefault(key, {}).setdefault(minute, []).append(float(value))
        self._units[key] = unit

    def ingest_logs(self, text: str) -> int:
        """A function's log output as CloudWatch Logs receives it: every embedded-metric-format
        line becomes metrics (emf.py), each under exactly its dimension set. The number of
        samples recorded."""
        count = 0
        for sample in emf.samples(text):
            for value in sample.values:
                self.record(namespace=sample.namespace, metric=sample.metric,
                            dimensions=sample.dimensions, timestamp=sample.timestamp,
                            value=value, unit=sample.unit)  # fmt: skip
                count += 1
        return count

    def knows(self, namespace: str) -> bool:
        """The store holds (or emulates) this namespace's metrics."""
        return namespace == LAMBDA or any(key[0] == namespace for key in self._series)

    def record_lambda(
        self,
        *,
        metric: str,
        function_name: str,
        alias: str | None,
        executed_version: str | None,
        timestamp: datetime,
        value: float,
        unit: str = "Count",
    ) -> None:
        """A Lambda metric (e.g. AsyncEventAge) under every dimension set Lambda would use."""
        sets: list[dict[str, str]] = [{}, {"FunctionName": function_name}]
        if alias is not None:
            res = {"FunctionName": function_name, "Resource": f"{function_name}:{alias}"}
            sets.append(res)
            if executed_version is not None:
                sets.append({**res, "ExecutedVersion": executed_version})
        for dims in sets:
            self.record(metric=metric, dimensions=dims, timestamp=timestamp, value=value, unit=unit)

    def set_publish_delay(self, seconds: float) -> None:
        """CloudWatch's publishing delay from now on (a rising delay hides no minute already
        published)."""
        now = self._now()
        self._published = (_ts(now), self.visible_until(now))
        self.publish_delay_seconds = seconds

    # ------------------------------------------------------------------ reading
    def visible_until(self, as_of: datetime | None = None) -> float:
        """Epoch seconds: the minutes starting before this are published."""
        now = _ts(as_of if as_of is not None else self._now())
        visible = (math.floor((now - 60 - self.publish_delay_seconds) / 60) + 1) * 60.0
        changed_at, published = self._published
        return max(visible, published) if now >= changed_at else visible

    def summary(
        self,
        namespace: str,
        metric: str,
        dimensions: dict[str, str] | Iterable[dict[str, str]] | None,
        t0: float,
        t1: float,
        unit: str | None = None,
        as_of: datetime | None = None,
    ) -> st.Summary | None:
        """All published samples of one metric in the minutes starting in [t0, t1) epoch s."""
        dims = _dims(dimensions)
        limit = min(t1, self.visible_until(as_of))
        first, last = int(-(-t0 // 60)), int(-(-limit // 60))  # minutes m with t0 <= 60m < limit
        if namespace == LAMBDA and metric in LAMBDA_UNITS:
            if unit is not None and unit != LAMBDA_UNITS[metric]:
                return None
            match = _matcher(dims)
            if match is None:
                return None
            cells = [
                c
                for m in range(first, last)
                for leaf, c in self._minutes.get(m, {}).items()
                if match(leaf)
            ]
            return _lambda_summary(metric, cells)
        key = (namespace, metric, frozenset(dims.items()))
        series = self._series.get(key)
        if not series or (unit is not None and unit != self._units.get(key)):
            return None
        values = sorted(v for m in range(first, last) for v in series.get(m, ()))
        return st.values_summary(values) if values else None

    def unit_of(
        self,
        namespace: str,
        metric: str,
        dimensions: dict[str, str] | Iterable[dict[str, str]] | None,
    ) -> str | None:
        if namespace == LAMBDA and metric in LAMBDA_UNITS:
            return LAMBDA_UNITS[metric]
        return self._units.get((namespace, metric, frozenset(_dims(dimensions).items())))

    # the boto3-shaped APIs (api.py); None = "not ours, let moto answer"
    get_metric_data = api.get_metric_data
    get_metric_statistics = api.get_metric_statistics

    def buckets(
        self,
        namespace: str,
        metric: str,
        dimensions: dict[str, str] | Iterable[dict[str, str]] | None,
        period: int,
        start: datetime,
        end: datetime,
        unit: str | None = None,
    ) -> Iterator[tuple[datetime, st.Summary]]:
        """(bucket start, samples) ascending for buckets aligned to the period (epoch multiples)
        that hold data; start is rounded down to the period, end is exclusive."""
        if period <= 0 or period % 60:
            raise ValueError(f"Period must be a positive multiple of 60 for {namespace}: {period}")
        dims = _dims(dimensions)
        t_end, t = _ts(end), _ts(start) // period * period
        while t < t_end:
            s = self.summary(namespace, metric, dims, t, min(t + period, t_end), unit)
            if s is not None:
                yield datetime.fromtimestamp(t, UTC), s
            t += period


def _lambda_summary(metric: str, cells: list[_Cell]) -> st.Summary | None:
    if metric == "Throttles":
        n = sum(c.throttles for c in cells)
        return st.binary_summary(n, n) if n else None
    n = sum(c.invocations for c in cells)
    if n == 0:
        return None
    if metric == "Invocations":
        return st.binary_summary(n, n)
    if metric == "Errors":
        return st.binary_summary(n, sum(c.errors for c in cells))
    runs = [c.sorted_durations() for c in cells if c.invocations]

    def merged() -> list[float]:
        if len(runs) == 1:
            return runs[0]
        out = [v for run in runs for v in run]
        out.sort()  # timsort merges the sorted runs in near-linear time
        return out

    return st.Summary(
        count=n,
        total=sum(c.total for c in cells if c.invocations),
        minimum=min(run[0] for run in runs),
        maximum=max(run[-1] for run in runs),
        sorted_values=merged,
    )
