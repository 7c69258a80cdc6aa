"""CloudWatch alarm evaluation in the sandbox (alarm_rules.py, alarms.py) against moto's
CloudWatch (alarms stored there, state set through the public API)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from coalmine_sandbox.aws.cloudwatch.alarm_rules import Point, decide
from coalmine_sandbox.aws.cloudwatch.alarms import AlarmEvaluator
from coalmine_sandbox.aws.cloudwatch.metrics import MetricStore

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FN = "brand-api"
CANARY = [
    {"Name": "FunctionName", "Value": FN},
    {"Name": "Resource", "Value": f"{FN}:prod"},
    {"Name": "ExecutedVersion", "Value": "2"},
]

# --- the rules, against the two tables of the CloudWatch User Guide ---------------------------
# ("How alarm state is evaluated when data is missing"): 5-point evaluation range, oldest first;
# 0 = not breaching, X = breaching, - = missing. None = "retain current state".
GUIDE_TABLES = [
    # M = N = 3
    (3, "0 - X - X", "OK", "OK", "OK", "OK"),
    (3, "0 - - - -", "OK", "OK", "OK", "OK"),
    (3, "- - - - -", "INSUFFICIENT_DATA", None, "ALARM", "OK"),
    (3, "0 X X - X", "ALARM", "ALARM", "ALARM", "ALARM"),
    (3, "- - X - -", "ALARM", None, "ALARM", "OK"),
    # M = 2 of N = 3
    (2, "0 - X - X", "ALARM", "ALARM", "ALARM", "ALARM"),
    (2, "0 0 X 0 X", "ALARM", "ALARM", "ALARM", "ALARM"),
    (2, "0 - X - -", "OK", "OK", "ALARM", "OK"),
    (2, "- - - - 0", "OK", "OK", "ALARM", "OK"),
    (2, "- - - X -", "ALARM", None, "ALARM", "OK"),
]
MODES = ("missing", "ignore", "breaching", "notBreaching")


@pytest.mark.parametrize(
    ("m", "data", "mode", "expected"),
    [(row[0], row[1], mode, row[2 + i]) for row in GUIDE_TABLES for i, mode in enumerate(MODES)],
)
def test_decide_reproduces_the_user_guide_tables(m: int, data: str, mode: str, expected) -> None:
    values = {"0": 1.0, "X": 10.0, "-": None}
    points = [Point(T0 + timedelta(minutes=i), values[c]) for i, c in enumerate(data.split())]
    decision = decide(
        points,
        evaluation_periods=3,
        datapoints_to_alarm=m,
        treat_missing=mode,
        comparison="GreaterThanThreshold",
        threshold=5.0,
    )
    assert decision.state == expected


@pytest.mark.parametrize(
    ("comparison", "value", "breaches"),
    [
        ("GreaterThanThreshold", 5.0, False),
        ("GreaterThanOrEqualToThreshold", 5.0, True),
        ("LessThanThreshold", 5.0, False),
        ("LessThanOrEqualToThreshold", 5.0, True),
        ("LessThanThreshold", 4.9, True),
        ("GreaterThanThreshold", 5.1, True),
    ],
)
def test_comparison_operators(comparison: str, value: float, breaches: bool) -> None:
    decision = decide(
        [Point(T0, value)],
        evaluation_periods=1,
        datapoints_to_alarm=1,
        treat_missing="missing",
        comparison=comparison,
        threshold=5.0,
    )
    assert decision.state == ("ALARM" if breaches else "OK")


def test_reason_text_reads_like_cloudwatch() -> None:
    points = [Point(T0 + timedelta(minutes=i), v) for i, v in enumerate([None, 1.0, 7.0, 6.0])]
    kwargs: dict[str, Any] = {
        "evaluation_periods": 2,
        "datapoints_to_alarm": 2,
        "treat_missing": "missing",
        "comparison": "GreaterThanThreshold",
        "threshold": 5.0,
    }
    assert decide(points, **kwargs).reason == (
        "Threshold Crossed: 2 out of the last 2 datapoints [6.0 (02/03/26 12:03:00), "
        "7.0 (02/03/26 12:02:00)] were greater than the threshold (5.0) "
        "(minimum 2 datapoints for OK -> ALARM transition)."
    )
    ok = decide([*points, Point(T0 + timedelta(minutes=4), 2.0)], **kwargs)
    assert ok.reason == (
        "Threshold Crossed: 1 out of the last 2 datapoints [2.0 (02/03/26 12:04:00)] was not "
        "greater than the threshold (5.0) (minimum 1 datapoint for ALARM -> OK transition)."
    )
    none = decide([Point(T0, None)] * 4, **kwargs)
    assert none.reason == "Insufficient Data: 2 datapoints were unknown."


# --- the evaluator against moto --------------------------------------------------------------


class Env:
    def __init__(self) -> None:
        self.now = T0
        self.store = MetricStore(lambda: self.now)
        self.cw = boto3.client("cloudwatch", region_name="us-east-1")
        self.evaluator = AlarmEvaluator(self.store, self.cw)

    def alarm(self, name: str = "canary-errors", **overrides: Any) -> None:
        params: dict[str, Any] = {
            "AlarmName": name,
            "Namespace": "AWS/Lambda",
            "MetricName": "Errors",
            "Dimensions": CANARY,
            "Statistic": "Sum",
            "Period": 60,
            "EvaluationPeriods": 2,
            "DatapointsToAlarm": 2,
            "Threshold": 5.0,
            "ComparisonOperator": "GreaterThanThreshold",
        } | overrides
        self.cw.put_metric_alarm(**{k: v for k, v in params.items() if v is not None})

    def traffic(self, minute: int, count: int, errors: int = 0, duration: float = 20.0) -> None:
        for i in range(count):
            self.store.record_invocation(
                function_name=FN,
                alias="prod",
                executed_version="2",
                start=T0 + timedelta(minutes=minute, seconds=i % 60),
                duration_ms=duration,
                error=i < errors,
            )

    def at(self, minute: int) -> list[Any]:
        """Advance to a minute boundary and evaluate there, as the clock listener would."""
        before = self.now
        self.now = T0 + timedelta(minutes=minute)
        self.evaluator.on_clock(before, self.now)
        return self.evaluator.changes

    def state(self, name: str = "canary-errors") -> dict[str, Any]:
        return self.cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]


@pytest.fixture
def env() -> Iterator[Env]:
    with mock_aws():
        yield Env()


def test_ok_alarm_ok_with_two_of_two(env: Env) -> None:
    # Given a 2-of-2 alarm on the canary's Errors (Sum > 5 per minute) and the 60 s publish delay:
    # at boundary B the newest published minute is B-2 (the one ending at B is still delayed)
    env.alarm()
    for minute, e in {0: 0, 1: 0, 2: 9, 3: 7, 4: 9, 5: 0, 6: 1}.items():
        env.traffic(minute, 100, e)
    states = {b: (env.at(b), env.state()["StateValue"])[1] for b in range(2, 10)}
    assert states == {
        2: "OK",  # only minute 0 published (0): fewer than N real points, none breaching
        3: "OK",  # minutes 0, 1 -> 0, 0
        4: "OK",  # minutes 1, 2 -> 0, 9: one breach of two
        5: "ALARM",  # minutes 2, 3 -> 9, 7
        6: "ALARM",  # minutes 3, 4 -> 7, 9
        7: "OK",  # minutes 4, 5 -> 9, 0
        8: "OK",
        9: "OK",  # minute 7 had no traffic: the range reaches back to minutes 5, 6
    }
    transitions = [(c.old_state, c.new_state, c.timestamp) for c in env.evaluator.changes]
    assert transitions == [
        ("INSUFFICIENT_DATA", "OK", T0 + timedelta(minutes=2)),
        ("OK", "ALARM", T0 + timedelta(minutes=5)),
        ("ALARM", "OK", T0 + timedelta(minutes=7)),
    ]
    assert env.state()["StateReason"] == (
        "Threshold Crossed: 1 out of the last 2 datapoints [0.0 (02/03/26 12:05:00)] was not "
        "greater than the threshold (5.0) (minimum 1 datapoint for ALARM -> OK transition)."
    )


def test_state_is_only_set_when_it_changes(env: Env) -> None:
    env.alarm()
    calls = []
    set_alarm_state = env.cw.set_alarm_state
    env.cw.set_alarm_state = lambda **kw: calls.append(kw) or set_alarm_state(**kw)
    for minute in range(6):
        env.traffic(minute, 10)
    for boundary in range(2, 8):
        env.at(boundary)
    # 12:01 (no data yet) corrects moto's initial OK to CloudWatch's INSUFFICIENT_DATA (not a
    # change); 12:02 is the one change, INSUFFICIENT_DATA -> OK; later evaluations write nothing
    assert [c["StateValue"] for c in calls] == ["INSUFFICIENT_DATA", "OK"]
    assert [(c.old_state, c.new_state) for c in env.evaluator.changes] == [
        ("INSUFFICIENT_DATA", "OK")
    ]


@pytest.mark.parametrize(
    ("m", "expected_alarm_at"),
    [(2, [6]), (3, []), (1, [4, 5, 6, 7, 8])],
)
def test_m_of_n(env: Env, m: int, expected_alarm_at: list[int]) -> None:
    # Given M of 3 and breaching minutes 2 and 4 among clean ones
    env.alarm(EvaluationPeriods=3, DatapointsToAlarm=m)
    for minute, e in enumerate([0, 0, 9, 0, 9, 0, 0, 0]):
        env.traffic(minute, 50, e)
    in_alarm = [b for b in range(2, 10) if (env.at(b), env.state()["StateValue"])[1] == "ALARM"]
    # boundary B judges minutes B-4..B-2
    assert in_alarm == expected_alarm_at


def test_premature_alarm_on_a_single_old_enough_breach(env: Env) -> None:
    # One breaching minute, then no traffic: with missing data treated as missing the alarm goes
    # to ALARM while the breach is the oldest of the last N periods (CloudWatch's premature-alarm
    # rule), then back to OK once the breach slides out of them, then INSUFFICIENT_DATA.
    env.alarm(EvaluationPeriods=3, DatapointsToAlarm=3)
    env.traffic(0, 50, 9)
    states = [(env.at(b), env.state()["StateValue"])[1] for b in range(2, 8)]
    assert states == ["OK", "ALARM", "OK", "OK", "INSUFFICIENT_DATA", "INSUFFICIENT_DATA"]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("missing", "INSUFFICIENT_DATA"),
        (None, "INSUFFICIENT_DATA"),  # the default is missing
        ("breaching", "ALARM"),
        ("notBreaching", "OK"),
        ("ignore", "OK"),  # kept from before the data stopped
    ],
)
def test_treat_missing_data_when_traffic_stops(env: Env, mode: str | None, expected: str) -> None:
    env.alarm(TreatMissingData=mode)
    env.traffic(0, 10)
    env.traffic(1, 10)
    env.at(3)
    assert env.state()["StateValue"] == "OK"
    for boundary in range(4, 12):  # no traffic any more: the range empties
        env.at(boundary)
    assert env.state()["StateValue"] == expected


def test_no_traffic_at_all(env: Env) -> None:
    env.alarm(name="missing")
    env.alarm(name="ignore", TreatMissingData="ignore")
    env.alarm(name="breaching", TreatMissingData="breaching")
    env.at(5)
    assert env.state("missing")["StateValue"] == "INSUFFICIENT_DATA"
    assert env.state("missing")["StateReason"] == "Insufficient Data: 2 datapoints were unknown."
    assert env.state("ignore")["StateValue"] == "INSUFFICIENT_DATA"
    assert env.state("breaching")["StateValue"] == "ALARM"
    assert "treated as [Breaching]" in env.state("breaching")["StateReason"]


def test_percentile_alarm_on_duration(env: Env) -> None:
    env.alarm(
        name="p99",
        MetricName="Duration",
        Statistic=None,
        ExtendedStatistic="p99",
        Threshold=1000.0,
        EvaluationPeriods=1,
        DatapointsToAlarm=1,
    )
    env.traffic(0, 100, duration=50.0)
    env.traffic(1, 100, duration=2000.0)
    env.at(2)
    assert env.state("p99")["StateValue"] == "OK"
    env.at(3)
    assert env.state("p99")["StateValue"] == "ALARM"
    assert env.state("p99")["StateReason"] == (
        "Threshold Crossed: 1 datapoint [2000.0 (02/03/26 12:01:00)] was greater than the "
        "threshold (1000.0)."
    )


def test_alarm_on_the_whole_function_sees_every_version(env: Env) -> None:
    env.alarm(
        name="fn",
        Dimensions=[{"Name": "FunctionName", "Value": FN}],
        EvaluationPeriods=1,
        DatapointsToAlarm=1,
    )
    env.alarm(name="v1", Dimensions=[*CANARY[:2], {"Name": "ExecutedVersion", "Value": "1"}])
    env.traffic(0, 100, errors=6)
    env.at(2)
    assert env.state("fn")["StateValue"] == "ALARM"
    assert env.state("v1")["StateValue"] == "INSUFFICIENT_DATA"  # version 1 had no traffic


def test_on_clock_evaluates_once_per_minute_boundary(env: Env) -> None:
    env.alarm(TreatMissingData="breaching", EvaluationPeriods=1)
    calls = []
    env.evaluator.evaluate = lambda now: calls.append(now) or []  # type: ignore[method-assign]
    t = T0 + timedelta(seconds=59)
    env.evaluator.on_clock(T0, t)  # no boundary in (12:00:00, 12:00:59]
    env.evaluator.on_clock(t, t + timedelta(seconds=1))  # 12:01:00
    env.evaluator.on_clock(t + timedelta(seconds=1), t + timedelta(seconds=2))
    env.evaluator.on_clock(t, t + timedelta(minutes=3))  # a long step: three boundaries
    assert calls == [T0 + timedelta(minutes=m) for m in (1, 1, 2, 3)]


def _rate_alarm(env: Env, expression: str, **overrides: Any) -> None:
    def stat(metric: str, dims: list[dict[str, str]]) -> dict[str, Any]:
        return {
            "Metric": {"Namespace": "AWS/Lambda", "MetricName": metric, "Dimensions": dims},
            "Period": 60,
            "Stat": "Sum",
        }

    params: dict[str, Any] = {
        "AlarmName": "rate",
        "EvaluationPeriods": 3,
        "DatapointsToAlarm": 2,
        "Threshold": 0.05,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        "Metrics": [
            {"Id": "errors", "MetricStat": stat("Errors", CANARY), "ReturnData": False},
            {"Id": "requests", "MetricStat": stat("Invocations", CANARY), "ReturnData": False},
            {"Id": "rate", "Expression": expression, "ReturnData": True},
        ],
    } | overrides
    env.cw.put_metric_alarm(**params)


def test_a_metric_math_error_rate_alarm_is_evaluated_per_minute(env: Env) -> None:
    # Given an error-rate alarm (errors / requests > 5% in 2 of 3 minutes, judged only from
    # 60 requests a minute): minutes 2-3 at 10% errors, minute 6 at 50% of only 10 requests
    _rate_alarm(env, "IF(requests >= 60, errors / requests, 0)")
    for minute, (count, errors) in {0: (100, 1), 1: (100, 2), 2: (100, 10), 3: (100, 10)}.items():
        env.traffic(minute, count, errors)
    for minute in (4, 5, 7, 8, 9):
        env.traffic(minute, 100, 1)
    env.traffic(6, 10, 5)
    states = {b: (env.at(b), env.state("rate")["StateValue"])[1] for b in range(2, 11)}
    # minute m is published at boundary m + 2; 2 of the 3 newest breach from boundary 5 on
    assert states == {
        2: "OK", 3: "OK", 4: "OK", 5: "ALARM", 6: "ALARM", 7: "OK", 8: "OK", 9: "OK", 10: "OK",
    }  # fmt: skip
    changes = [(c.old_state, c.new_state, c.timestamp) for c in env.evaluator.changes]
    assert changes[1:] == [
        ("OK", "ALARM", T0 + timedelta(minutes=5)),
        ("ALARM", "OK", T0 + timedelta(minutes=7)),
    ]
    data = json.loads(env.state("rate")["StateReasonData"])
    assert "statistic" not in data
    assert data["period"] == 60
    assert data["recentDatapoints"] == [0.1, 0.1, 0.01, 0.01]  # minutes 2-5, read at boundary 7


def test_without_a_false_value_if_gives_no_datapoint(env: Env) -> None:
    # IF(cond, x) has no datapoint where cond is false: with notBreaching, those are fine
    _rate_alarm(env, "IF(requests >= 60, errors / requests)", TreatMissingData="breaching")
    for minute in range(0, 6):
        env.traffic(minute, 10, 0)
    env.at(6)
    assert env.state("rate")["StateValue"] == "ALARM"  # every datapoint missing -> breaching


@pytest.mark.parametrize(
    "expression",
    [
        "RATE(errors)",
        "SUM(METRICS())",
        "errors / nope",
        "errors +",
        "ANOMALY_DETECTION_BAND(errors)",
    ],
)
def test_metric_math_the_sandbox_does_not_emulate_is_left_alone(env: Env, expression: str) -> None:
    _rate_alarm(env, expression)
    before = env.state("rate")
    env.traffic(1, 100, 50)
    env.at(4)
    assert env.state("rate")["StateReason"] == before["StateReason"]
    assert env.evaluator.changes == []


def _template_alarm() -> dict[str, Any]:
    """template.yaml's sample alarm (brand-api-prod-errors), as CloudFormation would put it."""
    from samtranslator.yaml_helper import yaml_parse

    from coalmine_sandbox.aws.cloudformation.intrinsics import Resolver
    from coalmine_sandbox.resources import TEMPLATE

    template = yaml_parse(TEMPLATE.read_text())
    # its names as the stack named coalmine (the sandbox's) gives them
    resolver = Resolver(
        ref=lambda name: name,
        get_att=lambda name, attribute: f"{name}.{attribute}",
        pseudo={"AWS::StackName": "coalmine"},
        parameters={"DeploySamples": "true"},
        conditions=template["Conditions"],
    )
    props = dict(resolver.resolve(template["Resources"]["BrandApiErrorsAlarm"]["Properties"]))
    props.pop("AlarmDescription", None)
    return props


def test_the_sample_alarm_stays_quiet_through_a_long_healthy_deployment(env: Env) -> None:
    # Given the template's alarm and brand-api at 5 rps with its normal 1% errors for 100 minutes
    # (Linear10PercentEvery10Minutes), and, beside it, the error-count alarm it replaced
    env.cw.put_metric_alarm(**_template_alarm())
    env.alarm("count", Dimensions=CANARY[:2])  # more than 5 errors in each of 2 minutes
    rng = random.Random(5)
    for minute in range(100):
        requests = 300
        env.traffic(minute, requests, rng.binomialvariate(requests, 0.01))
    fired = set()
    for boundary in range(2, 102):
        env.at(boundary)
        fired |= {
            n for n in ("brand-api-prod-errors", "count") if env.state(n)["StateValue"] == "ALARM"
        }
    # Then only the count alarm would have rolled a healthy release back
    assert fired == {"count"}


def test_the_sample_alarm_fires_when_the_alias_fails(env: Env) -> None:
    env.cw.put_metric_alarm(**_template_alarm())
    for minute in range(6):
        env.traffic(minute, 300, 30 if minute >= 2 else 3)  # 10% from minute 2
    states = {
        b: (env.at(b), env.state("brand-api-prod-errors")["StateValue"])[1] for b in range(2, 8)
    }
    assert states == {2: "OK", 3: "OK", 4: "OK", 5: "ALARM", 6: "ALARM", 7: "ALARM"}
