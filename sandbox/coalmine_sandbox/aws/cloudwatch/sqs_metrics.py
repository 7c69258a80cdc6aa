"""AWS/SQS ApproximateNumberOfMessagesVisible for the sandbox (the one SQS metric an alarm of the
template watches: CleanupFailedAlarm on CleanupDeadLetterQueue).

SQS publishes its queue metrics to CloudWatch once a minute, dimension QueueName. At each minute
boundary T the sampler reads every queue's ApproximateNumberOfMessages through the public SQS API
and records it into the MetricStore for the minute [T-60, T) (unit Count), so a per-minute
Maximum is the queue's depth at that minute's end; the store's publish delay applies as for
Lambda's metrics. Other SQS metrics are not emulated.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .metrics import MetricStore

NAMESPACE = "AWS/SQS"
METRIC = "ApproximateNumberOfMessagesVisible"


class SqsMetricSampler:
    def __init__(self, store: MetricStore, sqs_client: Any) -> None:
        self.store = store
        self.sqs = sqs_client

    def sample(self, boundary: datetime) -> None:
        """Record each queue's visible messages for the minute ending at `boundary`."""
        minute_start = boundary - timedelta(minutes=1)
        for page in self.sqs.get_paginator("list_queues").paginate():
            for url in page.get("QueueUrls", []):
                attributes = self.sqs.get_queue_attributes(
                    QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
                )["Attributes"]
                self.store.record(
                    namespace=NAMESPACE,
                    metric=METRIC,
                    dimensions={"QueueName": url.rstrip("/").rsplit("/", 1)[-1]},
                    timestamp=minute_start,
                    value=float(attributes.get("ApproximateNumberOfMessages", 0)),
                    unit="Count",
                )
