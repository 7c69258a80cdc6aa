"""A scenario's `events`: the world's moves at simulated times during a rehearsal (moves.py makes
them, aws/faults.py injects the faults), each reported in the result JSON with what it did."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..sandbox import Sandbox
from . import moves
from .scenario import Event

Emit = Callable[[str], None]


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
        self.pending = sorted(events, key=lambda e: e.at_seconds)
        self.done: list[dict[str, Any]] = []
        self.second: list[str] = []
        self.started: datetime | None = None
        self.arn = ""

    def before_start(self) -> None:
        """Faults armed at 0 s must be in place before Prepare runs (it runs at once)."""
        for event in [e for e in self.pending if e.at_seconds == 0 and e.action == "inject-fault"]:
            self._perform(event, 0.0)

    def attach(self, arn: str, started: datetime) -> Callable[[], None]:
        self.arn, self.started = arn, started
        for event in [e for e in self.pending if e.at_seconds == 0]:
            self._perform(event, 0.0)
        return self.sb.add_listener(self.on_clock)

    def on_clock(self, t_from: datetime, t_to: datetime) -> None:
        if not self.pending or self.started is None:
            return
        elapsed = (t_to - self.started).total_seconds()
        while self.pending and self.pending[0].at_seconds <= elapsed:
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
        for event in self.pending:
            self.done.append({**_describe(event), "result": "not reached: the deployment ended"})
        self.pending = []
        return self.done

    def _perform(self, event: Event, elapsed: float) -> None:
        self.pending.remove(event)
        result = self._do(event)
        record = {**_describe(event), "performedAtSeconds": round(elapsed, 1), "result": result}
        self.done.append(record)
        self.emit(f"  [event] {event.action} at {elapsed:g} s: {result}")

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
            extra = f" + {event.weights}" if event.weights else ""
            return f"UpdateAlias {function}:{alias} -> v{version}{extra} (out of band)"
        if event.action == "stop-execution":
            status = self.sb.client("stepfunctions").describe_execution(executionArn=self.arn)
            if status["status"] != "RUNNING":
                return f"nothing to stop: the execution is {status['status']}"
            moves.stop_execution(self.sb, self.arn, event.cause)
            return "StopExecution: the execution is ABORTED"
        arn = moves.start_second_deployment(self.sb, self.request)
        self.second.append(arn)
        return f"started {arn.rsplit(':', 1)[-1]}"


def _describe(event: Event) -> dict[str, Any]:
    out: dict[str, Any] = {"atSeconds": event.at_seconds, "action": event.action}
    if event.action == "inject-fault":
        out |= {"state": event.state, "kind": event.kind, "times": event.times}
    if event.action == "tamper-alias":
        out["version"] = event.version
    return out
