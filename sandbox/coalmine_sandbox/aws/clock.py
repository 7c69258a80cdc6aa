"""The simulated clock: time-machine freezes time; `advance` moves it in steps of at most 1 s.

Every thread sees the same simulated time (time-machine patches `time.time`, `datetime.now` ...
process-wide; `time.monotonic` and `time.perf_counter` stay real). Listeners `fn(t_from, t_to)`
run after each step, in registration order, with the clock already at `t_to`: synthetic
traffic, alarm evaluation, metric flushing. Wait states, Retry back-off and the sandbox's own
helpers call `advance`; Lambda handlers never do (their `time.sleep` is per invocation).

Paced (`pace(speed)`, `coalmine sandbox serve`): a thread moves the clock with wall time, `speed`
simulated seconds per wall second, and nothing else moves it: a Wait state or a Retry back-off
then waits (`wait_until`) for the clock to reach its end, as every client sees the same time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import time_machine

Listener = Callable[[datetime, datetime], None]

STEP = timedelta(seconds=1)
PACE_TICK = 0.05  # wall seconds between the paced clock's moves
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
        self._moved = threading.Condition()  # notified after every step
        self._pacer: threading.Thread | None = None
        self._stop_pacing = threading.Event()
        self.speed: float | None = None  # simulated seconds per wall second, when paced

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._travel is not None:
            raise RuntimeError("SimClock already started")
        self._travel = time_machine.travel(self._now, tick=False)
        self._traveller = self._travel.start()

    def stop(self) -> None:
        self.stop_pacing()
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
                with self._moved:
                    self._moved.notify_all()

    def advance_to(self, when: datetime) -> None:
        """Advance until `when` (no-op if it is not in the future)."""
        delta = (when - self._now).total_seconds()
        if delta > 0:
            self.advance(delta)

    # ------------------------------------------------------------------ paced
    @property
    def paced(self) -> bool:
        return self._pacer is not None

    def pace(self, speed: float) -> None:
        """From now on a thread moves the clock `speed` times as fast as wall time (steps of at
        most 1 s, listeners run from that thread). If the listeners cannot keep up, the clock
        falls behind and catches up as they can (it never skips a step)."""
        if speed <= 0:
            raise ValueError(f"speed must be > 0: {speed}")
        if self._pacer is not None:
            raise RuntimeError("SimClock already paced")
        self.speed = speed
        self._stop_pacing.clear()
        self._pacer = threading.Thread(target=self._run_paced, name="sim-clock", daemon=True)
        self._pacer.start()

    def stop_pacing(self) -> None:
        pacer, self._pacer = self._pacer, None
        if pacer is not None:
            self._stop_pacing.set()
            pacer.join(timeout=10)
        self.speed = None

    def wait_until(self, when: datetime, running: Callable[[], bool] = lambda: True) -> None:
        """Block (wall time) until the paced clock reads `when` or `running()` turns false."""
        with self._moved:
            while self._now < when and running() and self._pacer is not None:
                self._moved.wait(0.25)

    def _run_paced(self) -> None:
        speed = self.speed or 1.0
        began = time.monotonic()
        moved = 0.0  # simulated seconds moved since pacing began
        while not self._stop_pacing.wait(PACE_TICK):
            due = (time.monotonic() - began) * speed - moved
            if due >= 0.001:
                self.advance(due)
                moved += due
