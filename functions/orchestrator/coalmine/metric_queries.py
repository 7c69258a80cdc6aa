"""Pure: the one GetMetricData request a tick makes, and its answer turned into ``gates.Period``s.

Per version (``n`` = new, ``o`` = old) the request asks, per 60-s period, for Invocations,
Errors and Throttles (Sum), Duration ``p99`` and Duration ``PR(:t)`` for every latency threshold
(the 1-2-5 ladder plus ``latencyLimitMs``), all with the dimensions
``{FunctionName, Resource=function:alias, ExecutedVersion}`` -- the alias's traffic split by the
version that served it. Query Ids are ``<version>_<metric>`` (``n_inv``, ``o_pr3``): GetMetricData
wants them to start with a lower-case letter and hold only letters, digits and ``_``.

A period is kept when either version has Invocations in it; a metric missing from a period (no
datapoint) counts as 0 for the sums and as "no datapoint" for the latency statistics.

After a cutover (``watch_periods``: the watch after AllAtOnce, blue/green, an explicit list's
last 1.0 step) the old version serves nothing, so the same request spans a window before the
cutover as long as the time since it (``watch_start``), and each minute the new version serves
is paired with the old version's own minute mirrored around the cutover minute: the cutover
minute with itself (each version's part of it), the next one with the minute before it, and so
on. A ``Period`` is then (new version after, old version before), per minute, and the gates judge
it as they judge a canary's minutes (gates.py; the assumption this makes: sequential.py).

The same request also asks for the alias's asynchronous queue (``async_queries``, Ids ``a_*``,
dimensions ``{FunctionName, Resource=function:alias}``: Lambda has no per-version async metrics):
AsyncEventsReceived (Sum) always -- events arriving tell an async target -- and, for a known
async target, AsyncEventsDropped, DestinationDeliveryFailures, DeadLetterErrors (Sum) and
AsyncEventAge (Maximum); ``async_periods`` turns them into ``async_gates.AsyncPeriod``s.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from coalmine.async_gates import AsyncPeriod
from coalmine.business_metrics import BusinessMetric
from coalmine.gates import MetricSample, Period, VersionSample
from coalmine.gates_config import LATENCY_LADDER_MS, GatesConfig

PERIOD_SECONDS = 60
NAMESPACE = "AWS/Lambda"
#: GetMetricData takes at most 500 queries in one request (CloudWatch API reference).
MAX_QUERIES = 500
_SUMS = {"inv": "Invocations", "err": "Errors", "thr": "Throttles"}
_ASYNC = {  # Id suffix -> (metric, statistic, AsyncPeriod field)
    "rcv": ("AsyncEventsReceived", "Sum", "received"),
    "drp": ("AsyncEventsDropped", "Sum", "dropped"),
    "age": ("AsyncEventAge", "Maximum", "max_age_ms"),
    "ddf": ("DestinationDeliveryFailures", "Sum", "delivery_failures"),
    "dle": ("DeadLetterErrors", "Sum", "dead_letter_errors"),
}


def start_time(step_started: datetime) -> datetime:
    """The step's start floored to the minute (the metric periods' boundaries)."""
    return step_started.replace(second=0, microsecond=0)


def watch_start(cutover: datetime, now: datetime) -> datetime:
    """The read window's start during a watch: as many whole minutes before the cutover minute as
    there are after it through ``now``'s (the old version's before-window, mirrored)."""
    first = start_time(cutover)
    after = int((start_time(now) - first).total_seconds()) // PERIOD_SECONDS
    return first - timedelta(seconds=PERIOD_SECONDS * max(after, 0))


def queries(
    function_name: str, alias: str, versions: Mapping[str, str], cfg: GatesConfig
) -> list[dict[str, Any]]:
    """``versions`` maps a prefix (``n``, ``o``) to a version number."""
    out: list[dict[str, Any]] = []
    for prefix, version in versions.items():
        dims = [
            {"Name": "FunctionName", "Value": function_name},
            {"Name": "Resource", "Value": f"{function_name}:{alias}"},
            {"Name": "ExecutedVersion", "Value": version},
        ]
        for key, metric in _SUMS.items():
            out.append(_query(f"{prefix}_{key}", metric, dims, "Sum"))
        out.append(_query(f"{prefix}_p99", "Duration", dims, "p99"))
        for i, t in enumerate(cfg.latency_thresholds()):
            out.append(_query(f"{prefix}_pr{i}", "Duration", dims, f"PR(:{t:g})"))
        for i, business in enumerate(cfg.metrics):
            out.extend(business_queries(f"{prefix}_b{i}", business, version))
    return out


def business_queries(qid: str, metric: BusinessMetric, version: str) -> list[dict[str, Any]]:
    """One business metric of one version (``{version}`` filled): Sum (``_s``) for failures-of
    and rate, plus the denominator's Sum (``_d``) if it has one; SampleCount (``_c``) and
    ``PR(:t)`` (``_r<j>``) at each ladder threshold for latency."""
    dims = metric.dimensions_for(version)
    ns = metric.namespace
    if metric.kind == "latency":
        out = [_query(f"{qid}_c", metric.metric_name, dims, "SampleCount", ns)]
        for j, t in enumerate(LATENCY_LADDER_MS):
            out.append(_query(f"{qid}_r{j}", metric.metric_name, dims, f"PR(:{t:g})", ns))
        return out
    out = [_query(f"{qid}_s", metric.metric_name, dims, "Sum", ns)]
    if metric.denominator is not None:
        den = metric.denominator
        den_dims = metric.dimensions_for(version, den.dimensions)
        out.append(_query(f"{qid}_d", den.metric_name, den_dims, "Sum", ns))
    return out


def query_count(cfg: GatesConfig, *, async_target: bool = True) -> int:
    """How many queries the tick's one request holds at most (<= ``MAX_QUERIES``)."""
    versions = {"n": "1", "o": "2"}
    return len(queries("f", "a", versions, cfg)) + len(async_queries("f", "a", target=async_target))


def async_queries(function_name: str, alias: str, *, target: bool) -> list[dict[str, Any]]:
    """The alias's async queue: AsyncEventsReceived only, or every async metric for a known
    async ``target``."""
    dims = [
        {"Name": "FunctionName", "Value": function_name},
        {"Name": "Resource", "Value": f"{function_name}:{alias}"},
    ]
    keys = list(_ASYNC) if target else ["rcv"]
    return [_query(f"a_{key}", _ASYNC[key][0], dims, _ASYNC[key][1]) for key in keys]


def async_periods(results: Iterable[Mapping[str, Any]]) -> list[AsyncPeriod]:
    """The ``a_*`` results -> one AsyncPeriod per minute with any async datapoint, oldest first
    (a missing datapoint: 0 for the sums, None for the age)."""
    series: dict[str, dict[datetime, float]] = {}
    for result in results:
        if not str(result.get("Id", "")).startswith("a_"):
            continue
        points = series.setdefault(result["Id"][2:], {})
        for when, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=True):
            points[when] = float(value)
    times = sorted({t for points in series.values() for t in points})
    out = []
    for when in times:
        fields: dict[str, float | None] = {}
        for key, (_, _, field) in _ASYNC.items():
            value = series.get(key, {}).get(when)
            fields[field] = value if value is not None or field == "max_age_ms" else 0.0
        out.append(AsyncPeriod(at=when, **fields))  # type: ignore[arg-type]
    return out


def _query(qid: str, metric: str, dims: list[dict[str, str]], stat: str,
           namespace: str = NAMESPACE) -> dict[str, Any]:  # fmt: skip
    return {
        "Id": qid,
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": dims},
            "Period": PERIOD_SECONDS,
            "Stat": stat,
        },
        "ReturnData": True,
    }


def periods(results: Iterable[Mapping[str, Any]], cfg: GatesConfig) -> list[Period]:
    """GetMetricDataResults (any page order, any timestamp order) -> Periods, oldest first."""
    series = _series(results)
    thresholds = cfg.latency_thresholds()
    times = sorted({t for key in ("n_inv", "o_inv") for t in series.get(key, {})})
    out = [
        Period(
            new=_sample(series, "n", when, thresholds, cfg.metrics),
            old=_sample(series, "o", when, thresholds, cfg.metrics),
        )
        for when in times
    ]
    return [p for p in out if p.new.invocations > 0 or p.old.invocations > 0]


def watch_periods(
    results: Iterable[Mapping[str, Any]], cfg: GatesConfig, cutover: datetime
) -> list[Period]:
    """A watch's answer -> Periods of (the new version's minute ``cutover + j``, the old
    version's minute ``cutover - j``), j = 0, 1, ... through the new version's last datapoint:
    the old version's own behaviour before the cutover, minute for minute, as its baseline."""
    series = _series(results)
    first = _utc(start_time(cutover))
    step = timedelta(seconds=PERIOD_SECONDS)
    after = [t for t in series.get("n_inv", {}) if t >= first]
    count = int((max(after) - first) / step) + 1 if after else 0
    thresholds = cfg.latency_thresholds()
    out = [
        Period(
            new=_sample(series, "n", first + j * step, thresholds, cfg.metrics),
            old=_sample(series, "o", first - j * step, thresholds, cfg.metrics),
        )
        for j in range(count)
    ]
    return [p for p in out if p.new.invocations > 0 or p.old.invocations > 0]


def _series(results: Iterable[Mapping[str, Any]]) -> dict[str, dict[datetime, float]]:
    series: dict[str, dict[datetime, float]] = {}
    for result in results:
        points = series.setdefault(result["Id"], {})
        for when, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=True):
            points[_utc(when)] = float(value)
    return series


def _utc(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _sample(
    series: Mapping[str, Mapping[datetime, float]],
    prefix: str,
    when: datetime,
    thresholds: Sequence[float],
    metrics: Sequence[BusinessMetric] = (),
) -> VersionSample:
    def value(key: str) -> float | None:
        return series.get(f"{prefix}_{key}", {}).get(when)

    pr = {t: v for i, t in enumerate(thresholds) if (v := value(f"pr{i}")) is not None}
    business: dict[str, MetricSample] = {}
    for i, metric in enumerate(metrics):
        ranks = {t: v for j, t in enumerate(LATENCY_LADDER_MS)
                 if (v := value(f"b{i}_r{j}")) is not None}  # fmt: skip
        business[metric.name] = MetricSample(
            total=value(f"b{i}_s") or 0.0,
            denominator=(value(f"b{i}_d") or 0.0) if metric.denominator is not None else None,
            count=value(f"b{i}_c") or 0.0,
            pr=ranks,
        )
    return VersionSample(
        invocations=value("inv") or 0.0,
        errors=value("err") or 0.0,
        throttles=value("thr") or 0.0,
        pr=pr,
        p99_ms=value("p99"),
        metrics=business,
    )
