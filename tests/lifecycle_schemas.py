"""coalmine's lifecycle events checked against their JSON Schemas (schemas/events/*.json, JSON
Schema 2020-12): the unit tests check the schemas and the details coalmine builds; the sandbox's
conftest checks every event put on a bus in an end-to-end run."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas" / "events"


def slug(detail_type: str) -> str:
    return detail_type.lower().replace(" ", "-")


@cache
def validator(detail_type: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{slug(detail_type)}.json").read_text())
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def problems(detail_type: str, detail: Any) -> list[str]:
    """What is wrong with one event's detail (empty: valid)."""
    if not (SCHEMAS / f"{slug(detail_type)}.json").exists():
        return [f"no schema for detail-type {detail_type!r}"]
    return [
        f"{detail_type}: {'/'.join(map(str, e.absolute_path)) or '(detail)'}: {e.message}"
        for e in validator(detail_type).iter_errors(detail)
    ]


def event_problems(event: dict[str, Any]) -> list[str]:
    """An event as the sandbox saw it put: source coalmine, a known detail-type, its detail."""
    found = [] if event.get("source") == "coalmine" else [f"source {event.get('source')!r}"]
    detail = event.get("detail")
    arn = detail.get("executionArn") if isinstance(detail, dict) else None
    if arn and event.get("resources") != [arn]:
        found.append(f"resources {event.get('resources')!r} should be [{arn!r}]")
    return found + problems(str(event.get("detail-type")), detail)
