"""Process-wide hooks the runtime needs (no moto here): `time.sleep` and sys.stdout/stderr.

Both are singletons installed once per process (reference-counted) and consult a thread-local
stack of running invocations, so modules that captured them (a handler's `sleep=time.sleep`
default argument, Powertools' StreamHandler holding `sys.stdout`) keep working across
Sandboxes: inside an invocation, `time.sleep(s)` adds `s` to that invocation's simulated
duration and output goes to the function's log sink; outside, they behave normally.
"""

from __future__ import annotations

import collections
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

_real_sleep = time.sleep
_tls = threading.local()
_lock = threading.Lock()
_installs = 0


class LogSink:
    """The last `max_lines` lines a function printed (a bounded CloudWatch Logs stand-in)."""

    def __init__(self, max_lines: int = 5000) -> None:
        self.lines: collections.deque[str] = collections.deque(maxlen=max_lines)
        self._partial = ""

    def write(self, text: str) -> None:
        text = self._partial + text
        *complete, self._partial = text.split("\n")
        self.lines.extend(complete)

    def begin(self, request_id: str, version: str) -> None:
        self.lines.append(f"START RequestId: {request_id} Version: {version}")

    def end(self, request_id: str, duration_ms: float) -> None:
        if self._partial:
            self.lines.append(self._partial)
            self._partial = ""
        self.lines.append(f"END RequestId: {request_id}")
        self.lines.append(f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms")

    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class InvocationState:
    sink: LogSink
    slept_ms: float = 0.0
    started: float | None = None  # the thread's CPU clock when the handler was called
    captured: list[str] = field(default_factory=list)

    def elapsed_ms(self) -> float:
        """The invocation's Duration: the simulated time it slept plus the CPU time the handler
        used. CPU time, not wall time: on a busy machine (CI, two cores) wall time also counts
        other processes' turns, and a healthy version's latency would then drift with the
        machine's load instead of its code."""
        used = (time.thread_time() - self.started) * 1000 if self.started is not None else 0.0
        return used + self.slept_ms

    def text(self) -> str:
        return "".join(self.captured)


def current() -> InvocationState | None:
    stack = getattr(_tls, "stack", None)
    return stack[-1] if stack else None


def push(state: InvocationState) -> None:
    stack = getattr(_tls, "stack", None)
    if stack is None:
        stack = _tls.stack = []
    stack.append(state)


def pop(state: InvocationState) -> None:
    stack = _tls.stack
    stack.remove(state)
    if stack:  # a nested synchronous invoke: the caller waited for the callee's sleeps too
        stack[-1].slept_ms += state.slept_ms


def simulated_sleep(seconds: float) -> None:
    state = current()
    if state is None:
        _real_sleep(seconds)
        return
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    state.slept_ms += seconds * 1000


class _StreamProxy:
    def __init__(self, name: str) -> None:
        self._name = name
        self._saved: TextIO | None = None

    def _target(self) -> Any:
        live = getattr(sys, self._name)
        if live is not self:
            return live
        return self._saved or getattr(sys, f"__{self._name}__")

    def write(self, text: str) -> int:
        state = current()
        if state is None:
            return self._target().write(text)
        state.sink.write(text)
        if len(state.captured) < 1000:
            state.captured.append(text)
        return len(text)

    def flush(self) -> None:
        if current() is None:
            self._target().flush()

    def isatty(self) -> bool:
        return False if current() is not None else bool(self._target().isatty())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)


STDOUT = _StreamProxy("stdout")
STDERR = _StreamProxy("stderr")


def install() -> None:
    global _installs
    with _lock:
        _installs += 1
        if _installs > 1:
            return
        time.sleep = simulated_sleep
        for proxy in (STDOUT, STDERR):
            proxy._saved = getattr(sys, proxy._name)
            setattr(sys, proxy._name, proxy)


def uninstall() -> None:
    global _installs
    with _lock:
        if _installs == 0:
            return
        _installs -= 1
        if _installs:
            return
        time.sleep = _real_sleep
        for proxy in (STDOUT, STDERR):
            if getattr(sys, proxy._name) is proxy:
                setattr(sys, proxy._name, proxy._saved)
            proxy._saved = None
