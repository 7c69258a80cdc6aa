"""Fault injection that looks exactly like AWS's faults (tests, rehearsals and the soak use it).

    sb.faults.inject(state="ShiftTraffic", kind="throttling", at_step=2, times=3)
    sb.faults.inject_api("UpdateAlias", kind="throttling", caller="ShiftTraffic", times=None)
    sb.faults.inject_api("GetMetricData", "cloudwatch", times=None, start=t0, until=t1)
    sb.faults.before_invoke("Promote", lambda: stop(arn))  # a move as a state's task starts

Invocation faults hit the Lambda `Invoke` a Task state makes (the state's `<State>Function`):
- `throttling`: Invoke answers 429 TooManyRequestsException -> `Lambda.TooManyRequestsException`
- `service-error`: Invoke answers 500 ServiceException -> `Lambda.ServiceException`
- `crash`: the runtime process exits -> `Runtime.ExitError` (point "before": the handler never
  ran, e.g. an init crash; "after": it did its AWS calls, then died before answering)
- `timeout`: the handler did its work, then ran past the function's timeout -> `Sandbox.Timedout`
API faults make one AWS API (any service) answer an error code the way that service does, from
inside the handlers' own calls (botocore's retries see them too). `times=None` = every time.
An API fault may hold only for a window of simulated time [`start`, `until`): a call is judged
at the time its caller sees (the clock plus what the calling invocation has slept so far), so a
handler retrying within one invocation gets past the window's end like it would on AWS.
The seams turn `InvokeRefused` and `on_api`'s answer into moto's own errors; the world's moves
(tamper with the alias, stop an execution, a second deployment) are world/moves.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from .awslambda.invocation import Invocation, timeout_payload
from .awslambda.runtime import Runtime, current_function
from .clock import SimClock
from .cloudformation.stack import Stack


class Account(Protocol):
    """What fault injection reads of the emulated account (the Sandbox is one)."""

    stack: Stack
    clock: SimClock
    runtime: Runtime

    def client(self, service: str) -> Any: ...


class InvokeRefused(Exception):
    """Lambda's Invoke API answers an error (the handler never runs): code, HTTP status."""

    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code, self.status, self.message = code, status, message


KINDS = ("throttling", "service-error", "crash", "timeout")
API_ERRORS = {  # (service, kind) -> (error code, message); "*" = any other service
    ("lambda", "throttling"): ("TooManyRequestsException", "Rate exceeded"),
    ("lambda", "service-error"): ("ServiceException", "An internal error occurred"),
    ("s3", "throttling"): ("SlowDown", "Please reduce your request rate."),
    ("s3", "service-error"): ("InternalError", "We encountered an internal error."),
    ("*", "throttling"): ("ThrottlingException", "Rate exceeded"),
    ("*", "service-error"): ("InternalFailure", "An internal error occurred"),
}
_INVOKE_ERRORS = {
    "throttling": ("TooManyRequestsException", 429, "Rate Exceeded."),
    "service-error": ("ServiceException", 500, "Lambda was unable to process the request."),
}


@dataclass
class Fault:
    state: str
    function: str
    kind: str
    at_step: int | None = None
    occurrence: int = 1
    times: int | None = 1
    point: str = "before"
    seen: int = 0  # matching invocations so far
    fired: int = 0
    on_fire: Callable[[], None] | None = None  # a move made as the fault fires (in the state)

    def take(self, step: int | None) -> bool:
        if self.at_step is not None and step is not None and step != self.at_step:
            return False
        self.seen += 1
        if self.seen < self.occurrence or (self.times is not None and self.fired >= self.times):
            return False
        self.fired += 1
        return True


@dataclass
class ApiFault:
    service: str
    api: str
    code: str | None  # None: only run `action`, then let the call through
    message: str
    caller: str | None = None  # a state name: only calls made by that state's handler
    occurrence: int = 1
    times: int | None = 1
    seen: int = 0
    fired: int = 0
    action: Callable[[], None] | None = None
    start: datetime | None = None  # the window in simulated time: calls made in [start, until)
    until: datetime | None = None
    resource: str | None = None  # only calls naming this resource (DynamoDB's TableName)

    def covers(self, now: Callable[[], datetime]) -> bool:
        if self.start is None and self.until is None:
            return True
        at = now()
        return (self.start is None or at >= self.start) and (self.until is None or at < self.until)


@dataclass
class InvokeAction:
    """A move run right before the `occurrence`-th invocation of a state's function."""

    state: str
    function: str
    action: Callable[[], None]
    occurrence: int = 1
    seen: int = 0


@dataclass
class FaultInjector:
    sb: Account
    faults: list[Fault] = field(default_factory=list)
    api_faults: list[ApiFault] = field(default_factory=list)
    invoke_actions: list[InvokeAction] = field(default_factory=list)
    fired: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # ------------------------------------------------------------------ arming
    def inject(
        self,
        state: str,
        kind: str,
        at_step: int | None = None,
        occurrence: int | None = None,
        times: int | None = 1,
        point: str | None = None,
    ) -> Fault:
        """Fault the `occurrence`-th invocation of `state`'s function (within `at_step` if
        given: 0 = Prepare/PublishVersion, k = traffic step k; ShiftTraffic counts the step it
        shifts to) and the `times - 1` invocations after it."""
        if kind not in KINDS:
            raise ValueError(f"kind: one of {', '.join(KINDS)}, not {kind!r}")
        point = point or ("after" if kind == "timeout" else "before")
        if point not in ("before", "after"):
            raise ValueError(f"point: 'before' or 'after', not {point!r}")
        fault = Fault(state, self.function_of(state), kind, at_step, occurrence or 1, times, point)
        with self._lock:
            self.faults.append(fault)
        return fault

    def inject_api(
        self,
        api: str,
        service: str = "lambda",
        kind: str = "throttling",
        caller: str | None = None,
        occurrence: int = 1,
        times: int | None = 1,
        code: str | None = None,
        start: datetime | None = None,
        until: datetime | None = None,
        resource: str | None = None,
    ) -> ApiFault:
        """Fault `api` of `service` (only the calls `caller`'s handler makes, if given; only
        those naming `resource`, a DynamoDB table, if given) from the `occurrence`-th matching
        call on, `times` times (None: every time), within the window [`start`, `until`) of
        simulated time when given."""
        if start is not None and until is not None and until <= start:
            raise ValueError(f"until ({until}) must be after start ({start})")
        default_code, message = API_ERRORS.get(
            (service, kind), API_ERRORS.get(("*", kind), (kind, "injected fault"))
        )
        fault = ApiFault(service, api, code or default_code, message, caller, occurrence, times)
        fault.start, fault.until, fault.resource = start, until, resource
        with self._lock:
            self.api_faults.append(fault)
        return fault

    def before_api(
        self,
        api: str,
        action: Callable[[], None],
        service: str = "lambda",
        caller: str | None = None,
        times: int | None = 1,
    ) -> ApiFault:
        """Run `action` (the world's move, e.g. a racing upload) right before that API call."""
        fault = ApiFault(service, api, None, "", caller, 1, times, action=action)
        with self._lock:
            self.api_faults.append(fault)
        return fault

    def before_invoke(
        self, state: str, action: Callable[[], None], occurrence: int = 1
    ) -> InvokeAction:
        """Run `action` (the world's move, e.g. a console stop) right before the
        `occurrence`-th invocation of `state`'s function (retries count): the state has been
        entered and its task is starting; the invocation then runs as it would."""
        if occurrence < 1:
            raise ValueError(f"occurrence: 1 or more, not {occurrence}")
        hook = InvokeAction(state, self.function_of(state), action, occurrence)
        with self._lock:
            self.invoke_actions.append(hook)
        return hook

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.api_faults.clear()
            self.invoke_actions.clear()

    def function_of(self, state: str) -> str:
        logical = f"{state}Function"
        if logical not in self.sb.stack:
            raise ValueError(f"state: no {logical} in the stack for state {state!r}")
        return self.sb.stack[logical]

    # ------------------------------------------------------------------ called by the hooks
    def on_invoke(self, function: str, event: Any, run: Callable[[], Invocation]) -> Invocation:
        for action in self._take_actions(function):
            action()
        fault = self._take(function, event)
        if fault is None:
            return run()
        if fault.on_fire is not None:
            fault.on_fire()
        self.fired.append(
            {"state": fault.state, "kind": fault.kind, "at": self.sb.clock.now().isoformat()}
        )
        if fault.kind in _INVOKE_ERRORS:
            raise InvokeRefused(*_INVOKE_ERRORS[fault.kind])
        result = run() if fault.point == "after" or fault.kind == "timeout" else None
        version = result.executed_version if result else "$LATEST"
        if fault.kind == "crash":
            payload = {
                "errorType": "Runtime.ExitError",
                "errorMessage": "RequestId: injected Error: Runtime exited with error: "
                "exit status 1",
            }
            return Invocation(version, payload, True, result.duration_ms if result else 0.0)
        seconds = float(
            self.sb.client("lambda").get_function(FunctionName=function)["Configuration"]["Timeout"]
        )
        payload = timeout_payload(self.sb.clock.now(), seconds)
        return Invocation(version, payload, True, seconds * 1000)

    def on_api(
        self, service: str, api: str, resource: Callable[[], str | None] | None = None
    ) -> tuple[str, str] | None:
        """The error to answer `api` with, if a fault takes this call; `resource` names what
        the call is on (read only when a fault asks)."""
        if not self.api_faults:
            return None
        fault = self._take_api(service, api, resource)
        if fault is None:
            return None
        if fault.action is not None:
            fault.action()
        return None if fault.code is None else (fault.code, fault.message)

    def _take_actions(self, function: str) -> list[Callable[[], None]]:
        if not self.invoke_actions:
            return []
        due = []
        with self._lock:
            for hook in self.invoke_actions:
                if hook.function == function:
                    hook.seen += 1
                    if hook.seen == hook.occurrence:
                        due.append(hook.action)
        return due

    def caller_now(self) -> datetime:
        """The simulated time the calling invocation sees (the clock plus its own sleeps)."""
        return self.sb.clock.now() + self.sb.runtime.current_offset()

    def _take_api(
        self, service: str, api: str, resource: Callable[[], str | None] | None = None
    ) -> ApiFault | None:
        caller = current_function()
        with self._lock:
            for fault in self.api_faults:
                if fault.service != service or fault.api != api:
                    continue
                if fault.caller is not None and caller != self.function_of(fault.caller):
                    continue
                if fault.resource is not None and (
                    resource is None or resource() != fault.resource
                ):
                    continue
                if not fault.covers(self.caller_now):
                    continue
                fault.seen += 1
                if fault.seen < fault.occurrence:
                    continue
                if fault.times is not None and fault.fired >= fault.times:
                    continue
                fault.fired += 1
                self.fired.append({"api": api, "code": fault.code, "caller": fault.caller})
                return fault
        return None

    def _take(self, function: str, event: Any) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.function == function and fault.take(_step_of(fault.state, event)):
                    return fault
        return None


def _step_of(state: str, event: Any) -> int | None:
    """The step an invocation belongs to, read from the Deployment document it carries."""
    if state in ("Prepare", "PublishVersion"):
        return 0
    index = event.get("stepIndex") if isinstance(event, dict) else None
    if not isinstance(index, int):
        return None
    if state == "ShiftTraffic":
        return index + 2
    if state == "Analyze":
        return index + 1
    return None
