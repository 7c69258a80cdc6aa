"""One Lambda invocation's shapes: what the runtime needs of a function version, the context a
handler gets, what an invocation returns, and Lambda's error payloads (a handler's exception, a
timeout)."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .process_hooks import InvocationState


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """What the runtime needs of one function version (the seams build it from moto)."""

    function_name: str
    version: str  # "$LATEST" or "1", "2", ...
    handler: str
    environment: Mapping[str, str]
    code_sha256: str
    code: Callable[[], bytes]  # the zip, read only for code the template did not provide
    timeout: float = 3.0
    memory_size: int = 128
    runtime: str = "python3.12"
    function_arn: str = ""  # unqualified
    layers: tuple[str, ...] = ()  # layer version ARNs, in the function's order


@dataclass(frozen=True, slots=True)
class Invocation:
    executed_version: str
    payload: Any
    error: bool
    duration_ms: float
    request_id: str = ""
    logs: str = ""
    throttled: bool = False  # refused for concurrency: the handler did not run
    spillover: bool = False  # beyond its alias's provisioned environments: a cold start


@dataclass
class LambdaContext:
    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    _deadline_ms: float = 0.0
    _state: InvocationState | None = None
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        used = self._state.elapsed_ms() if self._state else 0.0
        return max(0, int(self._deadline_ms - used))


def error_payload(exc: BaseException) -> dict[str, Any]:
    """Lambda's error shape for an exception raised by a Python handler."""
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def timeout_payload(at: datetime, timeout_seconds: float) -> dict[str, Any]:
    """Lambda's error when a handler runs past the function's timeout."""
    return {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"{at:%Y-%m-%dT%H:%M:%S.%fZ} Task timed out after "
        f"{float(timeout_seconds):.2f} seconds",
    }
