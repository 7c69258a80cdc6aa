"""Lambda's asynchronous invocations at moto's API:

- `Invoke(InvocationType=Event)` (awslambda.py calls `accept_event`): 202, queued on the
  emulated async queue (aws/awslambda/async_invoke.py).
- Event invoke configs are kept per qualifier, as AWS does (moto keeps one list per function and
  answers every Get with the first one put, whatever the qualifier): Put/Update/Get/Delete/List
  FunctionEventInvokeConfig honour `Qualifier` (or `name:qualifier`), a Get of a qualifier with
  none is ResourceNotFoundException, and an invocation uses its own qualifier's config ($LATEST
  for an unqualified one) or, with none, Lambda's defaults (an alias does not inherit the
  function's unqualified config).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from ..aws.awslambda.destinations import AsyncConfig, unqualified
from ..aws.awslambda.routing import split_function
from .hooks import MotoHooks, active
from .internals import module

LR = "LambdaResponse"
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


def _invoke_config_put(update: bool) -> Callable[[Any], Any]:
    """Put replaces the qualifier's config (unset fields removed); Update changes only the
    fields given (AWS: "To set one option without affecting existing settings ... use Update")."""

    def factory(original: Any) -> Any:
        def handle(self: Any) -> Any:
            fn, qualifier, arn = _target(self)
            body = {k: v for k, v in (self.json_body or {}).items() if k in _FIELDS}
            configs = _configs(fn)
            merged = {**configs.get(qualifier, {}), **body} if update else body
            config = {k: merged[k] for k in _FIELDS if k in merged}
            module("moto.awslambda.models").EventInvokeConfig(arn, "", config)  # moto's checks
            now = active().clock.now().timestamp()
            configs[qualifier] = {"FunctionArn": arn, "LastModified": now, **config}
            return json.dumps(configs[qualifier])

        return handle

    return factory


def _invoke_config_get(original: Any) -> Any:
    def handle(self: Any) -> Any:
        fn, qualifier, arn = _target(self)
        found = _configs(fn).get(qualifier)
        if found is None:
            raise module("moto.awslambda.exceptions").UnknownEventConfig(arn)
        return json.dumps(found)

    return handle


def _invoke_config_delete(original: Any) -> Any:
    def handle(self: Any) -> Any:
        fn, qualifier, arn = _target(self)
        if _configs(fn).pop(qualifier, None) is None:
            raise module("moto.awslambda.exceptions").UnknownEventConfig(arn)
        return 204, {"status": 204}, "{}"

    return handle


def _invoke_config_list(original: Any) -> Any:
    def handle(self: Any) -> Any:
        name, _ = split_function(unquote(self.path.rsplit("/", 3)[1]))
        fn = self.backend.get_function(name)
        configs = list(_configs(fn).values())
        return json.dumps({"FunctionEventInvokeConfigs": configs})

    return handle


def config_lookup(hooks: MotoHooks) -> Callable[[str], AsyncConfig | None]:
    """The event invoke config an invocation of `function` (name, `name:qualifier` or ARN) runs
    with: its qualifier's own ($LATEST if unqualified); None: Lambda's defaults."""

    def lookup(function: str) -> AsyncConfig | None:
        name, qualifier = split_function(function)
        configs = _configs(hooks.backend().get_function(name))
        found = configs.get(qualifier or "$LATEST")
        return AsyncConfig.from_api(found) if found is not None else None

    return lookup


def function_arn(account_id: str, region: str) -> Callable[[str], str]:
    def arn(function: str) -> str:
        name, _ = split_function(function)
        return f"arn:aws:lambda:{region}:{account_id}:function:{name}"

    return arn


def accept_event(
    backend: Any, hooks: MotoHooks, name: str, qualifier: str | None, body: Any
) -> bytes:
    """Invoke(InvocationType=Event): check the target exists (404 as AWS), queue it, 202."""
    if qualifier and qualifier != "$LATEST" and not qualifier.isdigit():
        backend.get_alias(qualifier, name)
    else:
        backend.get_function(name, qualifier)
    event = json.loads(body) if body else {}
    if hooks.async_invoker is not None:
        hooks.async_invoker.submit(f"{name}:{qualifier}" if qualifier else name, event)
    return b""


FACTORIES: dict[str, Callable[[Any], Any]] = {
    f"{LR}.put_function_event_invoke_config": _invoke_config_put(update=False),
    f"{LR}.update_function_event_invoke_config": _invoke_config_put(update=True),
    f"{LR}.get_function_event_invoke_config": _invoke_config_get,
    f"{LR}.delete_function_event_invoke_config": _invoke_config_delete,
    f"{LR}.list_function_event_invoke_configs": _invoke_config_list,
}
