"""CloudWatch: alarm states, and the one GetMetricData call per analysis tick."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.config import Config

from coalmine.adapters.errors import throttling_translated

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

_PAGE = 100  # DescribeAlarms takes at most 100 AlarmNames


@cache
def default_client() -> CloudWatchClient:
    return boto3.client("cloudwatch", config=Config(retries={"mode": "standard"}))


class CloudWatchApi:
    def __init__(self, client: CloudWatchClient | None = None) -> None:
        self.client = client if client is not None else default_client()

    def alarm_states(self, names: Sequence[str]) -> dict[str, str]:
        """{alarm name: StateValue} for the named metric and composite alarms that exist."""
        return {name: state for name, (state, _) in self.alarm_details(names).items()}

    def alarm_details(self, names: Sequence[str]) -> dict[str, tuple[str, datetime | None]]:
        """{alarm name: (StateValue, when that state began)} for the named alarms that exist
        (StateTransitionedTimestamp, else StateUpdatedTimestamp)."""
        details: dict[str, tuple[str, datetime | None]] = {}
        for start in range(0, len(names), _PAGE):
            chunk = list(names[start : start + _PAGE])
            with throttling_translated("CloudWatch throttled DescribeAlarms"):
                pages = self.client.get_paginator("describe_alarms").paginate(
                    AlarmNames=chunk, AlarmTypes=["MetricAlarm", "CompositeAlarm"]
                )
                for page in pages:
                    alarms: list[Any] = [*page.get("MetricAlarms", []),
                                         *page.get("CompositeAlarms", [])]  # fmt: skip
                    for alarm in alarms:
                        since = alarm.get("StateTransitionedTimestamp") or alarm.get(
                            "StateUpdatedTimestamp"
                        )
                        details[alarm["AlarmName"]] = (alarm["StateValue"], since)
        return details

    def get_metric_data(
        self, queries: Sequence[dict[str, Any]], start: datetime, end: datetime
    ) -> list[dict[str, Any]]:
        """Every MetricDataResult of one GetMetricData request (its NextToken pages joined)."""
        results: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "MetricDataQueries": list(queries),
            "StartTime": start,
            "EndTime": end,
            "ScanBy": "TimestampAscending",
        }
        while True:
            with throttling_translated("CloudWatch throttled GetMetricData"):
                page = self.client.get_metric_data(**kwargs)
            results.extend(cast(list[dict[str, Any]], page.get("MetricDataResults", [])))
            token = page.get("NextToken")
            if not token:
                return results
            kwargs["NextToken"] = token
