"""Every seam the sandbox opens in moto (pinned: moto==5.2.5) -- the ONLY module touching moto
internals. HOOKS lists each patched attribute and READS each internal name used;
tests/sandbox/test_moto_hooks.py fails loudly when one of them moves.
"""

from __future__ import annotations

import base64
import importlib
import json
import random
import threading
import types
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from . import moto_hooks_api, moto_hooks_async, moto_hooks_sfn, routing
from .eventbridge import target_input
from .moto_hooks_sfn import SfnEmulation
from .runtime import FunctionSpec, Invocation

if TYPE_CHECKING:
    from .async_lambda import AsyncInvoker
    from .clock import SimClock
    from .faults import FaultInjector
    from .runtime import Runtime

SFN = "moto.stepfunctions.parser.asl.component"
HOOKS: tuple[tuple[str, str], ...] = (
    (f"{SFN}.state.wait.wait_function.wait_function", "WaitFunction._wait_interval"),
    (f"{SFN}.common.retry.retrier_decl", "time"),
    ("moto.awslambda.models", "LambdaFunction._invoke_lambda"),
    ("moto.awslambda.models", "LambdaFunction.get_configuration"),
    ("moto.awslambda.models", "LambdaFunction.update_configuration"),
    ("moto.awslambda.models", "LambdaFunction.update_function_code"),
    ("moto.awslambda.models", "LambdaAlias.update"),
    ("moto.awslambda.models", "LambdaStorage.publish_version"),
    ("moto.awslambda.models", "LambdaBackend.invoke"),
    ("moto.awslambda.responses", "LambdaResponse.invoke"),
    ("moto.awslambda.responses", "LambdaResponse.create_alias"),
    ("moto.awslambda.responses", "LambdaResponse.update_alias"),
    ("moto.awslambda.responses", "LambdaResponse.publish_version"),
    ("moto.awslambda.responses", "LambdaResponse.update_function_configuration"),
    ("moto.cloudwatch.responses", "CloudWatchResponse.get_metric_data"),
    ("moto.cloudwatch.responses", "CloudWatchResponse.get_metric_statistics"),
    ("moto.events.models", "Rule.send_to_targets"),
    ("moto.stepfunctions.parser.models", "StepFunctionsParserBackend.start_execution"),
    *moto_hooks_api.HOOKS,
    *moto_hooks_sfn.HOOKS,
    *moto_hooks_async.HOOKS,
)
READS: tuple[tuple[str, str], ...] = (
    ("moto.awslambda.models", "lambda_backends"),
    ("moto.awslambda.models", "LambdaBackend.get_alias"),
    ("moto.awslambda.models", "LambdaBackend.get_function"),
    ("moto.awslambda.exceptions", "LambdaClientError"),
    ("moto.awslambda.exceptions", "InvalidParameterValueException"),
    ("moto.awslambda.exceptions", "PreconditionFailedException"),
    ("moto.core.responses", "ActionResult"),
    ("moto.core.responses", "BaseResponse._get_params"),
    ("moto.stepfunctions.parser.asl.eval.environment", "Environment.is_running"),
    *moto_hooks_api.READS,
    *moto_hooks_sfn.READS,
    *moto_hooks_async.READS,
)
UPDATE_IN_PROGRESS = timedelta(seconds=2)  # LastUpdateStatus InProgress after an update
_BUSY = "_coalmine_busy_until"

_active: MotoHooks | None = None
_tls = threading.local()


def resolve(module: str, dotted: str) -> tuple[Any, str, Any]:
    """(owner, attribute, current value) of `module:dotted`; AttributeError if it moved."""
    owner: Any = importlib.import_module(module)
    *path, attr = dotted.split(".")
    for part in path:
        owner = getattr(owner, part)
    return owner, attr, getattr(owner, attr)


def _m(name: str) -> Any:
    return importlib.import_module(name)


def _hooks() -> MotoHooks:
    if _active is None:
        raise RuntimeError("moto hooks are not installed")
    return _active


class MotoHooks:
    def __init__(
        self,
        clock: SimClock,
        runtime: Runtime,
        metrics: Any,
        start_execution: Callable[[str, str], str],
        account_id: str,
        region: str,
    ) -> None:
        self.clock, self.runtime, self.metrics = clock, runtime, metrics
        self.start_execution = start_execution
        self.account_id, self.region = account_id, region
        self.event_errors: list[BaseException] = []
        self.names = random.Random(f"execution-names-{runtime.seed}")
        self.sfn = SfnEmulation(clock, account_id, region)
        self.faults: FaultInjector | None = None
        self.async_invoker: AsyncInvoker | None = None
        self._saved: list[tuple[Any, str, Any]] = []

    # ------------------------------------------------------------------ install
    def install(self) -> None:
        global _active
        if _active is not None:
            raise RuntimeError("another Sandbox is active in this process")
        for module, dotted in HOOKS:
            owner, attr, original = resolve(module, dotted)
            self._saved.append((owner, attr, original))
            setattr(owner, attr, _replacement(dotted, original))
        _active = self
        self.runtime.view = self

    def uninstall(self) -> None:
        global _active
        for owner, attr, original in reversed(self._saved):
            setattr(owner, attr, original)
        self._saved.clear()
        if _active is self:
            _active = None

    # ------------------------------------------------------------------ LambdaView
    def backend(self) -> Any:
        return _m("moto.awslambda.models").lambda_backends[self.account_id][self.region]

    def alias_routing(self, function_name: str, alias: str) -> tuple[str, dict[str, float]]:
        found = self.backend().get_alias(alias, function_name)
        return str(found.function_version), routing.additional_weights(found.routing_config)

    def function_spec(self, function_name: str, qualifier: str) -> FunctionSpec:
        return spec_of(self.backend().get_function(function_name, qualifier))

    def reserved_concurrency(self, function_name: str) -> int | None:
        reserved = self.backend().get_function(function_name).reserved_concurrency
        return None if reserved is None else int(reserved)

    def sim_now(self) -> datetime:
        return self.clock.now() + self.runtime.current_offset()

    def invoke_function(self, function: str, event: Any) -> Invocation:
        """Invoke a function (name or ARN, optionally qualified) the way an async event does."""
        name, qualifier = _split_qualifier(function)
        backend = self.backend()
        version, alias = route(backend, self.runtime, name, qualifier)
        spec = spec_of(backend.get_function(name, version))
        return self.runtime.invoke(spec, event, alias=alias)


def route(
    backend: Any, runtime: Runtime, name: str, qualifier: str | None
) -> tuple[str, str | None]:
    """(the version that runs, the alias invoked or None) for ``name:qualifier``: an alias's
    weights pick the version per invocation; a version number or $LATEST runs as named."""
    if not qualifier or qualifier == "$LATEST" or qualifier.isdigit():
        return qualifier or "$LATEST", None
    found = backend.get_alias(qualifier, name)
    weights = routing.additional_weights(found.routing_config)
    return runtime.pick(str(found.function_version), weights), qualifier


def spec_of(fn: Any) -> FunctionSpec:
    return FunctionSpec(
        function_name=fn.function_name,
        version=str(fn.version),
        handler=fn.handler,
        environment=fn.environment_vars or {},
        code_sha256=fn.code_sha_256,
        code=lambda: fn.code_bytes,
        timeout=float(fn.timeout),
        memory_size=int(fn.memory_size),
        runtime=fn.run_time or "python3.12",
        function_arn=f"arn:{fn.partition}:lambda:{fn.region}:{fn.account_id}:function:"
        f"{fn.function_name}",
    )


# ---------------------------------------------------------------------- replacements
def _replacement(dotted: str, original: Any) -> Any:
    if dotted == "time":
        return types.SimpleNamespace(sleep=lambda seconds: _hooks().clock.advance(seconds))
    factory = _FACTORIES[dotted]
    return factory(original)


def _wait_interval(original: Any) -> Any:
    def wait(self: Any, env: Any, wait_seconds: int) -> None:
        # Second by second, so a StopExecution or the execution's timeout ends the Wait at once.
        remaining = float(wait_seconds)
        clock = _hooks().clock
        while remaining > 0 and env.is_running():
            step = min(1.0, remaining)
            clock.advance(step)
            remaining -= step

    return wait


def _invoke_lambda(original: Any) -> Any:
    def invoke(self: Any, event: Any = None) -> tuple[str, bool, str]:
        if isinstance(event, str | bytes):
            event = json.loads(event) if event else {}
        result = _hooks().runtime.invoke(spec_of(self), event if event is not None else {})
        return json.dumps(result.payload), result.error, result.logs

    return invoke


def _backend_invoke(original: Any) -> Any:
    def invoke(
        self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, out: Any
    ) -> bytes:
        hooks = _hooks()
        name, named_qualifier = _split_qualifier(function_name)
        qualifier = named_qualifier or qualifier or getattr(_tls, "qualifier", None)
        if _header(headers, "x-amz-invocation-type") == "Event" and hooks.async_invoker:
            return moto_hooks_async.accept_event(self, hooks, name, qualifier, body)
        version, alias = route(self, hooks.runtime, name, qualifier)
        fn = self.get_function(name, version)
        if _header(headers, "x-amz-invocation-type") == "DryRun":
            return b""
        event = json.loads(body) if body else {}

        def run() -> Invocation:
            return hooks.runtime.invoke(spec_of(fn), event, alias=alias)

        result = hooks.faults.on_invoke(name, event, run) if hooks.faults else run()
        moto_hooks_sfn.note_task_duration(result.duration_ms)
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
        try:
            return original(self)
        finally:
            _tls.qualifier = None

    return invoke


def _alias_update(original: Any) -> Any:
    def update(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.revision_id = str(uuid.uuid4())

    return update


def _validated_alias(original: Any, updating: bool) -> Any:
    def handle(self: Any) -> Any:
        params = json.loads(self.body or "{}")
        function_name = unquote(self.path.rsplit("/")[-3 if updating else -2])
        version = params.get("FunctionVersion")
        if updating:
            alias = self.backend.get_alias(unquote(self.path.rsplit("/", 2)[-1]), function_name)
            revision = params.get("RevisionId")
            if revision and revision != alias.revision_id:
                raise _exc().PreconditionFailedException(
                    "The Revision Id provided does not match the latest Revision Id. "
                    "Call the GetAlias API to retrieve the latest Revision Id"
                )
            version = version or alias.function_version
        routing_config = params.get("RoutingConfig")
        problem = routing.routing_problem(version, routing_config)
        if problem is not None:
            raise _exc().LambdaClientError(problem.code, problem.message)
        for extra in routing.additional_weights(routing_config):
            self.backend.get_function(function_name, extra)  # 404 for a missing version
        return original(self)

    return handle


def _publish_response(original: Any) -> Any:
    def publish(self: Any) -> Any:
        function_name = unquote(self.path.split("/")[-2])
        params = json.loads(self.body or "{}")
        latest = self.backend.get_function(function_name)
        _refuse_if_busy(latest)
        expected = params.get("CodeSha256")
        if expected and expected != latest.code_sha_256:
            raise _exc().InvalidParameterValueException(
                f"CodeSHA256 ({expected}) is different from current CodeSHA256 in $LATEST "
                f"({latest.code_sha_256}). Please try again with the CodeSHA256 in $LATEST."
            )
        return original(self)

    return publish


def _refusing_when_busy(original: Any) -> Any:
    def handle(self: Any) -> Any:
        function_name = unquote(self.path.rsplit("/", 2)[-2])
        _refuse_if_busy(self.backend.get_function(function_name))
        return original(self)

    return handle


def _refuse_if_busy(fn: Any) -> None:
    busy_until = getattr(fn, _BUSY, None)
    if busy_until is not None and _hooks().sim_now() < busy_until:
        raise _conflict(
            "The operation cannot be performed at this time. An update is in progress for "
            f"resource: {fn.function_arn}"
        )


def _conflict(message: str) -> Exception:
    error = _exc().LambdaClientError("ResourceConflictException", message)
    error.code = 409
    return error


def _marking_busy(original: Any) -> Any:
    def update(self: Any, *args: Any, **kwargs: Any) -> Any:
        setattr(self, _BUSY, _hooks().sim_now() + UPDATE_IN_PROGRESS)
        return original(self, *args, **kwargs)

    return update


def _configuration(original: Any) -> Any:
    def get(self: Any, on_create: bool = False) -> dict[str, Any]:
        config = original(self, on_create)
        busy_until = getattr(self, _BUSY, None)
        if (
            not on_create
            and str(self.version) == "$LATEST"
            and busy_until is not None
            and _active is not None
            and _active.sim_now() < busy_until
        ):
            config["LastUpdateStatus"] = "InProgress"
        return config

    return get


def _publish_storage(original: Any) -> Any:
    def publish(self: Any, name_or_arn: str, description: str = "") -> Any:
        latest = self.get_function_by_name_or_arn_forbid_qualifier(name_or_arn)
        versions = self._functions[latest.function_name]["versions"]
        if versions and _same_config(versions[-1], latest):
            latest.code_or_config_updated = False
            return versions[-1]
        return original(self, name_or_arn, description)

    return publish


def _same_config(version: Any, latest: Any) -> bool:
    fields = ("code_sha_256", "handler", "run_time", "role", "memory_size", "timeout")
    return all(getattr(version, f) == getattr(latest, f) for f in fields) and (
        version.environment_vars == latest.environment_vars and version.layers == latest.layers
    )


def _metric_data(original: Any) -> Any:
    def get(self: Any) -> Any:
        params = self._get_params()
        results = _hooks().metrics.get_metric_data(
            params.get("MetricDataQueries", []),
            params["StartTime"],
            params["EndTime"],
            params.get("ScanBy") or "TimestampDescending",
        )
        if results is None:
            return original(self)
        return _m("moto.core.responses").ActionResult({"MetricDataResults": results})

    return get


def _metric_statistics(original: Any) -> Any:
    def get(self: Any) -> Any:
        p = self._get_params()
        result = _hooks().metrics.get_metric_statistics(
            p.get("Namespace"),
            p.get("MetricName"),
            p.get("Dimensions", []),
            p["StartTime"],
            p["EndTime"],
            int(p["Period"]),
            p.get("Statistics"),
            p.get("ExtendedStatistics"),
            p.get("Unit"),
        )
        if result is None:
            return original(self)
        return _m("moto.core.responses").ActionResult(result)

    return get


def _send_to_targets(original: Any) -> Any:
    def send(self: Any, event: dict[str, Any], transform_input: bool = True) -> None:
        ours = [t for t in self.targets if t["Arn"].split(":")[2:3] in (["states"], ["lambda"])]
        if ours and self.state == "ENABLED" and self.event_pattern.matches_event(event):
            hooks = _hooks()
            delivered = {k: v for k, v in event.items() if k != "ingestion-time"}
            for target in ours:
                try:
                    text = target_input(target, delivered, rule_arn=self.arn, rule_name=self.name)
                    if target["Arn"].split(":")[2] == "states":
                        hooks.start_execution(target["Arn"], text)
                    elif hooks.async_invoker is not None:  # Lambda: an asynchronous invocation
                        retries = (target.get("RetryPolicy") or {}).get("MaximumRetryAttempts", 2)
                        hooks.async_invoker.submit(target["Arn"], json.loads(text), int(retries))
                except Exception as exc:  # moto's S3 swallows errors: keep them visible
                    hooks.event_errors.append(exc)
                    raise
        others = [t for t in self.targets if t not in ours]
        if others:
            saved, self.targets = self.targets, others
            try:
                original(self, event, transform_input)
            finally:
                self.targets = saved

    return send


def _named_execution(original: Any) -> Any:
    def start(self: Any, state_machine_arn: str, name: Any = None, *args: Any, **kw: Any) -> Any:
        if not name:  # AWS names an unnamed execution with a UUID ($$.Execution.Name)
            name = str(uuid.UUID(int=_hooks().names.getrandbits(128), version=4))
        return original(self, state_machine_arn, name, *args, **kw)

    return start


_FACTORIES: dict[str, Callable[[Any], Any]] = {
    "WaitFunction._wait_interval": _wait_interval,
    "LambdaFunction._invoke_lambda": _invoke_lambda,
    "LambdaFunction.get_configuration": _configuration,
    "LambdaFunction.update_configuration": _marking_busy,
    "LambdaFunction.update_function_code": _marking_busy,
    "LambdaAlias.update": _alias_update,
    "LambdaStorage.publish_version": _publish_storage,
    "LambdaBackend.invoke": _backend_invoke,
    "LambdaResponse.invoke": _response_invoke,
    "LambdaResponse.create_alias": lambda o: _validated_alias(o, updating=False),
    "LambdaResponse.update_alias": lambda o: _validated_alias(o, updating=True),
    "LambdaResponse.publish_version": _publish_response,
    "LambdaResponse.update_function_configuration": _refusing_when_busy,
    "CloudWatchResponse.get_metric_data": _metric_data,
    "CloudWatchResponse.get_metric_statistics": _metric_statistics,
    "Rule.send_to_targets": _send_to_targets,
    "StepFunctionsParserBackend.start_execution": _named_execution,
    **moto_hooks_api.factories(_hooks, _refusing_when_busy),
    **moto_hooks_sfn.factories(_hooks),
    **moto_hooks_async.factories(_hooks),
}


def _exc() -> Any:
    return _m("moto.awslambda.exceptions")


def _header(headers: Any, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value
    return None


def _split_qualifier(name_or_arn: str) -> tuple[str, str | None]:
    if name_or_arn.startswith("arn:"):
        parts = name_or_arn.split(":")
        return parts[6], parts[7] if len(parts) > 7 else None
    name, _, qualifier = name_or_arn.partition(":")
    return name, qualifier or None
