"""SQS as the async queue's destinations need it: destination records delivered through moto's
SQS backend (real messages a test can receive), read back without receiving them, and receiving
linear again: moto checks each message's retention by computing every attribute of its queue
(counting all its messages), which made draining a queue of N records cost N^2; the check reads
the retention period alone, same answer.

moto computes a queue's attributes as a whole, counting every message it holds (visible, in
flight, delayed), wherever one attribute is read; two more reads are kept flat (same answers):
- SendMessage reads only `ContentBasedDeduplication` (FIFO queues list it, standard queues do
  not), so a queue of N destination records cost N^2 to fill. While a message is sent to a queue
  (with no event source mapping, which would run more code in that call), its attributes are
  that one value.
- GetQueueAttributes computed them all up to three times per attribute asked for; during the call
  they are computed once (simulated time does not move within a call: same counts).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .internals import module

_calls = threading.local()  # .sending: the queue a SendMessage adds to; .reading: (queue, attrs)


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


def _sending(original: Any) -> Any:
    def send(backend: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        queue = backend.get_queue(queue_name)
        if queue.lambda_event_source_mappings:  # the send runs the mapping's function: as moto
            return original(backend, queue_name, *args, **kwargs)
        previous, _calls.sending = getattr(_calls, "sending", None), queue
        try:
            return original(backend, queue_name, *args, **kwargs)
        finally:
            _calls.sending = previous

    return send


def _reading(original: Any) -> Any:
    def read(backend: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        previous, _calls.reading = getattr(_calls, "reading", None), [backend.get_queue(queue_name)]
        try:
            return original(backend, queue_name, *args, **kwargs)
        finally:
            _calls.reading = previous

    return read


def _attributes(original: Any) -> Any:
    def attributes(queue: Any) -> dict[str, Any]:
        if getattr(_calls, "sending", None) is queue:
            if not queue.fifo_queue:  # moto lists ContentBasedDeduplication for FIFO queues only
                return {}
            value = queue.content_based_deduplication
            return {
                "ContentBasedDeduplication": str(value).lower()
                if isinstance(value, bool)
                else value
            }
        reading = getattr(_calls, "reading", None)
        if reading is None or reading[0] is not queue:
            return original.fget(queue)
        if len(reading) == 1:
            reading.append(original.fget(queue))
        return dict(reading[1])

    return property(attributes)


FACTORIES: dict[str, Callable[[Any], Any]] = {
    "SQSBackend.is_message_valid_based_on_retention_period": _retention_check,
    "SQSBackend.send_message": _sending,
    "SQSBackend.get_queue_attributes": _reading,
    "Queue.attributes": _attributes,
}
