"""A scenario's `events`: the world's moves during a rehearsal (moves.py makes them,
aws/faults.py injects the faults), each reported in the result JSON with what it did.

An event happens `atSeconds` simulated seconds after the execution started (a clock listener), or
as the `atEntry`-th invocation of the Task state `atState` starts (a hook on that state's function,
run on the state machine's thread before the invocation, which then runs as it would: AWS does not
cancel a task's Lambda call when the execution stops). An `inject-api-fault` is armed before the
execution starts with its window of simulated time (`fromSeconds`..`toSeconds`, judged at the
time each calling invocation sees), so it is lifted exactly at `toSeconds`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ..aws.faults import ApiFault
from ..sandbox import Sandbox
from . import moves
from .scenario import OPERATOR_ACTIONS, Event

Emit = Callable[[str], None]
# How long (wall) a state hook waits for the rehearsal to learn its execution's ARN: the state
# machine may reach Prepare before start_execution has returned to the rehearsal.
_ARN_WAIT_SECONDS = 10.0


class EventPlayer:
    def __init__(
        self,
        sb: Sandbox,
        events: list[Event],
        versions: dict[str, str],
        request: dict[str, Any],
        emit: Emit,
    ) -> None:
        self.sb, self.versions, self.request, self.emit = sb, versions, request, emit
        self.pending = sorted(
            (e for e in events if e.at_seconds is not None), key=lambda e: e.at_seconds or 0.0
        )
        self.by_state = [e for e in events if e.at_state is not None]
        self.windows = [e for e in events if e.action == "inject-api-fault"]
        self.done: list[dict[str, Any]] = []
        self.second: list[str] = []
        self.started: datetime | None = None
        self.arn = ""
        self._known = threading.Event()
        self._lock = threading.RLock()
        self._api_faults: list[tuple[dict[str, Any], ApiFault]] = []
        self._set_versions: dict[int, str] = {}

    def before_start(self, started: datetime | None = None) -> None:
        """Faults armed at 0 s must be in place before Prepare runs (it runs at once); so must
        the API faults' windows and the state hooks."""
        self.started = started or self.sb.clock.now()
        for event in [e for e in self.pending if e.at_seconds == 0 and e.action == "inject-fault"]:
            self._perform(event, 0.0)
        for event in self.windows:
            self._arm_window(event)
        for event in self.by_state:
            assert event.at_state
            try:
                self.sb.faults.before_invoke(
                    event.at_state, lambda e=event: self._on_state(e), occurrence=event.at_entry
                )
            except ValueError as error:
                raise ValueError(
                    f"events: atState {event.at_state!r} is not a Task state of the state "
                    f"machine (one with a function: Prepare, ShiftTraffic, Analyze, Promote, "
                    f"Rollback, ReleaseLock, ...): {error}"
                ) from error

    def attach(self, arn: str, started: datetime) -> Callable[[], None]:
        self.arn, self.started = arn, started
        self._known.set()
        for event in [e for e in self.pending if e.at_seconds == 0]:
            self._perform(event, 0.0)
        return self.sb.add_listener(self.on_clock)

    def on_clock(self, t_from: datetime, t_to: datetime) -> None:
        if not self.pending or self.started is None:
            return
        elapsed = (t_to - self.started).total_seconds()
        while self.pending and (self.pending[0].at_seconds or 0.0) <= elapsed:
            self._perform(self.pending[0], elapsed)

    def finish(self) -> list[dict[str, Any]]:
        """Let second deployments end; report every event (those never reached included)."""
        for record, arn in zip(
            [r for r in self.done if r["action"] == "start-second-deployment"],
            self.second,
            strict=True,
        ):
            ended = self.sb.wait_for_execution(arn)
            record["result"] += f"; it ended {ended['status']}" + (
                f" ({ended.get('error')})" if ended.get("error") else ""
            )
        with self._lock:
            for event in self.pending + self.by_state:
                self.done.append(
                    {**_describe(event), "result": "not reached: the deployment ended"}
                )
            self.pending, self.by_state = [], []
        return self.done

    def count_faults(self) -> None:
        """Once what the ending triggered has run (Cleanup and its retries): how many calls
        each API fault answered."""
        for record, fault in self._api_faults:
            record["result"] += f"; answered {fault.fired} call(s) with {fault.code}"

    def _on_state(self, event: Event) -> None:
        """A state hook: runs on the state machine's thread as the state's task starts."""
        self._known.wait(_ARN_WAIT_SECONDS)
        assert self.started is not None
        elapsed = (self.sb.faults.caller_now() - self.started).total_seconds()
        with self._lock:
            if event not in self.by_state:
                return
            self.by_state.remove(event)
        self._record(event, elapsed, self._do(event))

    def _perform(self, event: Event, elapsed: float) -> None:
        with self._lock:
            self.pending.remove(event)
        self._record(event, elapsed, self._do(event))

    def _record(self, event: Event, elapsed: float, result: str) -> dict[str, Any]:
        record = {**_describe(event), "performedAtSeconds": round(elapsed, 1), "result": result}
        if id(event) in self._set_versions:  # tamper-alias: the version it set
            record["functionVersion"] = self._set_versions[id(event)]
        with self._lock:
            self.done.append(record)
        where = f"on entering {event.at_state}" if event.at_state else f"at {elapsed:g} s"
        self.emit(f"  [event] {event.action} {where}: {result}")
        return record

    def _arm_window(self, event: Event) -> None:
        assert self.started is not None
        assert event.api
        assert event.service
        assert event.kind
        start = event.from_seconds or 0.0
        fault = self.sb.faults.inject_api(
            event.api,
            service=event.service,
            kind=event.kind,
            caller=event.caller,
            occurrence=event.occurrence or 1,
            times=event.api_fault_times,
            start=self.started + timedelta(seconds=start),
            until=None
            if event.to_seconds is None
            else self.started + timedelta(seconds=event.to_seconds),
        )
        until = "the end" if event.to_seconds is None else f"{event.to_seconds:g} s"
        whose = f" from {event.caller}" if event.caller else ""
        result = f"{event.kind} on {event.service} {event.api}{whose} from {start:g} s to {until}"
        self._api_faults.append((self._record(event, start, result), fault))

    def _do(self, event: Event) -> str:
        function, alias = self.request["functionName"], self.request.get("alias", "prod")
        if event.action == "inject-fault":
            assert event.state
            assert event.kind
            self.sb.faults.inject(event.state, event.kind, at_step=event.at_step, times=event.times)
            times = "every time" if event.times is None else f"{event.times} time(s)"
            return f"armed {event.kind} on {event.state} ({times})"
        if event.action == "tamper-alias":
            version = self.versions.get(event.version, event.version)
            moves.tamper_alias(self.sb, function, alias, version, event.weights)
            self._set_versions[id(event)] = version
            extra = f" + {event.weights}" if event.weights else ""
            return f"UpdateAlias {function}:{alias} -> v{version}{extra} (out of band)"
        if event.action == "stop-execution":
            status = self.sb.client("stepfunctions").describe_execution(executionArn=self.arn)
            if status["status"] != "RUNNING":
                return f"nothing to stop: the execution is {status['status']}"
            moves.stop_execution(self.sb, self.arn, event.cause)
            return "StopExecution: the execution is ABORTED"
        if event.action == "metrics-delay":
            assert event.seconds is not None
            before = self.sb.metrics.publish_delay_seconds
            self.sb.metrics.set_publish_delay(event.seconds)
            return f"CloudWatch's publishing delay {before:g} s -> {event.seconds:g} s"
        if event.action == "candidate-change":
            return self._candidate_change(event, function)
        if event.action in OPERATOR_ACTIONS:
            assert event.reason
            return moves.operator_request(self.sb, event.action, function, alias, event.reason)
        if event.action == "expire-lock":
            if moves.expire_lock(self.sb, function, alias):
                return f"the lock on {function}:{alias} is past its expiry (its holder runs on)"
            return f"no lock on {function}:{alias} to expire"
        arn = moves.start_second_deployment(self.sb, self.request)
        self.second.append(arn)
        return f"started {arn.rsplit(':', 1)[-1]}"

    def _candidate_change(self, event: Event, function: str) -> str:
        knobs: dict[str, str] = {}
        if event.error_rate is not None:
            knobs["FAULT_ERROR_RATE"] = f"{event.error_rate:g}"
        if event.latency_ms is not None:
            knobs["FAULT_LATENCY_MS"] = f"{event.latency_ms:g}"
        version = self.versions["candidate"]
        moves.change_behaviour(self.sb, function, version, knobs)
        return f"v{version} now behaves with " + ", ".join(f"{k}={v}" for k, v in knobs.items())


def _describe(event: Event) -> dict[str, Any]:
    out: dict[str, Any] = {"atSeconds": event.at_seconds, "action": event.action}
    if event.at_state is not None:
        out |= {"atState": event.at_state, "atEntry": event.at_entry}
    if event.action == "inject-fault":
        out |= {"state": event.state, "kind": event.kind, "times": event.times}
    if event.action == "tamper-alias":
        out["version"] = event.version
    if event.action == "inject-api-fault":
        out |= {
            "service": event.service,
            "api": event.api,
            "kind": event.kind,
            "caller": event.caller,
            "fromSeconds": event.from_seconds or 0.0,
            "toSeconds": event.to_seconds,
        }
    if event.action == "metrics-delay":
        out["seconds"] = event.seconds
    if event.action == "candidate-change":
        out |= {"errorRate": event.error_rate, "latencyMs": event.latency_ms}
    if event.action in OPERATOR_ACTIONS:
        out["reason"] = event.reason
    return out
