"""SNS helpers for tests: see what a topic delivers by subscribing an SQS queue to it (moto
delivers a topic's messages to its SQS subscribers, wrapped in SNS's JSON envelope)."""

from __future__ import annotations

import json
from typing import Any


def subscribe_queue(sns: Any, sqs: Any, topic_arn: str, queue_name: str) -> str:
    """Create queue `queue_name`, subscribe it to the topic (public APIs); its URL."""
    url: str = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return url


def received(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Receive (and delete) every message in the queue: the SNS envelopes, parsed."""
    envelopes: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not messages:
            return envelopes
        for message in messages:
            envelopes.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
