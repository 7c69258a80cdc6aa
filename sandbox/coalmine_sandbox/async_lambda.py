"""Lambda's asynchronous invocation (`InvocationType=Event`, EventBridge and S3 targets): the
event is accepted at once and queued; Lambda runs it, and on a function error retries it twice,
one minute after the first attempt and two minutes after the second (AWS Lambda Developer Guide,
"Error handling and automatic retries in Lambda"; `MaximumRetryAttempts` 0-2, default 2).

Queued invocations run in simulated time: from a clock listener once their time has come, or from
`settle()` (which `Sandbox.wait_for_execution` calls once an execution has ended), which advances
the clock to the next retry while anything is queued. Every attempt is kept in `attempts`.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .runtime import Invocation

if TYPE_CHECKING:
    from .clock import SimClock

RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=2))
Invoker = Callable[[str, Any], Invocation]  # (function name or ARN, event) -> Invocation


@dataclass
class Attempt:
    function: str
    attempt: int  # 1, 2, 3
    at: datetime
    error: bool
    payload: Any
    executed_version: str


@dataclass(order=True)
class _Queued:
    due: datetime
    order: int
    function: str = field(compare=False)
    event: Any = field(compare=False)
    attempt: int = field(compare=False, default=1)
    retries: int = field(compare=False, default=2)


class AsyncInvoker:
    def __init__(self, clock: SimClock, invoke: Invoker) -> None:
        self.clock = clock
        self.invoke = invoke
        self.attempts: list[Attempt] = []
        self._queue: list[_Queued] = []
        self._order = itertools.count()
        self._lock = threading.RLock()
        self._running = False

    def submit(self, function: str, event: Any, retries: int = 2) -> None:
        """Accept an asynchronous invocation (202): it runs when simulated time allows."""
        with self._lock:
            item = _Queued(self.clock.now(), next(self._order), function, event, 1, retries)
            heapq.heappush(self._queue, item)

    @property
    def pending(self) -> int:
        return len(self._queue)

    def on_clock(self, t_from: datetime, t_to: datetime) -> None:
        if self._queue and self._queue[0].due <= t_to:
            self.run_due()

    def run_due(self) -> int:
        """Run every queued invocation whose time has come; returns how many ran."""
        ran = 0
        with self._lock:
            if self._running:  # an invocation advancing the clock: do not re-enter
                return 0
            self._running = True
            try:
                while self._queue and self._queue[0].due <= self.clock.now():
                    self._run(heapq.heappop(self._queue))
                    ran += 1
            finally:
                self._running = False
        return ran

    def settle(self, limit_seconds: float = 3600.0) -> None:
        """Run the queue to empty, advancing simulated time to each retry (at most the limit)."""
        deadline = self.clock.now() + timedelta(seconds=limit_seconds)
        while True:
            self.run_due()
            with self._lock:
                if not self._queue:
                    return
                due = self._queue[0].due
            if due > deadline:
                return
            self.clock.advance_to(due)

    def _run(self, item: _Queued) -> None:
        result = self.invoke(item.function, item.event)
        now = self.clock.now()
        self.attempts.append(
            Attempt(
                item.function,
                item.attempt,
                now,
                result.error,
                result.payload,
                result.executed_version,
            )
        )
        if result.error and item.attempt <= min(item.retries, len(RETRY_DELAYS)):
            delay = RETRY_DELAYS[item.attempt - 1]
            retry = _Queued(
                now + delay,
                next(self._order),
                item.function,
                item.event,
                item.attempt + 1,
                item.retries,
            )
            heapq.heappush(self._queue, retry)
