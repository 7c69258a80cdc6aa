"""What a handler is invoked with in tests: the shared JSON events in events/, loaded by name (also
used by `sam local invoke -e`), and a fake LambdaContext."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
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


@dataclass
class FakeLambdaContext:
    function_name: str = "coalmine-test"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:coalmine-test"
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"
    remaining_millis: int = 120_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis
