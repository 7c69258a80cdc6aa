"""The sandbox's CloudWatch Logs: a function's embedded-metric-format lines become metrics under
exactly their dimension sets, served by GetMetricData beside AWS/Lambda (emf.py, metrics.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from coalmine_sandbox.aws.cloudwatch import emf
from coalmine_sandbox.aws.cloudwatch.metrics import MetricStore

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
MS = int(T0.timestamp() * 1000)


def _line(**overrides: Any) -> str:
    """A Powertools Metrics flush: BrandLookup{service, FunctionVersion, Outcome}."""
    doc: dict[str, Any] = {
        "_aws": {
            "Timestamp": MS + 5_000,
            "CloudWatchMetrics": [
                {
                    "Namespace": "coalmine-samples",
                    "Dimensions": [["service", "FunctionVersion", "Outcome"]],
                    "Metrics": [{"Name": "BrandLookup", "Unit": "Count"}],
                }
            ],
        },
        "service": "brand-api",
        "FunctionVersion": "3",
        "Outcome": "not_found",
        "BrandLookup": [1.0],
    }
    doc.update(overrides)
    return json.dumps(doc)


def test_a_powertools_line_is_one_sample_under_its_dimension_set() -> None:
    (sample,) = emf.samples('{"level": "INFO", "message": "brand lookup"}\n' + _line())
    assert sample.namespace == "coalmine-samples"
    assert sample.dimensions == {
        "service": "brand-api",
        "FunctionVersion": "3",
        "Outcome": "not_found",
    }
    assert (sample.values, sample.unit, sample.timestamp) == (
        (1.0,),
        "Count",
        T0 + timedelta(seconds=5),
    )


@pytest.mark.parametrize(
    "line",
    [
        _line(FunctionVersion=3),  # a dimension value that is not a string
        _line(BrandLookup="1"),  # a metric value that is not a number
        _line(BrandLookup=[True]),
        _line(_aws={"CloudWatchMetrics": []}),  # no Timestamp
        _line(service=None),
        'not json {"_aws": 1}',
        '{"_aws": {"Timestamp": 1, "CloudWatchMetrics": "x"}}',
    ],
)
def test_a_line_breaking_the_format_yields_no_metric(line: str) -> None:
    assert list(emf.samples(line)) == []


def test_each_dimension_set_and_value_is_recorded_and_get_metric_data_reads_it() -> None:
    store = MetricStore(lambda: T0 + timedelta(minutes=5))
    doc = json.loads(_line(BrandLookup=[1, 1, 1]))
    doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"].append(["service"])
    assert store.ingest_logs(json.dumps(doc)) == 6

    def q(qid: str, namespace: str, metric: str, **dims: str) -> dict[str, Any]:
        dimensions = [{"Name": k, "Value": v} for k, v in dims.items()]
        stat = {"Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": dimensions}}
        return {"Id": qid, "MetricStat": {**stat, "Period": 60, "Stat": "Sum"}}

    exact = {"service": "brand-api", "FunctionVersion": "3", "Outcome": "not_found"}
    queries = [
        q("exact", "coalmine-samples", "BrandLookup", **exact),
        q("coarse", "coalmine-samples", "BrandLookup", service="brand-api"),
        q("other", "coalmine-samples", "BrandLookup", service="brand-api", FunctionVersion="2"),
        q("inv", "AWS/Lambda", "Invocations", FunctionName="brand-api"),
    ]
    results = {r["Id"]: r for r in store.get_metric_data(queries, T0, T0 + timedelta(minutes=5))}
    assert results["exact"]["Values"] == [3.0]
    assert results["exact"]["Timestamps"] == [T0]
    assert results["coarse"]["Values"] == [3.0]
    assert results["other"]["Values"] == []  # no roll-up across dimension sets, as CloudWatch
    assert results["inv"]["Values"] == []


def test_a_namespace_the_store_never_saw_is_left_to_moto_unless_lambda_is_asked_too() -> None:
    store = MetricStore(lambda: T0 + timedelta(minutes=5))
    stat = {"Metric": {"Namespace": "elsewhere", "MetricName": "M"}, "Period": 60, "Stat": "Sum"}
    alone = [{"Id": "m", "MetricStat": stat}]
    assert store.get_metric_data(alone, T0, T0 + timedelta(minutes=5)) is None
    lam = {"Metric": {"Namespace": "AWS/Lambda", "MetricName": "Invocations"}, "Period": 60,
           "Stat": "Sum"}  # fmt: skip
    both = [*alone, {"Id": "l", "MetricStat": lam}]
    answer = store.get_metric_data(both, T0, T0 + timedelta(minutes=5))
    assert answer is not None
    assert [r["Values"] for r in answer] == [[], []]
