"""EventBridge target input -- pure: what a rule's target receives for an event.

`Input` (a constant JSON text), `InputPath` (one JSON path of the event), `InputTransformer`
(InputPathsMap + InputTemplate) or, with none of them, the whole event. Placeholder rules
(EventBridge User Guide, "Amazon EventBridge input transformation"):
- `<name>` is replaced by the value at the variable's path; `<` and `>` cannot be escaped.
- Inside a JSON string ("...<name>...") the value's text is inserted as it is: strings without
  their quotes and NOT escaped (the guide's predefined variables: "its contents are not
  escaped"; an S3 key holding a double quote or a backslash breaks out of the string or makes
  the input invalid JSON, which is why coalmine's upload rule passes the event whole); outside
  a string the value is inserted as JSON (strings quoted).
- A path that matches nothing gives null outside a string and nothing inside one.
- Predefined: aws.events.rule-arn, aws.events.rule-name, aws.events.event.ingestion-time,
  aws.events.event (the event without `detail`), aws.events.event.json (the whole event).
Only dot-notation paths with array indices are supported (EventBridge's own subset, no wildcards).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_MISSING = object()


def json_path(document: Any, path: str) -> Any:
    """The value at a dot-notation JSON path ($.a.b[0].c-d), or _MISSING."""
    if path == "$":
        return document
    if not path.startswith("$."):
        raise ValueError(f"unsupported JSON path {path!r}")
    current = document
    for part in path[2:].split("."):
        match = re.fullmatch(r"([^\[\]]+)((?:\[\d+\])*)", part)
        if match is None:
            raise ValueError(f"unsupported JSON path {path!r}")
        steps: list[str | int] = [match.group(1)]
        steps += [int(i) for i in re.findall(r"\[(\d+)\]", match.group(2))]
        for step in steps:
            if (isinstance(step, int) and isinstance(current, list) and step < len(current)) or (
                isinstance(step, str) and isinstance(current, dict) and step in current
            ):
                current = current[step]
            else:
                return _MISSING
    return current


def normalise_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event as EventBridge delivers it (moto's S3 gives `time` as epoch seconds)."""
    out = dict(event)
    if isinstance(out.get("time"), int | float):
        out["time"] = datetime.fromtimestamp(out["time"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def target_input(
    target: Mapping[str, Any],
    event: Mapping[str, Any],
    *,
    rule_arn: str = "",
    rule_name: str = "",
    ingestion_time: str = "",
) -> str:
    """The text the target receives (a JSON document for a Step Functions target)."""
    event = normalise_event(event)
    if "Input" in target:
        return str(target["Input"])
    if "InputPath" in target:
        value = json_path(event, target["InputPath"])
        return json.dumps(None if value is _MISSING else value)
    transformer = target.get("InputTransformer")
    if not transformer:
        return json.dumps(event)
    variables: dict[str, Any] = {
        "aws.events.rule-arn": rule_arn,
        "aws.events.rule-name": rule_name,
        "aws.events.event.ingestion-time": ingestion_time or event.get("time", ""),
        "aws.events.event": {k: v for k, v in event.items() if k != "detail"},
        "aws.events.event.json": event,
    }
    for name, path in (transformer.get("InputPathsMap") or {}).items():
        variables[name] = json_path(event, path)
    return render_template(str(transformer.get("InputTemplate", "")), variables)


def render_template(template: str, variables: Mapping[str, Any]) -> str:
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(template):
        ch = template[i]
        match = _PLACEHOLDER.match(template, i) if ch == "<" else None
        if match and match.group(1) in variables:
            out.append(_render_value(variables[match.group(1)], in_string))
            i = match.end()
            continue
        if ch == "\\" and in_string:
            out.append(template[i : i + 2])
            i += 2
            continue
        if ch == '"':
            in_string = not in_string
        out.append(ch)
        i += 1
    return "".join(out)


def _render_value(value: Any, in_string: bool) -> str:
    if value is _MISSING:
        return "" if in_string else "null"
    if not in_string:
        return json.dumps(value)
    return value if isinstance(value, str) else json.dumps(value)  # not escaped, as AWS does
