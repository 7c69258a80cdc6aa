"""The sandbox's CloudWatch emulation for AWS/Lambda metrics (metrics.py, statistics.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coalmine_sandbox.aws.cloudwatch import statistics as st
from coalmine_sandbox.aws.cloudwatch.metrics import MetricStore

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FN = "brand-api"


class FakeClock:
    def __init__(self, t: datetime) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t


def dims(**kv: str) -> list[dict[str, str]]:
    return [{"Name": k, "Value": v} for k, v in kv.items()]


def query(metric: str, stat: str = "Sum", period: int = 60, qid: str = "q", **dimensions: str):
    return {
        "Id": qid,
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/Lambda",
                "MetricName": metric,
                "Dimensions": dims(**dimensions),
            },
            "Period": period,
            "Stat": stat,
        },
    }


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0 + timedelta(hours=1))  # everything recorded below is published


@pytest.fixture
def store(clock: FakeClock) -> MetricStore:
    return MetricStore(clock)


def invoke(
    store: MetricStore,
    *,
    minute: int = 0,
    alias: str | None = "prod",
    version: str = "1",
    duration: float = 10.0,
    error: bool = False,
    throttled: bool = False,
    second: int = 5,
) -> None:
    store.record_invocation(
        function_name=FN,
        alias=alias,
        executed_version=version,
        start=T0 + timedelta(minutes=minute, seconds=second),
        duration_ms=duration,
        error=error,
        throttled=throttled,
    )


def one_value(store: MetricStore, q: dict) -> float | None:
    [result] = store.get_metric_data([q], T0, T0 + timedelta(minutes=1))
    return result["Values"][0] if result["Values"] else None


# --- statistics.py ---------------------------------------------------------------------------

WIKI_A = [15.0, 20.0, 35.0, 40.0, 50.0]  # nearest-rank examples (Wikipedia "Percentile")
WIKI_B = [3.0, 6.0, 7.0, 8.0, 8.0, 10.0, 13.0, 15.0, 16.0, 20.0]


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        (WIKI_A, 5, 15),
        (WIKI_A, 30, 20),
        (WIKI_A, 40, 20),
        (WIKI_A, 50, 35),
        (WIKI_A, 100, 50),
        (WIKI_B, 25, 7),
        (WIKI_B, 50, 8),
        (WIKI_B, 75, 15),
        (WIKI_B, 100, 20),
        (WIKI_B, 0, 3),
        ([float(i) for i in range(1, 1001)], 99.9, 999),
        ([float(i) for i in range(1, 1001)], 99.95, 1000),
    ],
)
def test_percentile_is_nearest_rank(values: list[float], p: float, expected: float) -> None:
    assert st.percentile(values, p) == expected


@pytest.mark.parametrize(
    ("stat", "expected"),
    [
        ("PR(:10)", 10.0),
        ("PR(10:20)", 10.0),
        ("PR(:0.5)", 0.0),
        ("PR(95:)", 5.0),
        ("PR(100:)", 0.0),
        ("PR(:100)", 100.0),
        ("PR(10.5:12)", 2.0),
        ("p50", 50.0),
        ("p99", 99.0),
        ("P99.5", 100.0),
        ("Sum", 5050.0),
        ("SampleCount", 100.0),
        ("Average", 50.5),
        ("Minimum", 1.0),
        ("Maximum", 100.0),
        ("tm90", 45.5),
        ("TM(10%:90%)", 50.5),
        ("IQM", 50.5),
        ("TC(10:20)", 10.0),
        ("tc90", 90.0),
        ("TS(:3)", 6.0),
        ("TM(150:1000)", None),
    ],
)
def test_statistics_on_1_to_100(stat: str, expected: float | None) -> None:
    values = [float(i) for i in range(1, 101)]
    assert st.compute(st.parse_stat(stat), st.values_summary(values)) == expected


@pytest.mark.parametrize("bad", ["p101", "PR(:10%)", "TM(1%:20)", "PR(:)", "median", "p-1", ""])
def test_unsupported_statistics_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match=r"statistic|percentile|bound|PR"):
        st.parse_stat(bad)


def test_binary_samples_give_the_error_rate_as_average() -> None:
    s = st.binary_summary(200, 3)
    assert [
        st.compute(st.parse_stat(x), s)
        for x in ("Sum", "SampleCount", "Average", "Minimum", "Maximum")
    ] == [3.0, 200.0, 0.015, 0.0, 1.0]
    assert st.compute(st.parse_stat("p99"), s) == 1.0
    assert st.compute(st.parse_stat("p98"), s) == 0.0


# --- dimension sets --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dimensions", "expected"),
    [
        ({}, 10),  # across all functions
        ({"FunctionName": FN}, 10),
        ({"FunctionName": FN, "Resource": f"{FN}:prod"}, 6),
        ({"FunctionName": FN, "Resource": f"{FN}:prod", "ExecutedVersion": "1"}, 4),
        ({"FunctionName": FN, "Resource": f"{FN}:prod", "ExecutedVersion": "2"}, 2),
        ({"FunctionName": FN, "Resource": f"{FN}:2"}, 3),  # invoked by version number
        ({"FunctionName": FN, "Resource": f"{FN}:2", "ExecutedVersion": "2"}, None),  # alias only
        ({"FunctionName": FN, "Resource": FN}, None),  # unqualified: {FunctionName} only
        ({"FunctionName": FN, "ExecutedVersion": "1"}, None),  # not a set Lambda emits
        ({"FunctionName": "other"}, None),
        ({"Resource": f"{FN}:prod"}, None),
    ],
)
def test_invocations_match_dimension_sets_exactly(store: MetricStore, dimensions, expected) -> None:
    for _ in range(4):
        invoke(store, version="1")
    for _ in range(2):
        invoke(store, version="2")
    for _ in range(3):
        invoke(store, alias=None, version="2")
    invoke(store, alias=None, version="$LATEST")
    assert one_value(store, query("Invocations", **dimensions)) == expected


def test_errors_has_zero_datapoints_with_traffic_and_none_without(store: MetricStore) -> None:
    # Given traffic without errors in minute 0, nothing in minute 1, one error of two in minute 2
    invoke(store, minute=0)
    invoke(store, minute=2)
    invoke(store, minute=2, error=True)
    [r] = store.get_metric_data([query("Errors", FunctionName=FN)], T0, T0 + timedelta(minutes=5))
    assert r["Timestamps"] == [T0 + timedelta(minutes=2), T0]  # newest first, no minute 1
    assert r["Values"] == [1.0, 0.0]
    avg = query("Errors", "Average", FunctionName=FN)
    [r] = store.get_metric_data([avg], T0, T0 + timedelta(minutes=5))
    assert r["Values"] == [0.5, 0.0]


def test_throttled_attempts_count_in_throttles_only(store: MetricStore) -> None:
    invoke(store, throttled=True)
    invoke(store, throttled=True)
    invoke(store, duration=30.0)
    d = {"FunctionName": FN, "Resource": f"{FN}:prod", "ExecutedVersion": "1"}
    assert one_value(store, query("Throttles", **d)) == 2
    assert one_value(store, query("Invocations", **d)) == 1
    assert one_value(store, query("Duration", "SampleCount", **d)) == 1
    assert one_value(store, query("Errors", "SampleCount", **d)) == 1
    invoke(store, minute=1)
    [r] = store.get_metric_data([query("Throttles", **d)], T0, T0 + timedelta(minutes=2))
    assert r["Timestamps"] == [T0]  # no Throttles datapoint in a minute without throttles


def test_duration_percentiles_merge_versions_and_minutes(store: MetricStore) -> None:
    for i in range(1, 51):
        invoke(store, version="1", duration=float(i), second=i % 60)
    for i in range(51, 101):
        invoke(store, version="2", duration=float(i), minute=1)
    q = [
        query("Duration", s, 120, qid=f"q{j}", FunctionName=FN)
        for j, s in enumerate(["p50", "p99", "PR(:75)", "Maximum", "Average"])
    ]
    results = store.get_metric_data(q, T0, T0 + timedelta(minutes=2))
    assert [r["Values"] for r in results] == [[50.0], [99.0], [75.0], [100.0], [50.5]]
    p99_v2 = query("Duration", "p99", FunctionName=FN, Resource=f"{FN}:prod", ExecutedVersion="2")
    assert store.get_metric_data([p99_v2], T0, T0 + timedelta(minutes=2))[0]["Values"] == [100.0]


# --- periods, windows, delay -----------------------------------------------------------------


def test_periods_align_to_epoch_and_start_rounds_down(store: MetricStore) -> None:
    for minute in range(12):
        invoke(store, minute=minute)
    q = query("Invocations", period=300, FunctionName=FN)
    [r] = store.get_metric_data([q], T0 + timedelta(minutes=2), T0 + timedelta(minutes=11))
    # buckets 12:00 (rounded down from 12:02), 12:05, 12:10 (cut at the 12:11 end: 1 minute)
    assert r["Timestamps"] == [T0 + timedelta(minutes=m) for m in (10, 5, 0)]
    assert r["Values"] == [1.0, 5.0, 5.0]
    with pytest.raises(ValueError, match="multiple of 60"):
        store.get_metric_data(
            [query("Invocations", period=30, FunctionName=FN)], T0, T0 + timedelta(minutes=5)
        )


@pytest.mark.parametrize(
    ("delay", "seconds_after_minute_end", "visible"),
    [
        (60, 59, False),
        (60, 60, True),
        (0, 0, True),
        (0, -1, False),
        (120, 119, False),
        (120, 121, True),
    ],
)
def test_a_minute_is_published_delay_seconds_after_it_ends(
    delay, seconds_after_minute_end, visible
) -> None:
    clock = FakeClock(T0)
    store = MetricStore(clock, publish_delay_seconds=delay)
    invoke(store, minute=0)
    clock.t = T0 + timedelta(seconds=60 + seconds_after_minute_end)
    assert (one_value(store, query("Invocations", FunctionName=FN)) is not None) is visible


def test_other_namespaces_and_expressions_are_left_to_moto(store: MetricStore) -> None:
    # A namespace the store never recorded (e.g. PutMetricData into moto) is moto's, alone; beside
    # an AWS/Lambda query the store answers the whole request (a business metric with no
    # datapoint yet is an empty series: tests/sandbox/test_emf.py)
    other = query("Invocations", FunctionName=FN)
    other["MetricStat"]["Metric"]["Namespace"] = "coalmine"
    expr = {"Id": "e", "Expression": "q * 2"}
    assert store.get_metric_data([other], T0, T0 + timedelta(minutes=1)) is None
    assert (
        store.get_metric_data([query("Invocations"), expr], T0, T0 + timedelta(minutes=1)) is None
    )
    assert store.get_metric_statistics("AWS/EC2", "CPUUtilization", [], T0, T0, 60, ["Sum"]) is None


def test_result_shape_label_unit_and_return_data(store: MetricStore) -> None:
    invoke(store)
    hidden = query("Errors", qid="hidden", FunctionName=FN) | {"ReturnData": False}
    labelled = query("Errors", qid="e", FunctionName=FN) | {"Label": "errors"}
    wrong_unit = query("Duration", qid="u", FunctionName=FN)
    wrong_unit["MetricStat"]["Unit"] = "Seconds"
    results = store.get_metric_data(
        [query("Invocations", qid="i", FunctionName=FN), hidden, labelled, wrong_unit],
        T0,
        T0 + timedelta(minutes=1),
    )
    assert [(r["Id"], r["Label"], r["Values"], r["StatusCode"]) for r in results] == [
        ("i", "Invocations", [1.0], "Complete"),
        ("e", "errors", [0.0], "Complete"),
        ("u", "Duration", [], "Complete"),
    ]


def test_get_metric_statistics_shape(store: MetricStore) -> None:
    for d in (10.0, 20.0, 30.0):
        invoke(store, duration=d)
    out = store.get_metric_statistics(
        "AWS/Lambda",
        "Duration",
        dims(FunctionName=FN),
        T0,
        T0 + timedelta(minutes=3),
        60,
        ["Average", "SampleCount"],
        ["p50", "PR(:20)"],
    )
    assert out == {
        "Label": "Duration",
        "Datapoints": [
            {
                "Timestamp": T0,
                "Average": 20.0,
                "SampleCount": 3.0,
                "ExtendedStatistics": {"p50": 20.0, "PR(:20)": 200 / 3},
                "Unit": "Milliseconds",
            }
        ],
    }


def test_generic_record_and_record_lambda(store: MetricStore) -> None:
    store.record_lambda(
        metric="AsyncEventAge",
        function_name=FN,
        alias="prod",
        executed_version="2",
        timestamp=T0 + timedelta(seconds=1),
        value=120.0,
        unit="Milliseconds",
    )
    store.record_lambda(
        metric="AsyncEventAge",
        function_name=FN,
        alias="prod",
        executed_version="2",
        timestamp=T0 + timedelta(seconds=2),
        value=80.0,
        unit="Milliseconds",
    )
    full = {"FunctionName": FN, "Resource": f"{FN}:prod", "ExecutedVersion": "2"}
    assert one_value(store, query("AsyncEventAge", "Maximum", **full)) == 120.0
    assert one_value(store, query("AsyncEventAge", "SampleCount", FunctionName=FN)) == 2
    assert (
        one_value(store, query("AsyncEventAge", "Sum", FunctionName=FN, ExecutedVersion="2"))
        is None
    )
