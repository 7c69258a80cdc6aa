"""The simulated clock: time-machine freezes time; `advance` moves it in steps of at most 1 s.

Every thread sees the same simulated time (time-machine patches `time.time`, `datetime.now` ...
process-wide; `time.monotonic` and `time.perf_counter` stay real). Listeners `fn(t_from, t_to)`
run after each step, in registration order, with the clock already at `t_to`: synthetic
traffic, alarm evaluation, metric flushing. Wait states, Retry back-off and the sandbox's own
helpers call `advance`; Lambda handlers never do (their `time.sleep` is per invocation).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import time_machine

Listener = Callable[[datetime, datetime], None]

STEP = timedelta(seconds=1)
DEFAULT_START = datetime(2030, 1, 1, tzinfo=UTC)


class SimClock:
    def __init__(self, start: datetime | None = None) -> None:
        start = start or DEFAULT_START
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        self._now = start.astimezone(UTC)
        self._start = self._now
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._travel: time_machine.travel | None = None
        self._traveller: time_machine.Traveller | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._travel is not None:
            raise RuntimeError("SimClock already started")
        self._travel = time_machine.travel(self._now, tick=False)
        self._traveller = self._travel.start()

    def stop(self) -> None:
        if self._travel is not None:
            self._travel.stop()
        self._travel = self._traveller = None

    def __enter__(self) -> SimClock:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ time
    def now(self) -> datetime:
        """The simulated time (UTC, tz-aware)."""
        return self._now

    @property
    def elapsed_seconds(self) -> float:
        """Simulated seconds since the clock was created."""
        return (self._now - self._start).total_seconds()

    def add_listener(self, fn: Listener) -> Callable[[], None]:
        """Call `fn(t_from, t_to)` after every step; returns a function that removes it."""
        with self._lock:
            self._listeners.append(fn)

        def remove() -> None:
            with self._lock:
                if fn in self._listeners:
                    self._listeners.remove(fn)

        return remove

    def advance(self, seconds: float) -> None:
        """Move simulated time forward by `seconds`, in steps of at most 1 s."""
        if seconds < 0:
            raise ValueError(f"cannot move time backwards ({seconds} s)")
        remaining = timedelta(microseconds=round(seconds * 1_000_000))
        with self._lock:
            while remaining > timedelta(0):
                step = min(STEP, remaining)
                t_from = self._now
                t_to = t_from + step
                if self._traveller is not None:
                    self._traveller.shift(step)
                self._now = t_to
                remaining -= step
                for fn in tuple(self._listeners):
                    fn(t_from, t_to)

    def advance_to(self, when: datetime) -> None:
        """Advance until `when` (no-op if it is not in the future)."""
        delta = (when - self._now).total_seconds()
        if delta > 0:
            self.advance(delta)
