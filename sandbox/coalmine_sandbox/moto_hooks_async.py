"""Seams for Lambda's asynchronous invocations (listed in moto_hooks.HOOKS / READS, so
tests/sandbox/test_moto_hooks.py covers them):

- S3 notifications to a function or alias (`moto.s3.notifications._invoke_awslambda`, which runs
  the function synchronously and swallows every error) go to the async queue instead, with the
  target ARN as configured (an alias ARN keeps its weights: each attempt is routed afresh).
- The S3 event record gains what AWS puts in it and moto leaves out: `object.versionId` (versioned
  buckets) and `object.sequencer` (hex, increasing per bucket), which idempotency keys rely on.
- `Invoke(InvocationType=Event)` (moto_hooks._backend_invoke calls `accept_event`): 202, queued.
- Event invoke configs are kept per qualifier, as AWS does (moto keeps one list per function and
  answers every Get with the first one put, whatever the qualifier): Put/Update/Get/Delete/List
  FunctionEventInvokeConfig honour `Qualifier` (or `name:qualifier`), a Get of a qualifier with
  none is ResourceNotFoundException, and an invocation uses its own qualifier's config ($LATEST
  for an unqualified one) or, with none, Lambda's defaults (an alias does not inherit the
  function's unqualified config).
- The async queue delivers destination records to SQS through moto's SQS backend (real messages
  a test can receive). Receiving them is linear again: moto checks each message's retention by
  computing every attribute of its queue (counting all its messages), which made draining a
  queue of N records cost N^2; the check reads the retention period alone, same answer.
"""

from __future__ import annotations

import importlib
import itertools
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from .destinations import AsyncConfig, split_function, unqualified

S3N = "moto.s3.notifications"
LR = "LambdaResponse"
HOOKS: tuple[tuple[str, str], ...] = (
    (S3N, "_invoke_awslambda"),
    (S3N, "_get_s3_event"),
    ("moto.awslambda.responses", f"{LR}.put_function_event_invoke_config"),
    ("moto.awslambda.responses", f"{LR}.update_function_event_invoke_config"),
    ("moto.awslambda.responses", f"{LR}.get_function_event_invoke_config"),
    ("moto.awslambda.responses", f"{LR}.delete_function_event_invoke_config"),
    ("moto.awslambda.responses", f"{LR}.list_function_event_invoke_configs"),
    ("moto.sqs.models", "SQSBackend.is_message_valid_based_on_retention_period"),
)
READS: tuple[tuple[str, str], ...] = (
    ("moto.core.utils", "unix_time"),
    ("moto.awslambda.models", "EventInvokeConfig"),
    ("moto.awslambda.exceptions", "UnknownEventConfig"),
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

    return {
        "_invoke_awslambda": invoke_awslambda,
        "_get_s3_event": s3_event,
        f"{LR}.put_function_event_invoke_config": _invoke_config_put(active, update=False),
        f"{LR}.update_function_event_invoke_config": _invoke_config_put(active, update=True),
        f"{LR}.get_function_event_invoke_config": _invoke_config_get(active),
        f"{LR}.delete_function_event_invoke_config": _invoke_config_delete(active),
        f"{LR}.list_function_event_invoke_configs": _invoke_config_list(active),
        "SQSBackend.is_message_valid_based_on_retention_period": _retention_check,
    }


def _retention_check(original: Any) -> Any:
    def valid(backend: Any, queue_name: str, message: Any) -> bool:
        retention = int(backend.get_queue(queue_name).message_retention_period)
        return retention + message.sent_timestamp / 1000 > _m("moto.core.utils").unix_time()

    return valid


# ---------------------------------------------------------------------- event invoke configs
_CONFIGS = "_coalmine_event_invoke_configs"  # on moto's $LATEST function: {qualifier: response}
_FIELDS = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")


def _target(response: Any) -> tuple[Any, str, str]:
    """(moto's function, qualifier, qualified ARN) a request names; 404 as AWS for a missing
    function, version or alias."""
    path = response.path.rsplit("/event-invoke-config", 1)[0]
    name, qualifier = split_function(unquote(path.rsplit("/", 1)[-1]))
    qualifier = (response.querystring.get("Qualifier") or [qualifier])[0] or "$LATEST"
    backend = response.backend
    if qualifier != "$LATEST" and not qualifier.isdigit():
        backend.get_alias(qualifier, name)
    else:
        backend.get_function(name, qualifier)
    fn = backend.get_function(name)
    return fn, qualifier, f"{unqualified(fn.function_arn)}:{qualifier}"


def _configs(fn: Any) -> dict[str, dict[str, Any]]:
    found = getattr(fn, _CONFIGS, None)
    if found is None:
        found = {}
        setattr(fn, _CONFIGS, found)
    return found


def _invoke_config_put(active: Callable[[], Any], update: bool) -> Callable[[Any], Any]:
    """Put replaces the qualifier's config (unset fields removed); Update changes only the
    fields given (AWS: "To set one option without affecting existing settings ... use Update")."""

    def factory(original: Any) -> Any:
        def handle(self: Any) -> Any:
            fn, qualifier, arn = _target(self)
            body = {k: v for k, v in (self.json_body or {}).items() if k in _FIELDS}
            configs = _configs(fn)
            merged = {**configs.get(qualifier, {}), **body} if update else body
            config = {k: merged[k] for k in _FIELDS if k in merged}
            _m("moto.awslambda.models").EventInvokeConfig(arn, "", config)  # moto's validation
            now = active().clock.now().timestamp()
            configs[qualifier] = {"FunctionArn": arn, "LastModified": now, **config}
            return json.dumps(configs[qualifier])

        return handle

    return factory


def _invoke_config_get(active: Callable[[], Any]) -> Callable[[Any], Any]:
    def factory(original: Any) -> Any:
        def handle(self: Any) -> Any:
            fn, qualifier, arn = _target(self)
            found = _configs(fn).get(qualifier)
            if found is None:
                raise _m("moto.awslambda.exceptions").UnknownEventConfig(arn)
            return json.dumps(found)

        return handle

    return factory


def _invoke_config_delete(active: Callable[[], Any]) -> Callable[[Any], Any]:
    def factory(original: Any) -> Any:
        def handle(self: Any) -> Any:
            fn, qualifier, arn = _target(self)
            if _configs(fn).pop(qualifier, None) is None:
                raise _m("moto.awslambda.exceptions").UnknownEventConfig(arn)
            return 204, {"status": 204}, "{}"

        return handle

    return factory


def _invoke_config_list(active: Callable[[], Any]) -> Callable[[Any], Any]:
    def factory(original: Any) -> Any:
        def handle(self: Any) -> Any:
            name, _ = split_function(unquote(self.path.rsplit("/", 3)[1]))
            fn = self.backend.get_function(name)
            configs = list(_configs(fn).values())
            return json.dumps({"FunctionEventInvokeConfigs": configs})

        return handle

    return factory


def config_lookup(hooks: Any) -> Callable[[str], AsyncConfig | None]:
    """The event invoke config an invocation of `function` (name, `name:qualifier` or ARN) runs
    with: its qualifier's own ($LATEST if unqualified); None: Lambda's defaults."""

    def lookup(function: str) -> AsyncConfig | None:
        name, qualifier = split_function(function)
        configs = _configs(hooks.backend().get_function(name))
        found = configs.get(qualifier or "$LATEST")
        return AsyncConfig.from_api(found) if found is not None else None

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
