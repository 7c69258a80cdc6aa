"""adapters/cloudwatch.py against moto (alarm states) and a botocore Stubber (GetMetricData's
pages, throttling)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from coalmine.adapters.cloudwatch import CloudWatchApi
from coalmine.adapters.errors import THROTTLING_CODES
from coalmine.exceptions import AwsThrottled

END = datetime(2024, 1, 1, 12, tzinfo=UTC)
START = END - timedelta(minutes=5)
QUERY = {
    "Id": "errors",
    "MetricStat": {
        "Metric": {"Namespace": "AWS/Lambda", "MetricName": "Errors"},
        "Period": 60,
        "Stat": "Sum",
    },
}


def _stubbed() -> tuple[CloudWatchApi, Stubber]:
    client = boto3.client("cloudwatch", region_name="us-east-1")
    return CloudWatchApi(client), Stubber(client)


def test_alarm_states_of_the_alarms_that_exist(world: Any) -> None:
    # Given 120 alarms (DescribeAlarms takes 100 names at a time), the first one in ALARM
    for i in range(120):
        world.cloudwatch.put_metric_alarm(
            AlarmName=f"alarm-{i:03}",
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
        )
    world.set_alarm("ALARM", name="alarm-000")
    names = [f"alarm-{i:03}" for i in range(120)] + ["no-such-alarm"]
    # When their states are read, Then every existing one is there, the missing one is not
    states = CloudWatchApi().alarm_states(names)
    assert len(states) == 120
    assert states["alarm-000"] == "ALARM"
    assert "no-such-alarm" not in states


def test_get_metric_data_joins_its_pages() -> None:
    api, stubber = _stubbed()
    first = {"Id": "errors", "Label": "Errors", "Timestamps": [START], "Values": [1.0]}
    second = {"Id": "errors", "Label": "Errors", "Timestamps": [END], "Values": [2.0]}
    expected = {
        "MetricDataQueries": [QUERY],
        "StartTime": START,
        "EndTime": END,
        "ScanBy": "TimestampAscending",
    }
    stubber.add_response(
        "get_metric_data", {"MetricDataResults": [first], "NextToken": "page-2"}, expected
    )
    stubber.add_response(
        "get_metric_data", {"MetricDataResults": [second]}, expected | {"NextToken": "page-2"}
    )
    with stubber:
        results = api.get_metric_data([QUERY], START, END)
    assert [r["Values"] for r in results] == [[1.0], [2.0]]


@pytest.mark.parametrize("code", sorted(THROTTLING_CODES))
def test_throttling_is_aws_throttled(code: str) -> None:
    api, stubber = _stubbed()
    stubber.add_client_error("get_metric_data", code, "Rate exceeded")
    stubber.add_client_error("describe_alarms", code, "Rate exceeded")
    with stubber:
        with pytest.raises(AwsThrottled, match="CloudWatch throttled GetMetricData"):
            api.get_metric_data([QUERY], START, END)
        with pytest.raises(AwsThrottled, match="CloudWatch throttled DescribeAlarms"):
            api.alarm_states(["brand-api-prod-errors"])


def test_any_other_error_propagates() -> None:
    api, stubber = _stubbed()
    stubber.add_client_error("get_metric_data", "InternalServiceError", http_status_code=500)
    with stubber, pytest.raises(ClientError):
        api.get_metric_data([QUERY], START, END)
