"""Step Functions executions as AWS runs them, where moto 5.2.5 differs (stepfunctions.py
installs the seams that call this):

- `Step Functions Execution Status Change` events (RUNNING, then SUCCEEDED / FAILED / TIMED_OUT /
  ABORTED) on the default EventBridge bus, shaped like AWS's (detail: executionArn,
  stateMachineArn, name, status, startDate/stopDate in epoch ms, input, inputDetails, output,
  outputDetails, error, cause); rules deliver them to their targets (events.py).
- `StopExecution` ends the execution at once, as AWS does: status ABORTED and stopDate set on the
  call, the status event emitted; the state that was running finishes in the background but no
  further state runs (moto only marks it stopped when the running state returns).
- The state machine's own `TimeoutSeconds`, on the simulated clock (moto waits in wall seconds):
  an execution running longer becomes TIMED_OUT and stops (DescribeExecution shows its stopDate).
- A Task's simulated duration: the Lambda invocations it made (for its `TimeoutSeconds`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..aws.clock import SimClock
from .internals import module

DETAIL_TYPE = "Step Functions Execution Status Change"
# How long (wall seconds) a waiting execution lets simulated time stand still for another
# execution's states to run (a thread that has not been scheduled yet, a Task under way)
GRACE_SECONDS = 10.0
_task = threading.local()


def current_execution(env: Any) -> str | None:
    """The ARN of the execution `env` belongs to, remembered for this thread (a Task's Retry
    back-off sleeps later in the same worker thread, without its environment at hand)."""
    try:
        arn = str(env.states.context_object.context_object_data["Execution"]["Id"])
    except (AttributeError, KeyError, TypeError):
        arn = None
    _task.arn = arn
    return arn


def thread_execution() -> str | None:
    return getattr(_task, "arn", None)


def start_task() -> None:
    """A Task state starts evaluating in this thread: its simulated duration is 0."""
    _task.ms = 0.0


def note_task_duration(duration_ms: float) -> None:
    """Called for every Lambda invocation: adds to the calling Task's simulated duration."""
    _task.ms = getattr(_task, "ms", 0.0) + duration_ms


def task_duration_ms() -> float:
    return float(getattr(_task, "ms", 0.0))


@dataclass
class _Running:
    execution: Any
    deadline: datetime | None


class SfnEmulation:
    def __init__(self, clock: SimClock, account_id: str, region: str) -> None:
        self.clock = clock
        self.account_id, self.region = account_id, region
        self.events: list[dict[str, Any]] = []  # every status event emitted, in order
        self._running: dict[str, _Running] = {}
        self._ended: dict[str, datetime] = {}  # arn -> the stopDate AWS reported
        # arn -> (status, error, cause) of an execution a stop or a timeout ended
        self._cut_short: dict[str, tuple[Any, str | None, str | None]] = {}
        self.finished: set[str] = set()  # executions whose program has returned
        self._lock = threading.RLock()
        self._changed = threading.Condition()  # notified when an execution ends or returns
        self.generation = 0  # counts those notifications
        self._waiting: set[str] = set()  # executions in a Wait state or a Retry back-off

    # ------------------------------------------------------------------ lifecycle of executions
    def started(self, execution: Any) -> None:
        seconds = _timeout_seconds(execution.state_machine.definition)
        deadline = execution.start_date + timedelta(seconds=seconds) if seconds else None
        with self._lock:
            self._running[execution.exec_arn] = _Running(execution, deadline)
        self.emit(execution, "RUNNING")

    def end_now(self, execution: Any, status: str, error: str | None, cause: str | None) -> bool:
        """End a running execution at once (StopExecution, TimeoutSeconds); False if it ended."""
        with self._lock:
            if execution.exec_arn in self._ended:
                return False
            now = self.clock.now()
            self._ended[execution.exec_arn] = now
            self._running.pop(execution.exec_arn, None)
            execution.exec_status = _status(status)
            execution.stop_date = now
            execution.error, execution.cause = error, cause
            self._cut_short[execution.exec_arn] = (execution.exec_status, error, cause)
        self.emit(execution, status)
        self._notify()
        return True

    def sleep(self, arn: str | None, seconds: float, running: Callable[[], bool]) -> None:
        """An execution's Wait state or Retry back-off, on the simulated clock, until the
        clock reads its start + `seconds` (however many executions move it meanwhile). Time
        moves only while every other running execution is itself waiting: on AWS a state's
        own work takes (almost) no time, so an execution started while another waits, or a
        Task under way, must not see the clock race ahead while its thread is still
        starting (a busy machine could otherwise let minutes pass before its first state).
        On a paced clock (`coalmine sandbox serve`) it moves nothing: it waits for the clock."""
        target = self.clock.now() + timedelta(seconds=seconds)
        if self.clock.paced:  # served: the clock runs with wall time, the Wait waits for it
            self.clock.wait_until(target, running)
            return
        self._set_waiting(arn, True)
        try:
            while self.clock.now() < target and running():
                self._until_others_wait(arn)
                self.clock.advance(min(1.0, (target - self.clock.now()).total_seconds()))
        finally:
            self._set_waiting(arn, False)

    def _set_waiting(self, arn: str | None, waiting: bool) -> None:
        if arn is None:
            return
        with self._lock:
            if waiting:
                self._waiting.add(arn)
            else:
                self._waiting.discard(arn)
        if waiting:
            self._notify()

    def _others_wait(self, arn: str | None) -> bool:
        with self._lock:
            return all(a in self._waiting for a in self._running if a != arn)

    def _until_others_wait(self, arn: str | None) -> None:
        if arn is None or self._others_wait(arn):  # (a sleep outside any execution)
            return
        deadline = time.perf_counter() + GRACE_SECONDS
        with self._changed:
            self._changed.wait_for(
                lambda: self._others_wait(arn) or time.perf_counter() > deadline,
                GRACE_SECONDS,
            )

    def wait_for_change(self, seen: int, timeout: float) -> None:
        """Block until an execution ended or its program returned since `generation` was
        `seen`, or `timeout` wall seconds passed (the caller re-checks what it waits for)."""
        with self._changed:
            self._changed.wait_for(lambda: self.generation != seen, timeout)

    def _notify(self) -> None:
        with self._changed:
            self.generation += 1
            self._changed.notify_all()

    def terminated(self, execution: Any) -> None:
        """The execution's program returned (moto set its final status)."""
        with self._lock:
            self.finished.add(execution.exec_arn)
            stopped_at = self._ended.get(execution.exec_arn)
            if stopped_at is not None:  # already ended by a stop or a timeout: keep that
                # (the task that was running may have failed since: moto then sets FAILED)
                execution.stop_date = stopped_at
                # (no cut-short record: it ended normally and moto reports its end once more)
                cut = self._cut_short.get(execution.exec_arn)
                if cut is not None:
                    status, error, cause = cut
                    execution.exec_status, execution.error, execution.cause = status, error, cause
                self._notify()
                return
            self._ended[execution.exec_arn] = execution.stop_date
            self._running.pop(execution.exec_arn, None)
        self.emit(execution, str(execution.status))
        self._notify()

    def on_clock(self, t_from: datetime, t_to: datetime) -> None:
        if not self._running:
            return
        with self._lock:
            due = [r for r in self._running.values() if r.deadline and r.deadline <= t_to]
        for running in due:
            env = running.execution.exec_worker.env if running.execution.exec_worker else None
            if self.end_now(running.execution, "TIMED_OUT", None, None) and env is not None:
                env.set_timed_out()

    @property
    def running(self) -> list[str]:
        return list(self._running)

    def running_executions(self) -> list[Any]:
        """moto's Execution objects still running (the history limit finds one by them)."""
        with self._lock:
            return [r.execution for r in self._running.values()]

    # ------------------------------------------------------------------ events
    def emit(self, execution: Any, status: str) -> None:
        succeeded = status == "SUCCEEDED"
        detail = {
            "executionArn": execution.exec_arn,
            "stateMachineArn": execution.state_machine_arn,
            "name": execution.name,
            "status": status,
            "startDate": _ms(execution.start_date),
            "stopDate": None if status == "RUNNING" else _ms(execution.stop_date),
            "input": json.dumps(execution.input_data, separators=(",", ":")),
            "inputDetails": {"included": True},
            "output": json.dumps(execution.output, separators=(",", ":")) if succeeded else None,
            "outputDetails": {"included": True} if succeeded else None,
            "error": execution.error,
            "cause": execution.cause,
        }
        event = {"source": "aws.states", "detail-type": DETAIL_TYPE, "detail": detail}
        self.events.append(event)
        backend = module("moto.events.models").events_backends[self.account_id][self.region]
        backend.put_events(
            [
                {
                    "Source": "aws.states",
                    "DetailType": DETAIL_TYPE,
                    "Detail": json.dumps(detail),
                    "Resources": [execution.exec_arn],
                    "Time": self.clock.now().timestamp(),
                }
            ]
        )


def _timeout_seconds(definition: str) -> int | None:
    try:
        value = json.loads(definition).get("TimeoutSeconds")
    except (ValueError, AttributeError):
        return None
    return int(value) if isinstance(value, int) and value > 0 else None


def _status(name: str) -> Any:
    return module("moto.stepfunctions.parser.api").ExecutionStatus(name)


def _ms(when: datetime | None) -> int | None:
    return None if when is None else int(when.timestamp() * 1000)
