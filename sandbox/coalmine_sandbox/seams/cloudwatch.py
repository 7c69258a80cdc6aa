"""CloudWatch's GetMetricData and GetMetricStatistics for AWS/Lambda, answered from the emulated
metric store (aws/cloudwatch/): percentiles, PR(...) and per-version dimensions, which moto lacks.
Other namespaces and metric math are left to moto. A caller in another account than the
sandbox's (credentials from AssumeRole) reads that account's functions: the store keeps them as
``<account>/<name>`` (runtime.metric_name), so its FunctionName and Resource dimensions are
asked for so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..aws.awslambda.runtime import metric_name
from .hooks import active
from .internals import module

_NAMED = ("FunctionName", "Resource")  # the AWS/Lambda dimensions that carry the function's name


def _in_account(account: str, dimensions: Any) -> Any:
    """The dimensions of a query made in ``account``, as the metric store keeps them."""
    own = active().account_id
    if account == own or not isinstance(dimensions, list):
        return dimensions
    return [
        {**d, "Value": metric_name(account, own, str(d["Value"]))}
        if isinstance(d, dict) and d.get("Name") in _NAMED and "Value" in d
        else d
        for d in dimensions
    ]


def _queries_in_account(account: str, queries: Any) -> Any:
    if account == active().account_id or not isinstance(queries, list):
        return queries
    out = []
    for query in queries:
        metric = (query.get("MetricStat") or {}).get("Metric") if isinstance(query, dict) else None
        if isinstance(metric, dict) and metric.get("Namespace") == "AWS/Lambda":
            metric = {**metric, "Dimensions": _in_account(account, metric.get("Dimensions"))}
            query = {**query, "MetricStat": {**query["MetricStat"], "Metric": metric}}
        out.append(query)
    return out


def _metric_data(original: Any) -> Any:
    def get(self: Any) -> Any:
        params = self._get_params()
        results = active().metrics.get_metric_data(
            _queries_in_account(self.current_account, params.get("MetricDataQueries", [])),
            params["StartTime"],
            params["EndTime"],
            params.get("ScanBy") or "TimestampDescending",
        )
        if results is None:
            return original(self)
        return module("moto.core.responses").ActionResult({"MetricDataResults": results})

    return get


def _metric_statistics(original: Any) -> Any:
    def get(self: Any) -> Any:
        p = self._get_params()
        result = active().metrics.get_metric_statistics(
            p.get("Namespace"),
            p.get("MetricName"),
            _in_account(self.current_account, p.get("Dimensions", [])),
            p["StartTime"],
            p["EndTime"],
            int(p["Period"]),
            p.get("Statistics"),
            p.get("ExtendedStatistics"),
            p.get("Unit"),
        )
        if result is None:
            return original(self)
        return module("moto.core.responses").ActionResult(result)

    return get


FACTORIES: dict[str, Callable[[Any], Any]] = {
    "CloudWatchResponse.get_metric_data": _metric_data,
    "CloudWatchResponse.get_metric_statistics": _metric_statistics,
}
