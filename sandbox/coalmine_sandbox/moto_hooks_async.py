"""Seams for Lambda's asynchronous invocations (listed in moto_hooks.HOOKS / READS, so
tests/sandbox/test_moto_hooks.py covers them):

- S3 notifications to a function or alias (`moto.s3.notifications._invoke_awslambda`, which runs
  the function synchronously and swallows every error) go to the async queue instead, with the
  target ARN as configured (an alias ARN keeps its weights: each attempt is routed afresh).
- The S3 event record gains what AWS puts in it and moto leaves out: `object.versionId` (versioned
  buckets) and `object.sequencer` (hex, increasing per bucket), which idempotency keys rely on.
- `Invoke(InvocationType=Event)` (moto_hooks._backend_invoke calls `accept_event`): 202, queued.
- The async queue reads each function's event invoke config from moto and delivers destination
  records to SQS through moto's SQS backend (real messages a test can receive).
"""

from __future__ import annotations

import importlib
import itertools
import json
from collections.abc import Callable
from typing import Any

from .destinations import AsyncConfig, split_function

S3N = "moto.s3.notifications"
HOOKS: tuple[tuple[str, str], ...] = (
    (S3N, "_invoke_awslambda"),
    (S3N, "_get_s3_event"),
)
READS: tuple[tuple[str, str], ...] = (
    ("moto.awslambda.models", "EventInvokeConfig.response"),
    ("moto.sqs.models", "sqs_backends"),
    ("moto.sqs.models", "SQSBackend.send_message"),
    ("moto.sqs.models", "SQSBackend.get_queue"),
)


def _m(name: str) -> Any:
    return importlib.import_module(name)


def factories(active: Callable[[], Any]) -> dict[str, Callable[[Any], Any]]:
    """The replacement for each name in HOOKS; `active()` is the installed MotoHooks."""

    def invoke_awslambda(original: Any) -> Any:
        def submit(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
            hooks = active()
            if hooks.async_invoker is None:
                return original(account_id, event_body, fn_arn, region_name)
            try:
                hooks.backend().get_function(fn_arn)  # S3 refuses no event; Lambda would
            except Exception as exc:  # keep it visible (moto swallows it)
                hooks.event_errors.append(exc)
                return None
            hooks.async_invoker.submit(fn_arn, event_body)
            return None

        return submit

    def s3_event(original: Any) -> Any:
        sequencers = itertools.count(1)

        def build(event_name: Any, bucket: Any, key: Any, notification_id: str) -> Any:
            event = original(event_name, bucket, key, notification_id)
            obj = event["Records"][0]["s3"]["object"]
            version = getattr(key, "version_id", None)
            if version and version != "null":
                obj["versionId"] = version
            obj["sequencer"] = f"{next(sequencers):018X}"
            return event

        return build

    return {"_invoke_awslambda": invoke_awslambda, "_get_s3_event": s3_event}


def config_lookup(hooks: Any) -> Callable[[str], AsyncConfig | None]:
    """The event invoke config of a function (moto keeps them per function, whatever the
    qualifier they were put with, and answers Get with the FIRST one put: the sandbox applies
    the LAST one put, to every qualifier)."""

    def lookup(function: str) -> AsyncConfig | None:
        name, _ = split_function(function)
        configs = hooks.backend().get_function(name).event_invoke_config
        return AsyncConfig.from_api(configs[-1].response()) if configs else None

    return lookup


def deliver(account_id: str, region: str) -> Callable[[str, str], None]:
    """Send a destination record; only SQS destinations are emulated (others raise: counted as
    DestinationDeliveryFailures)."""

    def send(destination: str, body: str) -> None:
        parts = destination.split(":")
        if parts[2] != "sqs":
            raise NotImplementedError(f"sandbox destinations are SQS only: {destination}")
        backend = _m("moto.sqs.models").sqs_backends[parts[4]][parts[3]]
        backend.send_message(parts[5], body)

    return send


def function_arn(account_id: str, region: str) -> Callable[[str], str]:
    def arn(function: str) -> str:
        name, _ = split_function(function)
        return f"arn:aws:lambda:{region}:{account_id}:function:{name}"

    return arn


def accept_event(backend: Any, hooks: Any, name: str, qualifier: str | None, body: Any) -> bytes:
    """Invoke(InvocationType=Event): check the target exists (404 as AWS), queue it, 202."""
    if qualifier and qualifier != "$LATEST" and not qualifier.isdigit():
        backend.get_alias(qualifier, name)
    else:
        backend.get_function(name, qualifier)
    event = json.loads(body) if body else {}
    hooks.async_invoker.submit(f"{name}:{qualifier}" if qualifier else name, event)
    return b""


def peek_messages(queue_arn: str) -> list[str]:
    """The bodies of every message a queue holds, without receiving them (the rehearsal's
    per-version breakdown; tests receive the messages through the SQS API instead)."""
    parts = queue_arn.split(":")
    queue = _m("moto.sqs.models").sqs_backends[parts[4]][parts[3]].get_queue(parts[5])
    return [message.body for message in queue.messages]
