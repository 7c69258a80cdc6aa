"""analysis.metrics: a definition that cannot be judged is refused naming its field (tables of
cases); each kind is judged by its test (tables of per-minute counts); the queries fit one
GetMetricData request."""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from coalmine import gates, metric_queries, watch
from coalmine.business_metrics import MAX_METRICS, BusinessMetric
from coalmine.exceptions import InvalidInput
from coalmine.gates import MetricSample, Period, VersionSample
from coalmine.gates_config import GatesConfig
from coalmine.models import Verdict
from coalmine.validation import parse_request

NOT_FOUND: dict[str, Any] = {
    "name": "brand-not-found",
    "namespace": "coalmine-samples",
    "metricName": "BrandLookup",
    "dimensions": {"service": "brand-api", "FunctionVersion": "{version}", "Outcome": "not_found"},
    "kind": "failures-of",
}


def _request(*metrics: dict[str, Any]) -> dict[str, Any]:
    return {
        "functionName": "brand-api",
        "targetVersion": "3",
        "analysis": {"metrics": list(metrics)},
    }


def _with(**changes: Any) -> dict[str, Any]:
    metric = copy.deepcopy(NOT_FOUND)
    for key, value in changes.items():
        if value is None:
            metric.pop(key)
        else:
            metric[key] = value
    return metric


def test_a_valid_definition_is_accepted_with_its_kind_defaults() -> None:
    parsed = parse_request(_request(NOT_FOUND, _with(name="db", kind="latency", metricName="DbMs")))
    first, second = parsed.analysis.metrics
    assert (first.gate, first.tolerance(), second.tolerance()) == (
        "metric:brand-not-found",
        0,
        0.25,
    )
    assert first.dimensions_for("7")[1] == {"Name": "FunctionVersion", "Value": "7"}


@pytest.mark.parametrize(
    ("metrics", "field", "problem"),
    [
        ([_with(kind="p99")], "analysis.metrics[0].kind", "'failures-of', 'latency' or 'rate'"),
        ([_with(namespace=None)], "analysis.metrics[0].namespace", "field required"),
        ([_with(metricName=None)], "analysis.metrics[0].metricName", "field required"),
        ([_with(dimensions=None)], "analysis.metrics[0].dimensions", "field required"),
        ([_with(kind=None)], "analysis.metrics[0].kind", "field required"),
        ([_with(dimensions={})], "analysis.metrics[0].dimensions", "at least 1 item"),
        ([_with(name="has space")], "analysis.metrics[0].name", "should match pattern"),
        ([_with(namespace="AWS/Lambda")], "analysis.metrics[0].namespace", "AWS namespace"),
        ([_with(namespace="AWS/ApiGateway")], "analysis.metrics[0].namespace", "AWS namespace"),
        ([_with(dimensions={"service": "brand-api"})], "analysis.metrics[0].dimensions",
         "no dimension value holds {version}"),
        ([_with(dimensions={"FunctionVersion": "${Version}"})],
         "analysis.metrics[0].dimensions.FunctionVersion", "'{Version}' is not a placeholder"),
        ([_with(dimensions={"{version}": "x", "v": "{version}"})],
         "analysis.metrics[0].dimensions", "fills values only"),
        ([_with(dimensions={"FunctionVersion": 3})],
         "analysis.metrics[0].dimensions.FunctionVersion", "valid string"),
        ([_with(toleratedIncrease=-1)], "analysis.metrics[0].toleratedIncrease",
         "greater than or equal to 0"),
        ([_with(unit="Count")], "analysis.metrics[0].unit", "extra inputs"),
        ([_with(kind="rate", denominator={"metricName": "BrandLookup"})],
         "analysis.metrics[0].denominator", "only a failures-of metric"),
        ([_with(denominator={"metricName": "Lookups", "dimensions": {"service": "brand-api"}})],
         "analysis.metrics[0].denominator.dimensions", "no dimension value holds {version}"),
        ([_with(denominator={"dimensions": {"v": "{version}"}})],
         "analysis.metrics[0].denominator.metricName", "field required"),
        ([NOT_FOUND, NOT_FOUND], "analysis.metrics[1].name", "names two metrics"),
        ([_with(name=f"m{i}") for i in range(MAX_METRICS + 1)], "analysis.metrics",
         f"at most {MAX_METRICS} items"),
        ([_with(name=f"m{i}", dimensions={"v": "{version}", "pad": "x" * 1000})
          for i in range(4)], "analysis.metrics", "more than 4,096"),
        ("brand-not-found", "analysis.metrics", "valid list"),
    ],
    ids=lambda v: v if isinstance(v, str) and "." in v and " " not in v else None,
)  # fmt: skip
def test_a_definition_that_cannot_be_judged_is_refused_naming_its_field(
    metrics: Any, field: str, problem: str
) -> None:
    raw = _request()
    raw["analysis"]["metrics"] = metrics
    with pytest.raises(InvalidInput) as refused:
        parse_request(raw)
    assert refused.value.field == field
    assert problem.lower() in refused.value.problem.lower()


def test_the_most_metrics_allowed_still_fit_one_get_metric_data_request() -> None:
    latency = [_with(name=f"m{i}", kind="latency") for i in range(MAX_METRICS)]
    cfg = parse_request(_request(*latency)).analysis.model_copy(update={"latency_limit_ms": 750})
    count = metric_queries.query_count(cfg, async_target=True)
    assert count == 2 * (3 + 1 + 11 + MAX_METRICS * 11) + 5
    assert count <= metric_queries.MAX_QUERIES


def test_the_queries_fill_the_version_and_read_the_metrics_namespace() -> None:
    cfg = parse_request(
        _request(
            _with(denominator={"metricName": "BrandLookupAll", "dimensions": {"v": "{version}"}}),
            _with(name="db", kind="latency", metricName="DbMs"),
            _with(name="retries", kind="rate", metricName="Retries"),
        )
    ).analysis
    qs = {
        q["Id"]: q["MetricStat"]
        for q in metric_queries.queries("brand-api", "prod", {"n": "3", "o": "2"}, cfg)
    }
    assert qs["n_b0_s"]["Metric"]["Namespace"] == "coalmine-samples"
    assert {"Name": "FunctionVersion", "Value": "3"} in qs["n_b0_s"]["Metric"]["Dimensions"]
    assert {"Name": "FunctionVersion", "Value": "2"} in qs["o_b0_s"]["Metric"]["Dimensions"]
    assert qs["o_b0_d"]["Metric"]["Dimensions"] == [{"Name": "v", "Value": "2"}]
    assert (qs["n_b1_c"]["Stat"], qs["n_b1_r0"]["Stat"], qs["n_b1_r9"]["Stat"]) == (
        "SampleCount", "PR(:20)", "PR(:30000)")  # fmt: skip
    assert qs["n_b2_s"]["Stat"] == "Sum"
    assert "n_b2_d" not in qs
    assert "n_b1_s" not in qs


T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def _r(qid: str, points: dict[datetime, float]) -> dict[str, Any]:
    return {"Id": qid, "Timestamps": list(points), "Values": list(points.values())}


def test_the_answer_becomes_per_version_samples_a_missing_count_is_zero() -> None:
    cfg = GatesConfig(metrics=[BusinessMetric.model_validate(NOT_FOUND)])
    results = [_r("n_inv", {T0: 100}), _r("o_inv", {T0: 900}), _r("o_b0_s", {T0: 45})]
    (period,) = metric_queries.periods(results, cfg)
    assert period.new.metric("brand-not-found") == MetricSample(total=0)
    assert period.old.metric("brand-not-found") == MetricSample(total=45)


def test_a_watch_pairs_the_business_metric_like_the_lambda_metrics() -> None:
    cfg = GatesConfig(metrics=[BusinessMetric.model_validate(NOT_FOUND)])
    before, after = T0 - timedelta(minutes=1), T0 + timedelta(minutes=1)
    results = [
        _r("n_inv", {T0: 50, after: 100}), _r("o_inv", {before: 100, T0: 50}),
        _r("n_b0_s", {after: 30}), _r("o_b0_s", {before: 5}),
    ]  # fmt: skip
    periods = metric_queries.watch_periods(results, cfg, T0 + timedelta(seconds=10))
    assert [(p.new.metric("brand-not-found").total, p.old.metric("brand-not-found").total)
            for p in periods] == [(0, 0), (30, 5)]  # fmt: skip


# --------------------------------------------------------------------------- judging
def _minutes(kind: str, new: tuple[float, float], old: tuple[float, float], minutes: int = 5,
             **extra: Any) -> tuple[BusinessMetric, list[Period]]:  # fmt: skip
    """``minutes`` periods of (invocations, events) per version."""
    metric = BusinessMetric.model_validate(_with(kind=kind, **extra))
    periods = [
        Period(
            VersionSample(new[0], metrics={metric.name: MetricSample(total=new[1])}),
            VersionSample(old[0], metrics={metric.name: MetricSample(total=old[1])}),
        )
        for _ in range(minutes)
    ]
    return metric, periods


@pytest.mark.parametrize(
    ("kind", "new", "old", "minutes", "verdict"),
    [
        ("failures-of", (120, 12), (1080, 54), 5, Verdict.FAIL),  # 10% vs 5%: 2x
        ("failures-of", (120, 6), (1080, 54), 5, Verdict.PASS),  # the same share
        ("failures-of", (20, 1), (180, 9), 2, Verdict.INCONCLUSIVE),  # 40 < minInvocations
        ("failures-of", (120, 200), (1080, 54), 1, Verdict.FAIL),  # clamped: 120 of 120
        ("failures-of", (120, 0), (1080, 54), 5, Verdict.PASS),  # fewer: higher is worse
        ("rate", (120, 360), (1080, 1620), 5, Verdict.FAIL),  # 3 vs 1.5 per invocation
        ("rate", (120, 180), (1080, 1620), 5, Verdict.PASS),  # 1.5 vs 1.5 (> 1 per request)
        ("rate", (120, 0), (1080, 0), 5, Verdict.PASS),  # no events at all
        ("rate", (0, 5), (1080, 50), 5, Verdict.INCONCLUSIVE),  # events, no invocation: skipped
    ],
)
def test_each_count_kind_is_judged_by_its_test(kind: str, new: tuple[float, float],
                                               old: tuple[float, float], minutes: int,
                                               verdict: Verdict) -> None:  # fmt: skip
    metric, periods = _minutes(kind, new, old, minutes)
    result = gates.business_gate(metric)(periods, GatesConfig(metrics=[metric]), 0.001)
    assert result.verdict == verdict, result
    assert result.gate == "metric:brand-not-found"
    assert {"newCount", "oldCount", "newRate", "oldRate", "eValue", "rejectAt"} <= set(
        result.evidence
    )


def test_failures_of_a_denominator_judges_the_share_of_it_not_of_the_invocations() -> None:
    metric = BusinessMetric.model_validate(_with(denominator={"metricName": "Lookups"}))
    sample = {
        "new": MetricSample(total=10, denominator=20),
        "old": MetricSample(total=50, denominator=1000),
    }
    periods = [Period(VersionSample(120, metrics={metric.name: sample["new"]}),
                      VersionSample(1080, metrics={metric.name: sample["old"]}))] * 3  # fmt: skip
    result = gates.business_gate(metric)(periods, GatesConfig(metrics=[metric]), 0.001)
    assert result.verdict == Verdict.FAIL
    assert (result.evidence["newDenominator"], result.evidence["oldDenominator"]) == (60, 3000)


def _latency(ms: float, n: float) -> MetricSample:
    """n values all at ``ms``: PR(:t) is 100 at every threshold >= ms, else 0."""
    from coalmine.gates_config import LATENCY_LADDER_MS

    return MetricSample(count=n, pr={t: 100.0 if ms <= t else 0.0 for t in LATENCY_LADDER_MS})


@pytest.mark.parametrize(
    ("new_ms", "old_ms", "verdict"),
    [(300, 40, Verdict.FAIL), (40, 40, Verdict.PASS), (40, 300, Verdict.PASS)],
)
def test_latency_kind_compares_the_shares_over_each_threshold(
    new_ms: float, old_ms: float, verdict: Verdict
) -> None:
    metric = BusinessMetric.model_validate(_with(kind="latency", metricName="DbMs"))
    new = VersionSample(120, metrics={metric.name: _latency(new_ms, 120)})
    old = VersionSample(1080, metrics={metric.name: _latency(old_ms, 1080)})
    periods = [Period(new, old)] * 3
    result = gates.business_gate(metric)(periods, GatesConfig(metrics=[metric]), 0.001)
    assert result.verdict == verdict


def test_every_business_metric_takes_one_share_and_the_watch_labels_it_before_after() -> None:
    metric = BusinessMetric.model_validate(NOT_FOUND)
    cfg = GatesConfig(metrics=[metric])
    assert gates.gate_alpha(cfg, metric.gate) == pytest.approx(0.01 / 11)
    assert gates.gate_alpha(cfg, "errors") == pytest.approx(0.01 * 9 / 11)
    assert gates.gate_alpha(GatesConfig(), "errors") == pytest.approx(0.01 * 9 / 10)
    assert watch.compares(metric.gate)
    assert watch.compares("errors")
    assert not watch.compares("throttles")


@pytest.mark.parametrize("kind", ["failures-of", "rate"])
def test_a_a_runs_stay_under_the_false_rollback_rate_checked_every_minute(kind: str) -> None:
    # Given identical versions (5% of requests with an event, 30 minutes, checked every minute)
    metric = BusinessMetric.model_validate(_with(kind=kind))
    cfg = GatesConfig(metrics=[metric])
    rng = random.Random(7)
    rejected = 0
    for _ in range(300):
        periods: list[Period] = []
        for _ in range(30):
            n1, n0 = 12, 108
            x1 = sum(rng.random() < 0.05 for _ in range(n1))
            x0 = sum(rng.random() < 0.05 for _ in range(n0))
            new = VersionSample(n1, metrics={metric.name: MetricSample(total=x1)})
            old = VersionSample(n0, metrics={metric.name: MetricSample(total=x0)})
            periods.append(Period(new, old))
            if gates.business_gate(metric)(periods, cfg, 0.05).verdict == Verdict.FAIL:
                rejected += 1
                break
    # Then at most alpha of them are rolled back (with room for the simulation's noise)
    assert rejected / 300 <= 0.05 + 0.03
