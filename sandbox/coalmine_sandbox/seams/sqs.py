"""SQS as the async queue's destinations need it: destination records delivered through moto's
SQS backend (real messages a test can receive), read back without receiving them, and receiving
linear again: moto checks each message's retention by computing every attribute of its queue
(counting all its messages), which made draining a queue of N records cost N^2; the check reads
the retention period alone, same answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .internals import module


def _retention_check(original: Any) -> Any:
    def valid(backend: Any, queue_name: str, message: Any) -> bool:
        retention = int(backend.get_queue(queue_name).message_retention_period)
        return retention + message.sent_timestamp / 1000 > module("moto.core.utils").unix_time()

    return valid


def deliver(account_id: str, region: str) -> Callable[[str, str], None]:
    """Send a destination record; only SQS destinations are emulated (others raise: counted as
    DestinationDeliveryFailures)."""

    def send(destination: str, body: str) -> None:
        parts = destination.split(":")
        if parts[2] != "sqs":
            raise NotImplementedError(f"sandbox destinations are SQS only: {destination}")
        backend = module("moto.sqs.models").sqs_backends[parts[4]][parts[3]]
        backend.send_message(parts[5], body)

    return send


def peek_messages(queue_arn: str) -> list[str]:
    """The bodies of every message a queue holds, without receiving them (the rehearsal's
    per-version breakdown; tests receive the messages through the SQS API instead)."""
    parts = queue_arn.split(":")
    queue = module("moto.sqs.models").sqs_backends[parts[4]][parts[3]].get_queue(parts[5])
    return [message.body for message in queue.messages]


FACTORIES: dict[str, Callable[[Any], Any]] = {
    "SQSBackend.is_message_valid_based_on_retention_period": _retention_check,
}
