"""The installed seams' view of the emulated account: the clock, the Lambda runtime, the metric
store, fault injection and the async queue the replacements hand their work to, and Lambda's
state read back from moto (the runtime's LambdaView). One is active at a time (`active()`)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..aws.awslambda import routing
from ..aws.awslambda.async_invoke import AsyncInvoker
from ..aws.awslambda.invocation import FunctionSpec, Invocation
from ..aws.awslambda.runtime import Runtime
from ..aws.clock import SimClock
from ..aws.cloudwatch.metrics import MetricStore
from ..aws.faults import FaultInjector
from ..aws.sns import EventTopicPublisher
from .internals import module
from .sfn_executions import SfnEmulation

_active: MotoHooks | None = None


def active() -> MotoHooks:
    """The installed hooks; RuntimeError when no Sandbox is active."""
    if _active is None:
        raise RuntimeError("moto hooks are not installed")
    return _active


def installed() -> MotoHooks | None:
    return _active


def activate(hooks: MotoHooks) -> None:
    global _active
    if _active is not None:
        raise RuntimeError("another Sandbox is active in this process")
    _active = hooks


def deactivate(hooks: MotoHooks) -> None:
    global _active
    if _active is hooks:
        _active = None


class MotoHooks:
    def __init__(
        self,
        clock: SimClock,
        runtime: Runtime,
        metrics: MetricStore,
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
        self.event_topics: EventTopicPublisher | None = None  # EventBridge's SNS targets
        self.events_put: list[dict[str, Any]] = []  # every event accepted by PutEvents
        self.saved: list[tuple[Any, str, Any]] = []  # (owner, attribute, original) replaced
        self._backend: Any = None  # moto's Lambda backend (the mock's, for this Sandbox's life)

    # ------------------------------------------------------------------ LambdaView
    def backend(self, account: str | None = None) -> Any:
        """moto's Lambda backend of the sandbox's account (or of ``account``, its region)."""
        if account is not None and account != self.account_id:
            return module("moto.awslambda.models").lambda_backends[account][self.region]
        if self._backend is None:
            backends = module("moto.awslambda.models").lambda_backends
            self._backend = backends[self.account_id][self.region]
        return self._backend

    def alias_routing(
        self, function_name: str, alias: str, account: str | None = None
    ) -> tuple[str, dict[str, float]]:
        found = self.backend(account).get_alias(alias, function_name)
        return str(found.function_version), routing.additional_weights(found.routing_config)

    def function_spec(
        self, function_name: str, qualifier: str, account: str | None = None
    ) -> FunctionSpec:
        return spec_of(self.backend(account).get_function(function_name, qualifier))

    def reserved_concurrency(self, function_name: str) -> int | None:
        reserved = self.backend().get_function(function_name).reserved_concurrency
        return None if reserved is None else int(reserved)

    def sim_now(self) -> datetime:
        return self.clock.now() + self.runtime.current_offset()

    def invoke_function(self, function: str, event: Any) -> Invocation:
        """Invoke a function (name or ARN, optionally qualified) the way an async event does."""
        name, qualifier = routing.split_function(function)
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
    """What the runtime needs of one of moto's function versions."""
    return FunctionSpec(
        function_name=fn.function_name,
        version=str(fn.version),
        handler=fn.handler,
        environment=fn.environment_vars or {},
        code_sha256=fn.code_sha_256,
        code=lambda: fn.code_bytes,
        layers=tuple(layer["Arn"] for layer in fn.layers or ()),
        timeout=float(fn.timeout),
        memory_size=int(fn.memory_size),
        runtime=fn.run_time or "python3.12",
        function_arn=f"arn:{fn.partition}:lambda:{fn.region}:{fn.account_id}:function:"
        f"{fn.function_name}",
    )
