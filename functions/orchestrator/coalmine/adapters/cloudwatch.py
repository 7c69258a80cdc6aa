"""CloudWatch: alarm states (issue 4 adds GetMetricData for the version-vs-version analysis)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from coalmine.exceptions import AwsThrottled

THROTTLING_CODES = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException"})
_PAGE = 100  # DescribeAlarms takes at most 100 AlarmNames


@cache
def default_client() -> Any:
    return boto3.client("cloudwatch", config=Config(retries={"mode": "standard"}))


class CloudWatchApi:
    def __init__(self, client: Any | None = None) -> None:
        self.client = client if client is not None else default_client()

    def alarm_states(self, names: Sequence[str]) -> dict[str, str]:
        """{alarm name: StateValue} for the named metric and composite alarms that exist."""
        states: dict[str, str] = {}
        for start in range(0, len(names), _PAGE):
            chunk = list(names[start : start + _PAGE])
            with _translated():
                pages = self.client.get_paginator("describe_alarms").paginate(
                    AlarmNames=chunk, AlarmTypes=["MetricAlarm", "CompositeAlarm"]
                )
                for page in pages:
                    for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
                        states[alarm["AlarmName"]] = alarm["StateValue"]
        return states


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in THROTTLING_CODES:
            raise AwsThrottled(f"CloudWatch throttled DescribeAlarms: {error}") from error
        raise
