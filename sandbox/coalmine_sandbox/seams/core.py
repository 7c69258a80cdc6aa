"""moto's response layer, shared by every API.

- Injected API faults (aws/faults.py): any AWS API answers an error code, serialised the way moto
  serialises that service's own errors (JSON, XML or CBOR).
- Every response's cost stays independent of its size where moto's is not: moto rewrites the
  `<RequestId>` of an XML body with a regular expression run over the whole body, JSON ones
  included (an execution history, a Lambda payload); a body without that tag is left as is
  without the scan (same headers, same request id, same body).
- Actions moto does not implement are served by the seams that emulate them
  (lambda_provisioned.ACTIONS), after any injected fault; their errors serialised as moto's.
- What moto recomputes for every request and never changes while a Sandbox lives is computed
  once: a backend's URL table (S3's reloads its urls module each time) and the names of a
  response class's methods (listed with `inspect.getmembers` each time).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from typing import Any

from .hooks import installed
from .internals import module
from .lambda_provisioned import ACTIONS


def _call_action(original: Any) -> Any:
    def call(self: Any) -> Any:
        hooks = installed()
        if hooks is None:  # no Sandbox active
            return original(self)
        faults = hooks.faults
        error = (
            faults.on_api(self.boto3_service_name, self._get_action(), lambda: _table(self))
            if faults
            else None
        )
        if error is None:
            served = ACTIONS.get((self.boto3_service_name, self._get_action()))
            return original(self) if served is None else _served(self, served)
        # moto finds the service model from the exception's module (moto.<service>....)
        injected = type(
            "InjectedFault",
            (module("moto.core.exceptions").ServiceException,),
            {"__module__": f"moto.{self.boto3_service_name}.exceptions"},
        )
        with warnings.catch_warnings():  # an error code outside the service's model is fine
            warnings.simplefilter("ignore")
            return self.serialized(module("moto.core.responses").ActionResult(injected(*error)))

    return call


def _table(response: Any) -> str | None:
    """The DynamoDB table a JSON request names (an API fault scoped to one table)."""
    body = response.body
    if isinstance(body, str | bytes):  # (moto's DynamoDB hands the body parsed already)
        try:
            body = json.loads(body or "{}")
        except ValueError:
            return None
    name = body.get("TableName") if isinstance(body, dict) else None
    return name if isinstance(name, str) else None


def _served(response: Any, handler: Any) -> Any:
    """An emulated action's answer; a moto error it raises answers as moto would."""
    try:
        status, headers, body = handler(response)
    except module("moto.awslambda.exceptions").LambdaClientError as error:
        headers = dict(error.get_headers() or [])
        return error.code, {**response.response_headers, **headers}, error.description
    return status, {**response.response_headers, **headers}, body


def _enrich(original: Any) -> Any:
    def run(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
        if isinstance(body, str) and "<RequestId>" not in body:
            headers, _ = original(headers, "")  # the headers and request id, no scan
            return headers, body
        return original(headers, body)

    return run


def _method_names(original: Any) -> Any:
    found: dict[type, list[str]] = {}

    def names(cls: type) -> list[str]:
        if cls not in found:
            found[cls] = original(cls)
        return list(found[cls])

    return names


def _urls(original: Any) -> Any:
    found: dict[int, tuple[Any, dict[str, Any]]] = {}  # id(backend) -> (backend, urls)

    def get(backend: Any) -> dict[str, Any]:
        cached = found.get(id(backend))
        if cached is None or cached[0] is not backend:
            cached = found[id(backend)] = (backend, original.fget(backend))
        return cached[1]

    return property(get)


FACTORIES: dict[str, Callable[[Any], Any]] = {
    "BaseResponse.call_action": _call_action,
    "BaseResponse._enrich_response": _enrich,
    "method_names_from_class": _method_names,
    "BaseBackend.urls": _urls,
}
