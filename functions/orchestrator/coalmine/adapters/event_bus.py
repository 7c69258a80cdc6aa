"""EventBridge: coalmine's lifecycle events on the default bus (coalmine/lifecycle_events.py says
which and what they carry; docs/events.md).

PutEvents answers 200 even when entries failed: ``FailedEntryCount`` and an ``ErrorCode`` per
failed entry (ThrottlingException, InternalFailure, ...). The failed entries alone are sent
again; every write is best effort (adapters/best_effort.py): retried, then logged and counted
``EventWriteFailed``, never raised -- an event never changes a deployment's outcome.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from coalmine import lifecycle_events
from coalmine.adapters.best_effort import Incomplete, best_effort
from coalmine.observability import count, logger

#: The bus the stack lets its functions put on (template.yaml: "default"); unset: no events.
BUS_ENV = "EVENT_BUS_NAME"
METRIC = "EventWriteFailed"


@cache
def default_client() -> Any:  # no mypy-boto3-events stubs in the dev set
    return boto3.client("events", config=Config(retries={"mode": "standard"}))


class EventBus:
    def __init__(self, bus_name: str = "default", client: Any = None) -> None:
        self.bus_name = bus_name
        self.client = client if client is not None else default_client()

    @classmethod
    def from_env(cls) -> EventBus | None:
        """None where the stack gives no bus (a handler run outside the stack)."""
        name = os.environ.get(BUS_ENV)
        return cls(name) if name else None

    def put(self, entries: Sequence[dict[str, Any]], function_name: str) -> bool:
        """Every entry put (True), or the failures logged and counted (False)."""
        on_bus = [{**e, "EventBusName": self.bus_name} for e in entries]
        sent = [e for batch in lifecycle_events.batches(on_bus) for e in batch]
        ok = len(sent) == len(on_bus)
        if not ok:
            logger.error(f"{METRIC}: an event is over PutEvents' 256 KiB entry limit")
            count(METRIC, function_name)
        for batch in lifecycle_events.batches(on_bus):
            ok = self._put(batch, function_name) and ok
        return ok

    def _put(self, batch: list[dict[str, Any]], function_name: str) -> bool:
        pending = list(batch)

        def write() -> None:
            nonlocal pending
            answer = self.client.put_events(Entries=pending)
            if answer.get("FailedEntryCount", 0):
                answers = zip(pending, answer["Entries"], strict=True)
                failed = [(e, r) for e, r in answers if "ErrorCode" in r]
                pending = [e for e, _ in failed]
                codes = sorted({str(r.get("ErrorCode")) for _, r in failed})
                raise Incomplete(f"PutEvents: {len(failed)} entries failed ({', '.join(codes)})")

        return best_effort(write, METRIC, function_name)
