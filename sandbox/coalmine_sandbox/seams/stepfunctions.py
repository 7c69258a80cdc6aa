"""Step Functions on the simulated clock, and as AWS runs executions (sfn_executions.py):

- Wait states and Retry back-off advance the simulated clock instead of sleeping; a Wait moves
  second by second, so a StopExecution or the execution's timeout ends it at once, and only
  while every other running execution waits too (a state's own work takes no simulated time).
- An unnamed execution is named with a UUID drawn from the sandbox's seed ($$.Execution.Name).
- An execution's start and end emit status-change events; StopExecution ends it at once, with
  its `error` and `cause` kept (moto drops them); DescribeExecution of a TIMED_OUT execution
  shows its stopDate (moto leaves it out).
- A Task's `TimeoutSeconds` against the simulated duration of its Lambda invocation (moto waits
  in wall seconds): longer -> `States.Timeout`.
- A `.waitForTaskToken` Task waits on the simulated clock (like a Wait state): until its token is
  answered (SendTaskSuccess/Failure: from a clock listener, or another thread) or its
  TimeoutSeconds(Path) pass -> `States.Timeout` (moto waits in wall seconds); with
  HeartbeatSeconds(Path), a SendTaskHeartbeat starts the heartbeat's window again and a window
  with none -> `States.HeartbeatTimeout` (moto then waits in wall seconds with no overall
  timeout; AWS ends the wait at TimeoutSeconds whatever the heartbeats). A missed heartbeat
  fails the Task with `States.HeartbeatTimeout`, as AWS does (moto names every timeout
  `States.Timeout`); SendTaskFailure keeps its `cause` (moto's API drops it).
"""

from __future__ import annotations

import threading
import time
import types
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from . import sfn_executions
from .hooks import active
from .internals import module

TIMEOUT = "moto.stepfunctions.parser.asl.component.common.timeouts.timeout"
CALLBACK = "moto.stepfunctions.parser.asl.eval.callback.callback"
ERROR_NAMES = "moto.stepfunctions.parser.asl.component.common.error_name"
_stop = threading.local()  # StopExecution's error and cause (moto's backend drops them)


def retrier_time() -> Any:
    """The `time` module Retry's back-off sleeps with: sleeping advances the simulated clock."""

    def sleep(seconds: float) -> None:
        active().sfn.sleep(sfn_executions.thread_execution(), seconds, lambda: True)

    return types.SimpleNamespace(sleep=sleep)


def _wait_interval(original: Any) -> Any:
    def wait(self: Any, env: Any, wait_seconds: int) -> None:
        arn = sfn_executions.current_execution(env)
        active().sfn.sleep(arn, float(wait_seconds), env.is_running)

    return wait


def _wait_for_task_token(original: Any) -> Any:
    def wait(
        self: Any, env: Any, timeout_seconds: int, callback_endpoint: Any, heartbeat_endpoint: Any
    ) -> Any:
        arn, sfn = sfn_executions.current_execution(env), active().sfn
        end = sfn.clock.now() + timedelta(seconds=timeout_seconds)
        beat = heartbeat_endpoint
        while True:
            left = (end - sfn.clock.now()).total_seconds()
            window = left if beat is None else min(left, float(beat._heartbeat_seconds))
            sfn.sleep(
                arn,
                window,
                lambda: (
                    env.is_running()
                    and callback_endpoint.get_outcome() is None
                    and not (beat is not None and beat._next_heartbeat_event.is_set())
                ),
            )
            outcome = callback_endpoint.get_outcome()
            if outcome is not None:
                return outcome
            if beat is not None and beat._next_heartbeat_event.is_set() and env.is_running():
                beat._next_heartbeat_event.clear()  # a heartbeat: a new window
                if sfn.clock.now() < end:
                    continue
            if sfn.clock.now() >= end or not env.is_running() or beat is None:
                timed_out = module(CALLBACK).CallbackOutcomeTimedOut
                return timed_out(callback_id=callback_endpoint.callback_id)
            return module(CALLBACK).HeartbeatTimedOut()

    return wait


def _heartbeat_timeout(original: Any) -> Any:
    def run(self: Any, env: Any, ex: Exception) -> Any:
        event = original(self, env, ex)
        if not isinstance(ex, module(CALLBACK).HeartbeatTimeoutError):
            return event
        names = module(f"{ERROR_NAMES}.states_error_name_type").StatesErrorNameType
        typ = names.StatesHeartbeatTimeout
        event.error_name = module(f"{ERROR_NAMES}.states_error_name").StatesErrorName(typ=typ)
        details = getattr(event.event_details, "get", lambda _: None)("taskTimedOutEventDetails")
        if isinstance(details, dict):
            details["error"] = typ.to_name()
        return event

    return run


def _send_task_failure(original: Any) -> Any:
    def run(self: Any) -> Any:
        token, error = self._get_param("taskToken"), self._get_param("error")
        self.stepfunction_backend.send_task_failure(
            token, error=error, cause=self._get_param("cause")
        )
        return module("moto.core.responses").EmptyResult()

    return run


def _named_execution(original: Any) -> Any:
    def start(self: Any, state_machine_arn: str, name: Any = None, *args: Any, **kw: Any) -> Any:
        if not name:  # AWS names an unnamed execution with a UUID ($$.Execution.Name)
            name = str(uuid.UUID(int=active().names.getrandbits(128), version=4))
        return original(self, state_machine_arn, name, *args, **kw)

    return start


def _start(original: Any) -> Any:
    def run(self: Any) -> None:
        original(self)
        active().sfn.started(self)

    return run


def _stop_execution(original: Any) -> Any:
    def run(self: Any, stop_date: Any, error: str | None, cause: str | None) -> None:
        worker = self.exec_worker
        # moto's worker thread creates the execution's environment only once it runs: a stop
        # right after StartExecution would crash on it, where AWS aborts the execution
        deadline = time.perf_counter() + 10.0
        while worker is not None and worker.env is None and time.perf_counter() < deadline:
            time.sleep(0.001)
        env = worker.env if worker else None
        if env is None or not env.is_running():
            return original(self, stop_date, error, cause)
        original(self, stop_date, error, cause)
        given = getattr(_stop, "given", None) or (error or None, cause or None)
        active().sfn.end_now(self, "ABORTED", *given)

    return run


def _terminated(original: Any) -> Any:
    def run(self: Any) -> None:
        original(self)
        active().sfn.terminated(self.execution)

    return run


def _eval_execution(original: Any) -> Any:
    def run(self: Any, env: Any) -> None:
        sfn_executions.current_execution(env)
        sfn_executions.start_task()
        original(self, env)
        timeout = getattr(self, "timeout", None)
        seconds = getattr(timeout, "timeout_seconds", None)
        if (
            isinstance(seconds, int)
            and not timeout.is_default_value()
            and sfn_executions.task_duration_ms() > seconds * 1000
        ):
            raise module(TIMEOUT).EvalTimeoutError()

    return run


def _stop_request(original: Any) -> Any:
    def run(self: Any) -> Any:
        _stop.given = (self._get_param("error"), self._get_param("cause"))
        try:
            return original(self)
        finally:
            _stop.given = None

    return run


def _describe(original: Any) -> Any:
    def run(self: Any) -> Any:
        result = original(self)  # moto leaves stopDate out for TIMED_OUT; AWS does not
        found = getattr(result, "result", None)
        if isinstance(found, dict) and found.get("status") == "TIMED_OUT":
            execution = self.stepfunction_backend.describe_execution(found["executionArn"])
            found["stopDate"] = execution.stop_date
        return result

    return run


FACTORIES: dict[str, Callable[[Any], Any]] = {
    "WaitFunction._wait_interval": _wait_interval,
    "StateTaskServiceCallback._eval_wait_for_task_token": _wait_for_task_token,
    "StepFunctionsParserBackend.start_execution": _named_execution,
    "Execution.start": _start,
    "Execution.stop": _stop_execution,
    "BaseExecutionWorkerCommunication.terminated": _terminated,
    "StateTaskService._eval_execution": _eval_execution,
    "StepFunctionResponse.stop_execution": _stop_request,
    "StepFunctionResponse.describe_execution": _describe,
    "StateTask._from_error": _heartbeat_timeout,
    "StepFunctionResponse.send_task_failure": _send_task_failure,
}
