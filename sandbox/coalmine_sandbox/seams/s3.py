"""S3 event notifications as AWS sends them:

- A notification to a function or alias (`moto.s3.notifications._invoke_awslambda`, which runs
  the function synchronously and swallows every error) goes to the async queue instead, with the
  target ARN as configured (an alias ARN keeps its weights: each attempt is routed afresh).
- The event record gains what AWS puts in it and moto leaves out: `object.versionId` (versioned
  buckets) and `object.sequencer` (hex, increasing per bucket), which idempotency keys rely on.
- PutObject answers injected API faults (``sb.faults.inject_api("PutObject", service="s3")``):
  throttling is S3's ``SlowDown``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from .hooks import active, installed
from .internals import module


def _invoke_awslambda(original: Any) -> Any:
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


def _s3_event(original: Any) -> Any:
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


def _put_object(original: Any) -> Any:
    """PutObject answers an injected API fault (aws/faults.py) as S3 does (S3's responses do not
    pass through the shared ``call_action`` that core.py hooks): an S3 error document."""

    def put(self: Any, query: dict[str, Any], key_name: str) -> Any:
        hooks = installed()
        faults = hooks.faults if hooks is not None else None
        plain = not query and "x-amz-copy-source" not in self.headers
        error = faults.on_api("s3", "PutObject") if faults is not None and plain else None
        if error is not None:
            raise module("moto.s3.exceptions").S3ClientError(*error)
        return original(self, query, key_name)

    return put


FACTORIES: dict[str, Callable[[Any], Any]] = {
    "_invoke_awslambda": _invoke_awslambda,
    "_get_s3_event": _s3_event,
    "S3Response._key_response_put": _put_object,
}
