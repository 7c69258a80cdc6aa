"""Lambda's asynchronous invocation (`InvocationType=Event`, EventBridge and S3 targets), emulating
AWS (Lambda Developer Guide, "Asynchronous invocation", "Error handling and automatic retries",
"Capturing records of asynchronous invocations"):

- The event is accepted at once (202) and queued: `AsyncEventsReceived`.
- Each attempt is a fresh invocation of the target: through an alias, the alias's weights AT THAT
  MOMENT pick the version (a retry after a rollback runs on the stable version).
- A function error is retried `MaximumRetryAttempts` times (0-2, default 2): one minute after the
  first attempt, two minutes after the second. `AsyncEventAge` (ms since queueing) at each attempt.
- An event older than `MaximumEventAgeInSeconds` when its attempt comes due is not run.
- The outcome goes to the event invoke config's destination (`OnSuccess` / `OnFailure`) as an
  invocation record (destinations.py); an event dropped (retries exhausted or too old) counts in
  `AsyncEventsDropped` whether or not a destination received it ("events are sent there before
  they're dropped"); a record that cannot be delivered counts in `DestinationDeliveryFailures`.
- Async metrics carry {}, {FunctionName} and {FunctionName, Resource}; per-version figures come
  from Invocations/Errors with ExecutedVersion (every attempt is an invocation) and from the
  destination records' `executedVersion`.

Queued invocations run in simulated time: from a clock listener once their time has come, or from
`settle()`, which advances the clock to the next retry while anything is queued.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from . import destinations
from .destinations import AsyncConfig
from .invocation import Invocation
from .routing import split_function

if TYPE_CHECKING:
    from ..clock import SimClock

RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=2))
Invoker = Callable[[str, Any], Invocation]  # (function name or ARN, event) -> Invocation
ConfigLookup = Callable[[str], AsyncConfig | None]  # (function name or ARN) -> its config
Deliver = Callable[[str, str], None]  # (destination ARN, record JSON); raises if undeliverable


@dataclass
class Attempt:
    function: str
    attempt: int  # 1, 2, 3
    at: datetime
    error: bool
    payload: Any
    executed_version: str
    request_id: str = ""


@dataclass(order=True)
class _Queued:
    due: datetime
    order: int
    function: str = field(compare=False)
    event: Any = field(compare=False)
    attempt: int = field(compare=False, default=1)
    config: AsyncConfig = field(compare=False, default_factory=AsyncConfig)
    received: datetime | None = field(compare=False, default=None)
    request_id: str = field(compare=False, default="")
    last: Invocation | None = field(compare=False, default=None)


class AsyncInvoker:
    def __init__(
        self,
        clock: SimClock,
        invoke: Invoker,
        *,
        config: ConfigLookup | None = None,
        deliver: Deliver | None = None,
        metrics: Any = None,
        function_arn: Callable[[str], str] | None = None,
        seed: int = 0,
    ) -> None:
        self.clock = clock
        self.invoke = invoke
        self.config = config
        self.deliver = deliver
        self.metrics = metrics
        self.function_arn = function_arn or (lambda name: name)
        self.attempts: list[Attempt] = []
        self.listeners: list[Callable[[Attempt], None]] = []
        self.dropped = 0  # the emulator's own count (tests count the queues' messages instead)
        self._queue: list[_Queued] = []
        self._order = itertools.count()
        self._ids = random.Random(f"async-{seed}")
        self._lock = threading.RLock()
        self._running = False

    def submit(self, function: str, event: Any, retries: int | None = None) -> str:
        """Accept an asynchronous invocation (202): it runs when simulated time allows. The
        function's event invoke config decides retries, age and destinations; without one,
        `retries` (EventBridge's RetryPolicy) or Lambda's default of 2. Returns the request id."""
        config = self.config(function) if self.config else None
        if config is None:
            config = AsyncConfig(max_retries=2 if retries is None else min(int(retries), 2))
        now = self.clock.now()
        with self._lock:
            request_id = str(uuid.UUID(int=self._ids.getrandbits(128), version=4))
            item = _Queued(now, next(self._order), function, event, 1, config, now, request_id)
            heapq.heappush(self._queue, item)
        self._metric("AsyncEventsReceived", function, now, 1)
        return request_id

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

    # ------------------------------------------------------------------ internals
    def _run(self, item: _Queued) -> None:
        now = self.clock.now()
        received = item.received or now
        age = now - received
        if age.total_seconds() > item.config.max_event_age_seconds:
            self._finish(item, "EventAgeExceeded", item.attempt - 1)
            return
        self._metric(
            "AsyncEventAge", item.function, now, age.total_seconds() * 1000, "Milliseconds"
        )
        result = self.invoke(item.function, item.event)
        item.last = result
        attempt = Attempt(
            item.function,
            item.attempt,
            now,
            result.error,
            result.payload,
            result.executed_version,
            result.request_id,
        )
        self.attempts.append(attempt)
        for listener in tuple(self.listeners):
            listener(attempt)
        if not result.error:
            self._finish(item, "Success", item.attempt)
        elif item.attempt <= min(item.config.max_retries, len(RETRY_DELAYS)):
            item.due = self.clock.now() + RETRY_DELAYS[item.attempt - 1]
            item.order, item.attempt = next(self._order), item.attempt + 1
            heapq.heappush(self._queue, item)
        else:
            self._finish(item, "RetriesExhausted", item.attempt)

    def _finish(self, item: _Queued, condition: str, invoke_count: int) -> None:
        now = self.clock.now()
        if condition != "Success":
            self.dropped += 1
            self._metric("AsyncEventsDropped", item.function, now, 1)
        target = item.config.on_success if condition == "Success" else item.config.on_failure
        if target is None or self.deliver is None:
            return
        record = destinations.record(
            function_arn=self.function_arn(item.function),
            request_id=item.request_id,
            condition=condition,
            invoke_count=invoke_count,
            event=item.event,
            last=item.last,
            timestamp=now,
        )
        try:
            self.deliver(target, record)
        except Exception:  # AWS counts it and moves on: the record is lost
            self._metric("DestinationDeliveryFailures", item.function, now, 1)

    def _metric(
        self, metric: str, function: str, at: datetime, value: float, unit: str = "Count"
    ) -> None:
        if self.metrics is None:
            return
        name, qualifier = split_function(function)
        self.metrics.record_lambda(
            metric=metric,
            function_name=name,
            alias=qualifier,
            executed_version=None,
            timestamp=at,
            value=value,
            unit=unit,
        )
