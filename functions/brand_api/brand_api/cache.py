"""A small per-environment TTL cache for brand lookups (the article's "faster logo lookup").

Brands change rarely and are read on every request, so each execution environment keeps what it
read for ``BRAND_CACHE_TTL_SECONDS`` (default 60; 0 turns the cache off). Misses (unknown ids) are
cached too, so a burst of requests for a missing brand does not hammer the table. Bounded: the
least recently used entry goes first.
"""

from __future__ import annotations

import math
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

TTL_ENV = "BRAND_CACHE_TTL_SECONDS"
DEFAULT_TTL_SECONDS = 60.0
MAX_ENTRIES = 1024

_MISSING = object()


class TtlCache:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Any, tuple[float, Any]] = OrderedDict()

    def get_or_load(self, key: Any, ttl_seconds: float, load: Callable[[], Any]) -> Any:
        now = time.time()
        entry = self._entries.get(key, _MISSING)
        if entry is not _MISSING and entry[0] > now:  # type: ignore[index]
            self._entries.move_to_end(key)
            return entry[1]  # type: ignore[index]
        value = load()
        if ttl_seconds > 0:
            self._entries[key] = (now + ttl_seconds, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        self._entries.clear()


def ttl_seconds() -> float:
    """The TTL from the environment; unset, unparsable, negative or non-finite -> the default."""
    raw = os.environ.get(TTL_ENV, "")
    try:
        value = float(raw) if raw else DEFAULT_TTL_SECONDS
    except ValueError:
        return DEFAULT_TTL_SECONDS
    return value if math.isfinite(value) and value >= 0 else DEFAULT_TTL_SECONDS
