"""CloudWatch's GetMetricData and GetMetricStatistics for AWS/Lambda, answered from the emulated
metric store (aws/cloudwatch/): percentiles, PR(...) and per-version dimensions, which moto lacks.
Other namespaces and metric math are left to moto."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .hooks import active
from .internals import module


def _metric_data(original: Any) -> Any:
    def get(self: Any) -> Any:
        params = self._get_params()
        results = active().metrics.get_metric_data(
            params.get("MetricDataQueries", []),
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
            p.get("Dimensions", []),
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
