"""Step Functions' size and history limits, where moto 5.2.5 lacks them.

- A state's input/output: moto already fails a state whose output is 256 KiB or more with
  ``States.DataLimitExceeded``: ``moto.stepfunctions.parser.quotas.is_within_size_quota``, called
  by ``State._eval_body`` (asl/component/state/state.py) on every state's output, Pass, Choice
  and Wait included, by ``StateTaskService._verify_size_quota`` (state_task/service/
  state_task_service.py) on a service Task's result (coalmine's ``arn:aws:states:::lambda:invoke``)
  and by ``StateTaskLambda._verify_size_quota`` on a plain Lambda Task's. Nothing to add (moto's
  test is "< 262,144", AWS allows exactly 262,144: a byte's difference).
- The execution input: ``StartExecution`` with an ``input`` over 262,144 bytes (UTF-8) is refused
  with ``ValidationException`` (AWS Step Functions API reference, StartExecution: "input ...
  Length Constraints: Maximum length of 262144"; developer guide, "Step Functions service
  quotas": "Maximum input or output size for a task, state, or execution: 256 KiB of data as a
  UTF-8 encoded string"). moto accepts any size.
- The execution history: at most 25,000 events in a Standard execution (same quotas page,
  "Maximum execution history size"); the execution then fails with ``States.Runtime``, cause
  "The execution reached the maximum number of history events (25000).", and that failure is
  event 25,000 (no Catch runs). moto records any number of events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .hooks import active
from .internals import module

INPUT_LIMIT_BYTES = 262_144
HISTORY_LIMIT_EVENTS = 25_000
_ENDINGS = {"ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut", "ExecutionSucceeded"}


def history_cause(limit: int = HISTORY_LIMIT_EVENTS) -> str:
    return f"The execution reached the maximum number of history events ({limit})."


def _add_event(original: Any) -> Any:
    def add(self: Any, context: Any, event_type: Any, *args: Any, **kw: Any) -> Any:
        limit = HISTORY_LIMIT_EVENTS
        ending = str(getattr(event_type, "value", event_type)) in _ENDINGS
        if ending or len(self._history_event_list) < limit - 1:
            event_id = original(self, context, event_type, *args, **kw)
            if ending or len(self._history_event_list) < limit - 1:
                return event_id
            _fail(self, limit)  # that was the last event before the failure
            return event_id
        _fail(self, limit)  # past it: the state still running adds nothing more
        return context.last_published_event_id

    return add


def _fail(manager: Any, limit: int) -> None:
    env = _environment(manager)
    if env is not None and env.is_running():
        env.set_error({"error": "States.Runtime", "cause": history_cause(limit)})
        manager.sandbox_history_full = True  # final: the state cut short fails no other way


def _set_error(original: Any) -> Any:
    def run(self: Any, error: Any) -> None:
        if getattr(self.event_manager, "sandbox_history_full", False):
            return  # the limit's failure stands (the state it cut short may raise after it)
        original(self, error)

    return run


def _environment(manager: Any) -> Any:
    """The running execution whose history ``manager`` keeps (its worker's environment)."""
    for execution in active().sfn.running_executions():
        worker = execution.exec_worker
        env = worker.env if worker is not None else None
        if env is not None and env.event_manager is manager:
            return env
    return None


def _start_execution(original: Any) -> Any:
    def run(self: Any) -> Any:
        given = self._get_param("input")
        if isinstance(given, str) and len(given.encode()) > INPUT_LIMIT_BYTES:
            raise module("moto.stepfunctions.exceptions").ValidationException(
                "1 validation error detected: Value at 'input' failed to satisfy constraint: "
                f"Member must have length less than or equal to {INPUT_LIMIT_BYTES}"
            )
        return original(self)

    return run


FACTORIES: dict[str, Callable[[Any], Any]] = {
    "EventManager.add_event": _add_event,
    "Environment.set_error": _set_error,
    "StepFunctionResponse.start_execution": _start_execution,
}
