"""Lambda's provisioned concurrency at moto's API (moto 5.2.5 has none: its URL is unknown and
the actions unimplemented). The emulation itself is aws/awslambda/provisioned.py.

- ``url_paths``: moto's Lambda URL table gains ``/functions/<name>/provisioned-concurrency``.
- ``ACTIONS``: Put/Get/DeleteProvisionedConcurrencyConfig served for an alias qualifier
  (core.py's call_action hands them here, after any injected API fault): 404
  ResourceNotFoundException for a missing function or alias, 404
  ProvisionedConcurrencyConfigNotFoundException for an alias with no config, 400
  InvalidParameterValueException for a weighted alias or a bad count, as AWS answers.
  A version qualifier is refused (not emulated).
- lambda_config.py's alias update tells the emulation of every routing change (``routed``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from ..aws.awslambda import routing
from ..aws.awslambda.routing import split_function
from .hooks import active, installed
from .internals import module

PATH = (
    r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)"
    r"/provisioned-concurrency/?$"
)


def _url_paths(original: Any) -> Any:
    paths = dict(original)
    paths[PATH] = module("moto.awslambda.responses").LambdaResponse.dispatch
    return paths


def _error(code: str, message: str, status: int) -> Exception:
    error = module("moto.awslambda.exceptions").LambdaClientError(code, message)
    error.code = status
    return error


def _target(response: Any) -> tuple[str, str, Any]:
    """(function name, alias, moto's alias) the request names; AWS's errors otherwise."""
    path = response.path.split("?", 1)[0].rsplit("/provisioned-concurrency", 1)[0]
    name, qualifier = split_function(unquote(path.rsplit("/", 1)[-1]))
    qualifier = (response.querystring.get("Qualifier") or [qualifier])[0]
    backend = response.backend
    backend.get_function(name)  # 404 for a missing function
    if not qualifier or qualifier == "$LATEST" or qualifier.isdigit():
        raise _error(
            "InvalidParameterValueException",
            f"the sandbox emulates provisioned concurrency on aliases only, not {qualifier!r}",
            400,
        )
    return name, qualifier, backend.get_alias(qualifier, name)  # 404 for a missing alias


def _not_found(name: str, alias: str) -> Exception:
    return _error(
        "ProvisionedConcurrencyConfigNotFoundException",
        f"No Provisioned Concurrency Config found for this function: {name}:{alias}",
        404,
    )


def _now() -> float:
    return active().sim_now().timestamp()


def _put(response: Any) -> tuple[int, dict[str, str], str]:
    name, alias, found = _target(response)
    body = json.loads(response.body or "{}")
    requested = body.get("ProvisionedConcurrentExecutions")
    if not isinstance(requested, int) or requested < 1:
        raise _error(
            "InvalidParameterValueException",
            "ProvisionedConcurrentExecutions must be an integer of at least 1",
            400,
        )
    weights = routing.additional_weights(found.routing_config)
    try:
        answer = active().runtime.provisioned.put(
            name, alias, requested, str(found.function_version), weights, _now()
        )
    except ValueError as refused:
        raise _error("InvalidParameterValueException", str(refused), 400) from None
    return 202, {"status": "202"}, json.dumps(answer)


def _get(response: Any) -> tuple[int, dict[str, str], str]:
    name, alias, _ = _target(response)
    answer = active().runtime.provisioned.describe(name, alias, _now())
    if answer is None:
        raise _not_found(name, alias)
    return 200, {}, json.dumps(answer)


def _delete(response: Any) -> tuple[int, dict[str, str], str]:
    name, alias, _ = _target(response)
    if not active().runtime.provisioned.delete(name, alias):
        raise _not_found(name, alias)
    return 204, {"status": "204"}, ""


def routed(alias: Any) -> None:
    """moto's alias ``alias`` was just updated: its provisioned concurrency follows the routing."""
    hooks = installed()
    if hooks is None:
        return
    name = str(alias.arn).split(":")[6]
    weights = routing.additional_weights(alias.routing_config)
    hooks.runtime.provisioned.on_routing(
        name, alias.name, str(alias.function_version), weights, _now()
    )


#: (service, action) -> handler(response) -> (status, headers, body); raised moto errors are
#: serialised by core.py like moto's own.
ACTIONS: dict[tuple[str, str], Callable[[Any], tuple[int, dict[str, str], str]]] = {
    ("lambda", "PutProvisionedConcurrencyConfig"): _put,
    ("lambda", "GetProvisionedConcurrencyConfig"): _get,
    ("lambda", "DeleteProvisionedConcurrencyConfig"): _delete,
}

FACTORIES: dict[str, Callable[[Any], Any]] = {"url_paths": _url_paths}
