"""Lambda destinations for asynchronous invocations: the event invoke config the queue obeys, and
the invocation record Lambda sends to `OnSuccess` / `OnFailure` (AWS Lambda Developer Guide,
"Capturing records of Lambda asynchronous invocations"):

    {"version": "1.0", "timestamp": "2030-01-01T00:03:00.000Z",
     "requestContext": {"requestId": "...", "functionArn": "arn:...:function:F:3",
                        "condition": "RetriesExhausted", "approximateInvokeCount": 3},
     "requestPayload": {...the event...},
     "responseContext": {"statusCode": 200, "executedVersion": "3",
                         "functionError": "Unhandled"},
     "responsePayload": {"errorMessage": "...", "errorType": "...", ...}}

`functionArn` carries the version that ran the last attempt; `condition` is `Success`,
`RetriesExhausted` or `EventAgeExceeded`; `functionError` is present only on an error. An event
that expired before any attempt has no `responseContext` / `responsePayload`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .invocation import Invocation

DEFAULT_MAX_EVENT_AGE_SECONDS = 21_600


@dataclass(frozen=True)
class AsyncConfig:
    """A function's event invoke config (PutFunctionEventInvokeConfig), Lambda's defaults."""

    max_retries: int = 2
    max_event_age_seconds: int = DEFAULT_MAX_EVENT_AGE_SECONDS
    on_success: str | None = None  # destination ARN
    on_failure: str | None = None

    @classmethod
    def from_api(cls, config: dict[str, Any]) -> AsyncConfig:
        """From the GetFunctionEventInvokeConfig response shape."""
        dest = config.get("DestinationConfig") or {}
        return cls(
            max_retries=int(config.get("MaximumRetryAttempts", 2)),
            max_event_age_seconds=int(
                config.get("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE_SECONDS)
            ),
            on_success=(dest.get("OnSuccess") or {}).get("Destination") or None,
            on_failure=(dest.get("OnFailure") or {}).get("Destination") or None,
        )


def record(
    *,
    function_arn: str,
    request_id: str,
    condition: str,
    invoke_count: int,
    event: Any,
    last: Invocation | None,
    timestamp: datetime,
) -> str:
    """The invocation record as Lambda sends it (JSON text, the SQS message body)."""
    version = last.executed_version if last is not None else None
    arn = f"{function_arn}:{version}" if version else function_arn
    document: dict[str, Any] = {
        "version": "1.0",
        "timestamp": timestamp.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{timestamp.microsecond // 1000:03d}Z",
        "requestContext": {
            "requestId": request_id,
            "functionArn": arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "requestPayload": event,
    }
    if last is not None:
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": version}
        if last.error:
            response["functionError"] = "Unhandled"
        document["responseContext"] = response
        document["responsePayload"] = last.payload
    return json.dumps(document)


def unqualified(function_arn: str) -> str:
    """arn:aws:lambda:r:a:function:F[:q] -> arn:aws:lambda:r:a:function:F"""
    return ":".join(function_arn.split(":")[:7])
