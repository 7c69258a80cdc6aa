"""AWS/SQS ApproximateNumberOfMessagesVisible for the sandbox (the one SQS metric an alarm of the
template watches: CleanupFailedAlarm on CleanupDeadLetterQueue).

SQS publishes its queue metrics to CloudWatch once a minute, dimension QueueName. At each minute
boundary T the sampler reads the queue's ApproximateNumberOfMessages through the public SQS API
and records it into the MetricStore for the minute [T-60, T) (unit Count), so a per-minute
Maximum is the queue's depth at that minute's end; the store's publish delay applies as for
Lambda's metrics. To keep long simulations cheap only the queues some metric alarm watches
(namespace AWS/SQS, dimension QueueName) are sampled: a GetMetricData on another queue sees no
data. Other SQS metrics are not emulated.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from .metrics import MetricStore

NAMESPACE = "AWS/SQS"
METRIC = "ApproximateNumberOfMessagesVisible"


def watched_queues(alarms: Iterable[dict[str, Any]]) -> set[str]:
    """Names of the queues whose depth a metric alarm (or a MetricStat of one) watches."""
    metrics: list[dict[str, Any]] = []
    for alarm in alarms:
        metrics.append(alarm)
        metrics.extend(
            q["MetricStat"]["Metric"] for q in alarm.get("Metrics") or [] if "MetricStat" in q
        )
    return {
        d["Value"]
        for m in metrics
        if m.get("Namespace") == NAMESPACE and m.get("MetricName") == METRIC
        for d in m.get("Dimensions") or []
        if d.get("Name") == "QueueName"
    }


class SqsMetricSampler:
    def __init__(self, store: MetricStore, sqs_client: Any) -> None:
        self.store = store
        self.sqs = sqs_client
        self._urls: dict[str, str] = {}

    def sample(self, boundary: datetime, queue_names: Iterable[str]) -> None:
        """Record each queue's visible messages for the minute ending at `boundary`."""
        minute_start = boundary - timedelta(minutes=1)
        for name in sorted(queue_names):
            url = self._urls.get(name)
            if url is None:
                try:
                    url = self._urls[name] = self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
                except self.sqs.exceptions.QueueDoesNotExist:
                    continue  # no queue, no metric
            try:
                attributes = self.sqs.get_queue_attributes(
                    QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
                )["Attributes"]
            except self.sqs.exceptions.QueueDoesNotExist:
                self._urls.pop(name, None)
                continue
            self.store.record(
                namespace=NAMESPACE,
                metric=METRIC,
                dimensions={"QueueName": name},
                timestamp=minute_start,
                value=float(attributes.get("ApproximateNumberOfMessages", 0)),
                unit="Count",
            )
