"""Load the shared JSON fixtures in events/ by name (also used by `sam local invoke -e`)."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parents[1] / "events"


def load_event(name: str) -> Any:
    """``load_event("shift-traffic")`` -> a fresh copy of events/shift-traffic.json."""
    return copy.deepcopy(_read(name.removesuffix(".json")))


@cache
def _read(name: str) -> Any:
    return json.loads((EVENTS / f"{name}.json").read_text())
