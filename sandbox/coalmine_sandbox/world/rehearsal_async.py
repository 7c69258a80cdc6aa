"""The asynchronous part of a rehearsal's result, read back after the run has drained (every retry
played out): what a user of the deployed sample could read from AWS.

- `sent`: uploads the traffic made (PutObject calls that succeeded).
- `succeeded` / `deadLettered`: messages on the OnSuccess / OnFailure destination queues
  (SQS `GetQueueAttributes`, visible + in flight); `lost` = sent - succeeded - deadLettered.
- `async`: the alias's AsyncEventsReceived / AsyncEventsDropped sums and AsyncEventAge
  (average, maximum) from CloudWatch; per version (`asyncByVersion`): invocations and errors
  (every attempt, ExecutedVersion) and the destination records whose `executedVersion` it is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from ..sandbox import Sandbox
from ..seams import sqs
from .samples import Sample


def figures(
    sb: Sandbox, sample: Sample, versions: Iterable[str], first: datetime, sent: int
) -> dict[str, Any]:
    if sample.success_queue is None or sample.failure_queue is None:
        raise ValueError(f"{sample.function_name}: not an asynchronous sample")
    succeeded = _queue_depth(sb, sample.success_queue)
    dead = _queue_depth(sb, sample.failure_queue)
    by_version: dict[str, dict[str, int]] = {
        v: {"onSuccess": 0, "onFailure": 0, "retriesExhausted": 0, "eventAgeExceeded": 0}
        for v in versions
    }
    for queue, field in ((sample.success_queue, "onSuccess"), (sample.failure_queue, "onFailure")):
        for body in sqs.peek_messages(sb.stack.arn(queue)):
            record = json.loads(body)
            version = (record.get("responseContext") or {}).get("executedVersion") or "none"
            row = by_version.setdefault(
                version,
                {"onSuccess": 0, "onFailure": 0, "retriesExhausted": 0, "eventAgeExceeded": 0},
            )
            row[field] += 1
            condition = record["requestContext"]["condition"]
            if condition == "RetriesExhausted":
                row["retriesExhausted"] += 1
            elif condition == "EventAgeExceeded":
                row["eventAgeExceeded"] += 1
    return {
        "sent": sent,
        "succeeded": succeeded,
        "deadLettered": dead,
        "lost": sent - succeeded - dead,
        "pending": sb.async_lambda.pending if sb.async_lambda else 0,
        "async": _alias_metrics(sb, sample, first),
        "asyncByVersion": by_version,
    }


def _queue_depth(sb: Sandbox, logical_id: str) -> int:
    attributes = sb.client("sqs").get_queue_attributes(
        QueueUrl=sb.stack[logical_id],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def _alias_metrics(sb: Sandbox, sample: Sample, first: datetime) -> dict[str, float]:
    cloudwatch = sb.client("cloudwatch")
    dimensions = [
        {"Name": "FunctionName", "Value": sample.function_name},
        {"Name": "Resource", "Value": f"{sample.function_name}:{sample.alias}"},
    ]
    out: dict[str, float] = {}
    queries = (
        ("AsyncEventsReceived", "Sum", "asyncEventsReceived"),
        ("AsyncEventsDropped", "Sum", "asyncEventsDropped"),
        ("AsyncEventAge", "Average", "asyncEventAgeAverageMs"),
        ("AsyncEventAge", "Maximum", "asyncEventAgeMaximumMs"),
        ("DestinationDeliveryFailures", "Sum", "destinationDeliveryFailures"),
    )
    for metric, statistic, name in queries:
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/Lambda",
            MetricName=metric,
            Dimensions=dimensions,
            StartTime=first - timedelta(minutes=1),
            EndTime=sb.clock.now() + timedelta(minutes=1),
            Period=60,
            Statistics=[statistic],
        )["Datapoints"]
        values = [p[statistic] for p in points]
        if statistic == "Sum":
            out[name] = int(sum(values))
        elif statistic == "Maximum":
            out[name] = round(max(values), 1) if values else 0.0
        else:  # the average over the run, weighted by each minute's samples
            samples = _sample_counts(sb, sample, first, dimensions)
            total = sum(samples.get(p["Timestamp"], 0) * p[statistic] for p in points)
            count = sum(samples.get(p["Timestamp"], 0) for p in points)
            out[name] = round(total / count, 1) if count else 0.0
    return out


def _sample_counts(
    sb: Sandbox, sample: Sample, first: datetime, dimensions: list[dict[str, str]]
) -> dict[Any, float]:
    points = sb.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="AsyncEventAge",
        Dimensions=dimensions,
        StartTime=first - timedelta(minutes=1),
        EndTime=sb.clock.now() + timedelta(minutes=1),
        Period=60,
        Statistics=["SampleCount"],
    )["Datapoints"]
    return {p["Timestamp"]: p["SampleCount"] for p in points}
