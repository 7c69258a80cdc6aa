"""The in-process Lambda runtime: runs a function version's real handler.

Per invocation: the version's code package (codeload.py), its environment variables (os.environ
swapped for the call, then restored: environ.py), a LambdaContext, stdout/stderr captured into the
function's log sink, and `time.sleep` turned into simulated duration of that invocation only
(no real sleeping, the global clock does not move). Duration = real elapsed + simulated sleeps;
a duration beyond the function's timeout is Lambda's timeout error. Every invocation is recorded
in the MetricStore, and its log output's embedded-metric-format lines become metrics there, as
CloudWatch Logs extracts them (cloudwatch/emf.py). Invocations are serialised (os.environ is
process-wide).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from . import process_hooks
from .codeload import LOADER, CodePackage, layer_root
from .concurrency import Concurrency
from .environ import restore_environ, swap_environ
from .invocation import FunctionSpec, Invocation, LambdaContext, error_payload, timeout_payload
from .process_hooks import InvocationState
from .provisioned import ProvisionedConcurrency
from .routing import pick_version

_calls = threading.local()  # the functions running in this thread, innermost last


def current_function() -> str | None:
    """The function whose handler is running in the calling thread (None outside one)."""
    stack = getattr(_calls, "stack", None)
    return stack[-1] if stack else None


class LambdaView(Protocol):
    """Read access to emulated Lambda (the seams' MotoHooks implements it); ``account``: another
    account's functions (moto keeps one backend per account), None: the sandbox's own."""

    def alias_routing(
        self, function_name: str, alias: str, account: str | None = None
    ) -> tuple[str, dict[str, float]]: ...

    def function_spec(
        self, function_name: str, qualifier: str, account: str | None = None
    ) -> FunctionSpec: ...

    def reserved_concurrency(self, function_name: str) -> int | None: ...


class MetricSink(Protocol):
    def record_invocation(self, **kwargs: Any) -> None: ...

    def ingest_logs(self, text: str) -> int: ...

    def record_lambda(self, **kwargs: Any) -> None: ...


@dataclass
class Runtime:
    now: Callable[[], datetime]
    metrics: MetricSink | None = None
    seed: int = 0
    region: str = "us-east-1"
    account_id: str = "123456789012"
    log_lines: int = 5000
    code_dirs: dict[str, Path] = field(default_factory=dict)  # CodeSha256 -> template dir
    layer_dirs: dict[str, Path] = field(default_factory=dict)  # layer version ARN -> its dir
    view: LambdaView | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock)
    concurrency: Concurrency = field(default_factory=Concurrency)
    provisioned: ProvisionedConcurrency = field(default_factory=ProvisionedConcurrency)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self._ids = random.Random(self.seed + 1)
        self.logs: dict[str, process_hooks.LogSink] = {}
        self._packages: dict[str, CodePackage] = {}  # CodeSha256 and layers -> its package

    # ------------------------------------------------------------------ entry points
    def invoke_alias(
        self,
        function_name: str,
        alias: str,
        event: Any,
        *,
        start: datetime | None = None,
        account: str | None = None,
    ) -> Invocation:
        """Invoke through an alias the way API Gateway reaches Lambda (weights honoured; a
        request over the function's reserved concurrency is throttled, concurrency.py);
        ``account``: a function of another account (its metrics kept apart: ``metric_name``)."""
        if self.view is None:
            raise RuntimeError("Runtime is not attached to a Sandbox")
        where = {"account": account} if account not in (None, self.account_id) else {}
        with self._lock:
            primary, weights = self.view.alias_routing(function_name, alias, **where)
            version = pick_version(primary, weights, self.rng.random()) if weights else primary
            spec = self.view.function_spec(function_name, version, **where)
            start = start or self.now()
            at = start.timestamp()
            if not self.concurrency.admits(
                function_name, at, self.view.reserved_concurrency(function_name)
            ):
                return self._throttled(spec, alias, start)
            result = self.invoke(spec, event, alias=alias, start=start)
            self.concurrency.occupy(function_name, at, result.duration_ms)
            return result

    def _throttled(self, spec: FunctionSpec, alias: str, start: datetime) -> Invocation:
        self._record(spec, alias, start, 0.0, error=False, throttled=True)
        payload = {"errorType": "TooManyRequestsException", "errorMessage": "Rate Exceeded."}
        return Invocation(spec.version, payload, True, 0.0, throttled=True)

    def pick(self, primary: str, weights: Mapping[str, float]) -> str:
        with self._lock:
            return pick_version(primary, weights, self.rng.random()) if weights else primary

    def invoke(
        self,
        spec: FunctionSpec,
        event: Any,
        *,
        alias: str | None = None,
        start: datetime | None = None,
    ) -> Invocation:
        with self._lock:
            start = start or self.now()
            request_id = str(uuid.UUID(int=self._ids.getrandbits(128), version=4))
            sink = self.log_sink(spec.function_name)
            state = InvocationState(sink=sink)
            qualifier = alias or spec.version
            suffix = "" if qualifier == "$LATEST" and alias is None else f":{qualifier}"
            context = LambdaContext(
                function_name=spec.function_name,
                function_version=spec.version,
                invoked_function_arn=self._arn(spec) + suffix,
                memory_limit_in_mb=int(spec.memory_size),
                aws_request_id=request_id,
                log_group_name=f"/aws/lambda/{spec.function_name}",
                log_stream_name=f"{start:%Y/%m/%d}/[{spec.version}]sandbox",
                _deadline_ms=float(spec.timeout) * 1000,
                _state=state,
            )
            provisioned = self.provisioned
            warm = (
                provisioned.admit(spec.function_name, alias, spec.version, start.timestamp())
                if alias is not None
                else None
            )
            saved = swap_environ(self._environment(spec, context))
            process_hooks.push(state)
            calls = _calls.__dict__.setdefault("stack", [])
            calls.append(spec.function_name)
            try:
                sink.begin(request_id, spec.version)
                handler = LOADER.handler(self._package(spec), spec.handler)
                state.started = time.thread_time()
                payload, error = self._call(handler, event, context)
                duration = state.elapsed_ms()
                if warm is False:  # spilled over: a cold start on standard concurrency
                    duration += self.provisioned.cold_start_ms
                if duration > context._deadline_ms:  # Lambda stops the handler at its timeout
                    payload, error = timeout_payload(start, spec.timeout), True
                    duration = context._deadline_ms
                sink.end(request_id, duration)
            finally:
                calls.pop()
                process_hooks.pop(state)
                restore_environ(saved)
            self._record(spec, alias, start, duration, error=error)
            if warm is not None and alias is not None:
                self._provisioned(spec, alias, start, duration, warm)
            if self.metrics is not None:  # CloudWatch Logs extracts the EMF lines' metrics
                self.metrics.ingest_logs(state.text())
            return Invocation(
                spec.version,
                payload,
                error,
                duration,
                request_id,
                state.text(),
                spillover=warm is False,
            )

    def _record(
        self,
        spec: FunctionSpec,
        alias: str | None,
        start: datetime,
        duration_ms: float,
        *,
        error: bool,
        throttled: bool = False,
    ) -> None:
        if self.metrics is not None:
            self.metrics.record_invocation(
                function_name=self.metric_name(spec),
                alias=alias,
                executed_version=spec.version,
                start=start,
                duration_ms=duration_ms,
                error=error,
                throttled=throttled,
            )

    def _provisioned(
        self, spec: FunctionSpec, alias: str, start: datetime, duration_ms: float, warm: bool
    ) -> None:
        """An invocation of an alias with provisioned concurrency: warm ones hold an environment
        and count as ProvisionedConcurrencyInvocations, the others as spillover (provisioned.py)."""
        if warm:
            self.provisioned.occupy(
                spec.function_name, alias, spec.version, start.timestamp(), duration_ms
            )
        if self.metrics is not None:
            self.metrics.record_lambda(
                metric="ProvisionedConcurrencyInvocations"
                if warm
                else "ProvisionedConcurrencySpilloverInvocations",
                function_name=spec.function_name,
                alias=alias,
                executed_version=spec.version,
                timestamp=start,
                value=1,
            )

    def metric_name(self, spec: FunctionSpec) -> str:
        """The function's name in the metric store: the sandbox's own account's as it is, another
        account's as ``<account>/<name>`` (CloudWatch is per account: the seam asks for the
        caller's account's, seams/cloudwatch.py)."""
        return metric_name(account_of(spec.function_arn), self.account_id, spec.function_name)

    def log_sink(self, function_name: str) -> process_hooks.LogSink:
        sink = self.logs.get(function_name)
        if sink is None:
            sink = self.logs[function_name] = process_hooks.LogSink(self.log_lines)
        return sink

    def current_offset(self) -> timedelta:
        """Simulated time the calling thread's invocation has slept so far."""
        state = process_hooks.current()
        return timedelta(milliseconds=state.slept_ms) if state else timedelta(0)

    # ------------------------------------------------------------------ internals
    @staticmethod
    def _call(handler: Callable[[Any, Any], Any], event: Any, context: Any) -> tuple[Any, bool]:
        try:
            return handler(event, context), False
        except Exception as exc:  # the handler's error becomes Lambda's error payload
            return error_payload(exc), True

    def _package(self, spec: FunctionSpec) -> CodePackage:
        """The version's code, with its layers' content importable too (Lambda extracts a
        layer to /opt, and a Python layer's modules are on the path from /opt/python)."""
        suffix = "".join(f"+{a}" for a in spec.layers if a in self.layer_dirs)
        key = spec.code_sha256 + suffix
        package = self._packages.get(key)
        if package is None:  # (found once per package: layer_root looks at the disk)
            layers = tuple(
                layer_root(self.layer_dirs[a]) for a in spec.layers if a in self.layer_dirs
            )
            root = self.code_dirs.get(spec.code_sha256)
            if root is not None:
                package = LOADER.package_for_dir(f"{root}#{key}", root, layers)
            else:
                package = LOADER.package_for_zip(key, spec.code(), layers)
            self._packages[key] = package
        return package

    def _arn(self, spec: FunctionSpec) -> str:
        return spec.function_arn or (
            f"arn:aws:lambda:{self.region}:{self.account_id}:function:{spec.function_name}"
        )

    def _environment(self, spec: FunctionSpec, context: LambdaContext) -> dict[str, str]:
        env = {
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": context.log_group_name,
            "AWS_LAMBDA_LOG_STREAM_NAME": context.log_stream_name,
            "_HANDLER": spec.handler,
            # no X-Ray daemon in the sandbox: Powertools Tracer stays off (no network)
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
        env.update({str(k): str(v) for k, v in spec.environment.items()})
        return env


def account_of(function_arn: str | None) -> str | None:
    """``arn:aws:lambda:<region>:<account>:function:<name>`` -> the account (None: not an ARN)."""
    parts = (function_arn or "").split(":")
    return parts[4] if len(parts) > 4 and parts[4].isdigit() else None


def metric_name(account: str | None, own_account: str, function_name: str) -> str:
    """A function's name in the (one) metric store: another account's is prefixed."""
    return function_name if account in (None, own_account) else f"{account}/{function_name}"
