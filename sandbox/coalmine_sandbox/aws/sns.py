"""SNS: EventBridge's SNS targets (EventTopicPublisher: delivered only when the topic policy and
the topic's KMS key let EventBridge publish), and helpers for tests: see what a topic delivers by
subscribing an SQS queue to it (moto delivers a topic's messages to its SQS subscribers, wrapped
in SNS's JSON envelope)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .cloudwatch.alarm_actions import policy_denial, topic_key_refusal


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


EVENTS = "events.amazonaws.com"


@dataclass(frozen=True, slots=True)
class UndeliveredEvent:
    rule_arn: str
    topic_arn: str
    reason: str


class EventTopicPublisher:
    """EventBridge's SNS targets: a matched event's input published to the topic, as AWS does
    it, only if the topic policy lets events.amazonaws.com sns:Publish (the request carries
    aws:SourceArn = the rule and aws:SourceAccount) and, for an encrypted topic, the key policy
    lets it kms:GenerateDataKey* and kms:Decrypt (its KMS requests carry no source condition
    keys). An event refused is dropped (EventBridge counts a failed invocation) and kept in
    `undelivered` with the reason."""

    def __init__(self, sns: Any, kms: Any, account_id: str) -> None:
        self.sns, self.kms, self.account_id = sns, kms, account_id
        self.delivered: list[tuple[str, str]] = []  # (rule ARN, topic ARN)
        self.undelivered: list[UndeliveredEvent] = []

    def publish(self, topic_arn: str, message: str, rule_arn: str) -> bool:
        why = self.refusal(topic_arn, rule_arn)
        if why is not None:
            self.undelivered.append(UndeliveredEvent(rule_arn, topic_arn, why))
            return False
        self.sns.publish(TopicArn=topic_arn, Message=message)
        self.delivered.append((rule_arn, topic_arn))
        return True

    def refusal(self, topic_arn: str, rule_arn: str) -> str | None:
        try:
            attributes = self.sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]
        except self.sns.exceptions.NotFoundException:
            return "the topic does not exist"
        policy = json.loads(attributes.get("Policy") or "{}")
        context = {"aws:SourceArn": rule_arn, "aws:SourceAccount": self.account_id}
        denied = policy_denial(policy, EVENTS, ["sns:Publish"], context, "the topic policy")
        return denied or topic_key_refusal(self.sns, self.kms, topic_arn, {}, EVENTS)
