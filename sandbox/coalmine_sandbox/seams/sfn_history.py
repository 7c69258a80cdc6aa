"""GetExecutionHistory's paging, which moto 5.2.5 ignores (it answers every event, oldest first,
whatever the request asks): `maxResults` (a page of at most that many events; 0 means AWS's
default of 100), `nextToken` (the next page) and `reverseOrder` (newest first). A request with
none of them still gets every event in one answer, as from moto.

A page costs what it holds: moto copies the whole history for every request, and an execution
that carries a large document has a large history (its states' inputs and outputs), so reading
only what is new (newest first, down to the last event read) stays cheap however long it runs.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from .internals import module

DEFAULT_PAGE = 100
MAX_PAGE = 1000


def _history(original: Any) -> Any:
    def run(self: Any) -> Any:
        size, token = self._get_param("maxResults"), self._get_param("nextToken")
        reverse = bool(self._get_param("reverseOrder"))
        if size is None and token is None and not reverse:
            return original(self)  # moto's answer: every event
        execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
        limit = None if size is None else min(int(size) or DEFAULT_PAGE, MAX_PAGE)
        events, following = page(execution, _offset(token), limit, reverse)
        result: dict[str, Any] = {"events": events}
        if following is not None:
            result["nextToken"] = str(following)
        return module("moto.core.responses").ActionResult(result)

    return run


def page(
    execution: Any, offset: int, size: int | None, reverse: bool
) -> tuple[list[dict[str, Any]], int | None]:
    """(a copy of `size` events (None: all) from `offset`, newest first if `reverse`; the offset
    of the next page, None after the last one)."""
    worker = execution.exec_worker
    env = worker.env if worker is not None else None
    if env is None:  # not started yet
        return [], None
    manager = env.event_manager
    with manager._mutex:  # the execution's thread appends under it
        events = manager._history_event_list
        total = len(events)
        size = total if size is None else size
        if offset > total:
            raise module("moto.stepfunctions.exceptions").InvalidToken()
        if reverse:
            chosen = events[max(0, total - offset - size) : total - offset][::-1]
        else:
            chosen = events[offset : offset + size]
        chosen = copy.deepcopy(chosen)
    following = offset + len(chosen)
    return chosen, following if following < total else None


def _offset(token: str | None) -> int:
    if token is None:
        return 0
    if not token.isdigit():
        raise module("moto.stepfunctions.exceptions").InvalidToken()
    return int(token)


FACTORIES: dict[str, Callable[[Any], Any]] = {
    "StepFunctionResponse.get_execution_history": _history,
}
