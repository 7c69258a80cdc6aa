"""analysis.metrics against moto: the tick's one GetMetricData request, business metrics
included, is one CloudWatch accepts, and its answer becomes each version's samples (a metric
emitted with the version as a dimension, in the function's own namespace)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from coalmine import analysis, metric_queries
from coalmine.adapters.cloudwatch import CloudWatchApi
from coalmine.models import Deployment
from events import load_event

NOT_FOUND = {
    "name": "brand-not-found",
    "namespace": "coalmine-samples",
    "metricName": "BrandLookup",
    "dimensions": {"service": "brand-api", "FunctionVersion": "{version}", "Outcome": "not_found"},
    "kind": "failures-of",
}
RETRIES = {**NOT_FOUND, "name": "retries", "metricName": "Retries", "kind": "rate",
           "dimensions": {"FunctionVersion": "{version}"}}  # fmt: skip
DB = {**RETRIES, "name": "db", "metricName": "DbMs", "kind": "latency"}


def _put(world: Any, namespace: str, metric: str, dims: dict[str, str], value: float,
         when: datetime) -> None:  # fmt: skip
    world.cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[{"MetricName": metric, "Timestamp": when, "Value": value,
                     "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()]}],
    )  # fmt: skip


def test_one_request_reads_the_business_metrics_of_both_versions(world: Any) -> None:
    # Given a deployment judging three business metrics, and a minute of datapoints
    event = load_event("analyze")
    event["analysis"]["metrics"] = [NOT_FOUND, RETRIES, DB]
    current = Deployment.model_validate(event)
    minute = (datetime.now(UTC) - timedelta(minutes=2)).replace(second=0, microsecond=0)
    for version, invocations, not_found in (("2", 120, 12), ("1", 1080, 54)):
        lam = {"FunctionName": "brand-api", "Resource": "brand-api:prod",
               "ExecutedVersion": version}  # fmt: skip
        _put(world, "AWS/Lambda", "Invocations", lam, invocations, minute)
        dims = {"service": "brand-api", "FunctionVersion": version, "Outcome": "not_found"}
        _put(world, "coalmine-samples", "BrandLookup", dims, not_found, minute)
    _put(world, "coalmine-samples", "Retries", {"FunctionVersion": "2"}, 7, minute)
    # When the tick's request is sent as Analyze sends it
    request = analysis.metric_request(current)
    assert len(request) <= metric_queries.MAX_QUERIES
    results = CloudWatchApi(world.cloudwatch).get_metric_data(
        request, minute - timedelta(minutes=1), datetime.now(UTC)
    )
    # Then every query is answered, and the business metrics land in each version's sample
    assert {r["Id"] for r in results} == {q["Id"] for q in request}
    (period,) = metric_queries.periods(results, current.analysis)
    assert (period.new.invocations, period.old.invocations) == (120, 1080)
    assert period.new.metric("brand-not-found").total == 12
    assert period.old.metric("brand-not-found").total == 54
    assert period.new.metric("retries").total == 7
    assert period.old.metric("retries").total == 0
