"""Lambda's concurrency limit, in simulated time: a request arriving while the function's reserved
concurrency is all in use is throttled (``TooManyRequestsException``; the ``Throttles`` metric,
no Invocations, Errors or Duration).

Executions are serialised in the sandbox, so "in use" is computed, not observed: every admitted
request occupies one execution environment from its start for its (simulated) duration. Only a
function with reserved concurrency (``PutFunctionConcurrency`` / ``ReservedConcurrentExecutions``)
is limited; the account's unreserved pool is not emulated.
"""

from __future__ import annotations

import heapq


class Concurrency:
    def __init__(self) -> None:
        self._ends: dict[str, list[float]] = {}  # function -> heap of busy-until (epoch s)

    def in_use(self, function_name: str, at: float) -> int:
        """Executions of ``function_name`` still running at ``at`` (epoch seconds)."""
        ends = self._ends.setdefault(function_name, [])
        while ends and ends[0] <= at:
            heapq.heappop(ends)
        return len(ends)

    def admits(self, function_name: str, at: float, limit: int | None) -> bool:
        return limit is None or self.in_use(function_name, at) < limit

    def occupy(self, function_name: str, start: float, duration_ms: float) -> None:
        heapq.heappush(self._ends.setdefault(function_name, []), start + duration_ms / 1000)
