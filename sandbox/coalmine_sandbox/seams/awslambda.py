"""Lambda's Invoke, run by the sandbox's runtime: the real handler of the version an alias routes
to (moto would start a container), with injected invocation faults, the Task's simulated
duration noted for Step Functions, and `Invoke(InvocationType=Event)` queued asynchronously. A
payload that cannot hold a "qualifier" key is not parsed for one (moto parses all of it)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from typing import Any

from ..aws.awslambda.invocation import Invocation
from ..aws.awslambda.routing import split_function
from ..aws.faults import InvokeRefused
from . import lambda_async, sfn_executions
from .hooks import active, route, spec_of
from .internals import module

_tls = threading.local()  # the Qualifier of the Invoke request being served


def _invoke_lambda(original: Any) -> Any:
    def invoke(self: Any, event: Any = None) -> tuple[str, bool, str]:
        if isinstance(event, str | bytes):
            event = json.loads(event) if event else {}
        result = active().runtime.invoke(spec_of(self), event if event is not None else {})
        return json.dumps(result.payload), result.error, result.logs

    return invoke


def _backend_invoke(original: Any) -> Any:
    def invoke(
        self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, out: Any
    ) -> bytes:
        hooks = active()
        name, named_qualifier = split_function(function_name)
        qualifier = named_qualifier or qualifier or getattr(_tls, "qualifier", None)
        if _header(headers, "x-amz-invocation-type") == "Event" and hooks.async_invoker:
            return lambda_async.accept_event(self, hooks, name, qualifier, body)
        version, alias = route(self, hooks.runtime, name, qualifier)
        fn = self.get_function(name, version)
        if _header(headers, "x-amz-invocation-type") == "DryRun":
            return b""
        event = json.loads(body) if body else {}

        def run() -> Invocation:
            return hooks.runtime.invoke(spec_of(fn), event, alias=alias)

        try:
            result = hooks.faults.on_invoke(name, event, run) if hooks.faults else run()
        except InvokeRefused as refused:
            error = module("moto.awslambda.exceptions").LambdaClientError(
                refused.code, refused.message
            )
            error.code = refused.status
            raise error from None
        sfn_executions.note_task_duration(result.duration_ms)
        out["x-amz-executed-version"] = result.executed_version
        if result.error:
            out["x-amz-function-error"] = "Unhandled"
        tail = result.logs.encode()[-4096:]
        out["x-amz-log-result"] = base64.b64encode(tail).decode()
        payload = json.dumps(result.payload).encode()
        out["Content-Length"] = str(len(payload))
        return payload

    return invoke


def _response_invoke(original: Any) -> Any:
    def invoke(self: Any) -> Any:
        _tls.qualifier = (self.querystring.get("Qualifier") or [None])[0]
        body = self.body
        text = body.decode("latin-1") if isinstance(body, bytes) else body
        if isinstance(text, str) and "qualifier" not in text and "\\u" not in text:
            # moto looks for a "qualifier" key in the payload, parsing all of it: a payload
            # without that word (nor a unicode escape that could spell it) has none
            self._get_param = _body_unread(self, self._get_param)
        try:
            return original(self)
        finally:
            _tls.qualifier = None
            vars(self).pop("_get_param", None)

    return invoke


def _body_unread(response: Any, get_param: Callable[..., Any]) -> Callable[..., Any]:
    def get(name: str, if_none: Any = None) -> Any:
        if name != "qualifier":
            return get_param(name, if_none)
        body, response.body = response.body, None
        try:
            return get_param(name, if_none)
        finally:
            response.body = body

    return get


def _header(headers: Any, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value
    return None


FACTORIES: dict[str, Callable[[Any], Any]] = {
    "LambdaFunction._invoke_lambda": _invoke_lambda,
    "LambdaBackend.invoke": _backend_invoke,
    "LambdaResponse.invoke": _response_invoke,
}
