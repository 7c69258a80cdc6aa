"""The GetMetricData / GetMetricStatistics request and response shapes (boto3's) on top of the
MetricStore (metrics.py). The seams call these through the store's methods; a None answer means
"not ours, let moto answer" (an Expression query, or only namespaces the store does not hold).
The store holds AWS/Lambda and every namespace it recorded (the functions' embedded-metric-format
log lines, emf.py): a GetMetricData request with an AWS/Lambda query is answered wholly from it,
a metric it holds no datapoint of answering an empty series, as CloudWatch does."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol

from . import statistics as st

LAMBDA = "AWS/Lambda"
Dimensions = dict[str, str] | Iterable[dict[str, str]] | None


class MetricSource(Protocol):
    """What these answers read: the MetricStore's per-period datapoints and units."""

    def buckets(
        self,
        namespace: str,
        metric: str,
        dimensions: Dimensions,
        period: int,
        start: datetime,
        end: datetime,
        unit: str | None = None,
    ) -> Iterator[tuple[datetime, st.Summary]]: ...

    def unit_of(self, namespace: str, metric: str, dimensions: Dimensions) -> str | None: ...

    def knows(self, namespace: str) -> bool: ...


def get_metric_data(
    store: MetricSource,
    queries: list[dict[str, Any]],
    start: datetime,
    end: datetime,
    scan_by: str = "TimestampDescending",
) -> list[dict[str, Any]] | None:
    namespaces = set()
    for q in queries:
        ms = q.get("MetricStat")
        if not ms:
            return None
        namespaces.add(ms["Metric"].get("Namespace"))
    if LAMBDA not in namespaces and not all(store.knows(ns) for ns in namespaces):
        return None
    results = []
    for q in queries:
        if not q.get("ReturnData", True):
            continue
        ms = q["MetricStat"]
        metric = ms["Metric"]
        stat = st.parse_stat(ms["Stat"])
        points = [
            (t, value)
            for t, s in store.buckets(
                metric["Namespace"],
                metric["MetricName"],
                metric.get("Dimensions"),
                int(ms["Period"]),
                start,
                end,
                ms.get("Unit"),
            )
            if (value := st.compute(stat, s)) is not None
        ]
        if scan_by == "TimestampDescending":
            points.reverse()
        results.append(
            {
                "Id": q["Id"],
                "Label": q.get("Label") or metric["MetricName"],
                "Timestamps": [t for t, _ in points],
                "Values": [v for _, v in points],
                "StatusCode": "Complete",
            }
        )
    return results


def get_metric_statistics(
    store: MetricSource,
    namespace: str,
    metric_name: str,
    dimensions: dict[str, str] | Sequence[dict[str, str]] | None,
    start: datetime,
    end: datetime,
    period: int,
    statistics: Sequence[str] | None = None,
    extended_statistics: Sequence[str] | None = None,
    unit: str | None = None,
) -> dict[str, Any] | None:
    if namespace != LAMBDA:
        return None
    plain = [st.parse_stat(s) for s in statistics or ()]
    extended = [(s, st.parse_stat(s)) for s in extended_statistics or ()]
    datapoints = []
    for t, s in store.buckets(namespace, metric_name, dimensions, period, start, end, unit):
        dp: dict[str, Any] = {"Timestamp": t}
        dp.update({p.name: st.compute(p, s) for p in plain})
        if extended:
            dp["ExtendedStatistics"] = {name: st.compute(p, s) for name, p in extended}
        dp["Unit"] = unit or store.unit_of(namespace, metric_name, dimensions) or "None"
        datapoints.append(dp)
    return {"Label": metric_name, "Datapoints": datapoints}
