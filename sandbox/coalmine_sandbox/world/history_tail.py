"""An execution's history read as it grows: each read asks GetExecutionHistory for the newest
events first (`reverseOrder`, pages of `maxResults`) and stops at the last event already read, so
a read costs what is new, not the whole history (which holds every state's input and output: a
long deployment carrying a large document would make every read slower than the last). Pages
are sized after the previous read, so a steady run reads about what is new in one request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FIRST_PAGE = 25
MAX_PAGE = 1000


@dataclass
class HistoryTail:
    """Reads an execution's history incrementally (each event is returned once, in order)."""

    sfn: Any
    execution_arn: str
    events: list[dict[str, Any]] = field(default_factory=list)
    _last_id: int = 0
    _page: int = FIRST_PAGE

    def new_events(self) -> list[dict[str, Any]]:
        fresh: dict[int, dict[str, Any]] = {}
        kwargs: dict[str, Any] = {
            "executionArn": self.execution_arn,
            "maxResults": self._page,
            "reverseOrder": True,
        }
        while True:
            page = self.sfn.get_execution_history(**kwargs)
            reached = False
            for event in page["events"]:
                if event["id"] <= self._last_id:
                    reached = True
                    break
                fresh[event["id"]] = event  # (a page may repeat events the history grew by)
            if reached or not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        new = [fresh[event_id] for event_id in sorted(fresh)]
        if new:
            self._last_id = new[-1]["id"]
        self._page = min(MAX_PAGE, max(10, len(new) + len(new) // 4 + 2))
        self.events.extend(new)
        return new
