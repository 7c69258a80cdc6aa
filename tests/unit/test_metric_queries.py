"""metric_queries: the one GetMetricData request, and a table of fake answers -> Periods."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from coalmine.async_gates import AsyncPeriod
from coalmine.gates import Period, VersionSample
from coalmine.gates_config import LATENCY_LADDER_MS, GatesConfig
from coalmine.metric_queries import async_periods, async_queries, periods, queries, start_time

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
T1 = datetime(2030, 1, 1, 12, 1, tzinfo=UTC)
CFG = GatesConfig()


def test_one_request_asks_every_metric_per_version_with_the_alias_dimensions() -> None:
    qs = queries("brand-api", "prod", {"n": "2", "o": "1"}, GatesConfig(latency_limit_ms=750))
    per_version = 3 + 1 + len(LATENCY_LADDER_MS) + 1  # sums, p99, ladder, the limit
    assert len(qs) == 2 * per_version
    assert len({q["Id"] for q in qs}) == len(qs)
    new_inv = next(q for q in qs if q["Id"] == "n_inv")["MetricStat"]
    assert new_inv["Metric"]["Dimensions"] == [
        {"Name": "FunctionName", "Value": "brand-api"},
        {"Name": "Resource", "Value": "brand-api:prod"},
        {"Name": "ExecutedVersion", "Value": "2"},
    ]
    assert (new_inv["Stat"], new_inv["Period"]) == ("Sum", 60)
    stats = {q["MetricStat"]["Stat"] for q in qs if q["Id"].startswith("o_pr")}
    assert {"PR(:20)", "PR(:750)", "PR(:30000)"} <= stats


def test_start_time_is_floored_to_the_minute() -> None:
    assert start_time(datetime(2030, 1, 1, 12, 3, 59, 999, tzinfo=UTC)) == T0.replace(minute=3)


def _r(qid: str, points: dict[datetime, float]) -> dict:
    return {"Id": qid, "Timestamps": list(points), "Values": list(points.values())}


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        pytest.param([], [], id="no datapoints"),
        pytest.param(
            [_r("n_inv", {T0: 10}), _r("n_err", {T0: 2}), _r("o_inv", {T0: 90})],
            [Period(VersionSample(10, 2), VersionSample(90))],
            id="missing metrics count as 0",
        ),
        pytest.param(
            [_r("n_inv", {T1: 5, T0: 4}), _r("o_inv", {T1: 50}), _r("o_thr", {T1: 3})],
            [
                Period(VersionSample(4), VersionSample()),
                Period(VersionSample(5), VersionSample(50, 0, 3)),
            ],
            id="any order in, oldest first out",
        ),
        pytest.param(
            [_r("n_inv", {T0: 0}), _r("o_inv", {T0: 0})], [], id="periods without traffic dropped"
        ),
        pytest.param(
            [_r("n_inv", {T0: 10}), _r("n_pr0", {T0: 80.0}), _r("n_p99", {T0: 31.5})],
            [Period(VersionSample(10, pr={20.0: 80.0}, p99_ms=31.5), VersionSample())],
            id="latency statistics by threshold",
        ),
    ],
)
def test_results_become_periods(results: list[dict], expected: list[Period]) -> None:
    assert periods(results, CFG) == expected


def test_pages_of_the_same_query_are_joined() -> None:
    pages = [_r("n_inv", {T0: 1}), _r("n_inv", {T1: 2})]
    assert [p.new.invocations for p in periods(pages, CFG)] == [1, 2]


# ----------------------------------------------------------------------------- async queue
def test_the_same_request_asks_for_the_aliass_async_queue() -> None:
    probe = async_queries("brand-asset-processor", "prod", target=False)
    full = async_queries("brand-asset-processor", "prod", target=True)

    assert [q["Id"] for q in probe] == ["a_rcv"]  # events arriving tell an async target
    assert {q["Id"]: q["MetricStat"]["Metric"]["MetricName"] for q in full} == {
        "a_rcv": "AsyncEventsReceived",
        "a_drp": "AsyncEventsDropped",
        "a_age": "AsyncEventAge",
        "a_ddf": "DestinationDeliveryFailures",
        "a_dle": "DeadLetterErrors",
    }
    age = next(q for q in full if q["Id"] == "a_age")["MetricStat"]
    assert age["Stat"] == "Maximum"
    assert age["Metric"]["Dimensions"] == [  # the alias: Lambda has no per-version async metrics
        {"Name": "FunctionName", "Value": "brand-asset-processor"},
        {"Name": "Resource", "Value": "brand-asset-processor:prod"},
    ]
    qs = queries("f", "prod", {"n": "2", "o": "1"}, CFG) + full
    assert len({q["Id"] for q in qs}) == len(qs)  # one request, distinct Ids


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        pytest.param([_r("n_inv", {T0: 10})], [], id="no async datapoints"),
        pytest.param(
            [_r("a_rcv", {T1: 4, T0: 5}), _r("a_age", {T1: 61000.0}), _r("n_inv", {T0: 3})],
            [AsyncPeriod(T0, received=5), AsyncPeriod(T1, received=4, max_age_ms=61000.0)],
            id="oldest first; a missing sum is 0, a missing age None",
        ),
        pytest.param(
            [_r("a_drp", {T0: 2}), _r("a_ddf", {T0: 1}), _r("a_dle", {T0: 3})],
            [AsyncPeriod(T0, dropped=2, delivery_failures=1, dead_letter_errors=3)],
            id="drops and undelivered records",
        ),
    ],
)
def test_async_results_become_async_periods(
    results: list[dict], expected: list[AsyncPeriod]
) -> None:
    assert async_periods(results) == expected
