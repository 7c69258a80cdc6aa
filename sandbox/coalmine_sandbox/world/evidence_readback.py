"""The rehearsal's ``steps``, every tick included: the deployment document keeps only a summary
per step (coalmine/evidence.py), so the ticks are read back from the evidence store (emulated S3,
``evidence.location`` of the document) and put back in their steps, numbered by ``seq``."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from ..sandbox import Sandbox


def steps_with_ticks(sb: Sandbox, document: dict[str, Any]) -> list[dict[str, Any]]:
    """``document["steps"]`` with each step's ``ticks`` complete (stored ones, then any the
    document still holds that the store lacks: a write that failed)."""
    steps = [dict(step) for step in document.get("steps") or []]
    location = (document.get("evidence") or {}).get("location")
    stored = _stored_ticks(sb, location) if location else {}
    for step in steps:
        ticks = dict(stored.get(step["index"], {}))
        for tick in step.get("ticks") or []:
            ticks.setdefault(tick.get("seq"), tick)
        step["ticks"] = [ticks[seq] for seq in sorted(ticks, key=lambda s: (s is None, s or 0))]
    return steps


def _stored_ticks(sb: Sandbox, location: str) -> dict[int, dict[int, dict[str, Any]]]:
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    s3 = sb.client("s3")
    found: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            body = json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
            step = body.pop("step")
            body.pop("weight", None)
            found[step][body["seq"]] = body
    return found
