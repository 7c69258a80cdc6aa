"""The rehearsal's ``steps``, every tick included: the deployment document keeps only a summary
per step (coalmine/evidence.py), so the ticks are read back from the evidence store (emulated S3,
``evidence.location`` of the document) and put back in their steps, numbered by ``seq``: the
domain's own read-back (coalmine/execution_timeline.py, adapters/timeline_sources.py), the one
``coalmine report`` and RecordTimeline use (the deployment's ``timeline.json`` is no tick)."""

from __future__ import annotations

from typing import Any

from coalmine.adapters.timeline_sources import stored_ticks
from coalmine.execution_timeline import stored_steps

from ..sandbox import Sandbox


def steps_with_ticks(sb: Sandbox, document: dict[str, Any]) -> list[dict[str, Any]]:
    """``document["steps"]`` with each step's ``ticks`` complete (stored ones, then any the
    document still holds that the store lacks: a write that failed)."""
    location = (document.get("evidence") or {}).get("location") or ""
    return stored_steps(document, stored_ticks(sb.client("s3"), location))
