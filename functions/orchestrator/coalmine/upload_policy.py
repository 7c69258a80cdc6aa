"""Pure: an upload's deployment policy (read by Prepare through coalmine/uploads.py).

Where the policy comes from, first found wins per field: the S3 object's metadata
(`coalmine-strategy`, `coalmine-alarms`), else the `coalmine.json` policy object next to the zip
(`deployments/<function>/coalmine.json`: strategy, alias, analysis), else the function's tags
(`coalmine:strategy`, `coalmine:alarms`), else the defaults (ExecutionInput's). The execution
input's own fields (a caller's input) come before all of them; alarms are a union (a policy can
add an alarm, never drop one). A bad value fails with InvalidInput naming the field and where it
came from, e.g. ``coalmine-strategy (metadata of s3://bucket/deployments/f/b.zip)``,
``coalmine.json (s3://bucket/deployments/f/coalmine.json)`` for one that is not JSON.

Values: a strategy is a name (`Canary10Percent5Minutes`) or a JSON object (metadata and
coalmine.json: tag values cannot hold `{`, `"` or `,`); alarms are a JSON array of names, or
names separated by spaces (tags: an alarm name with a space needs the metadata's JSON form).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from coalmine import strategies
from coalmine.exceptions import InvalidInput
from coalmine.models import ExecutionInput, StrategySpec

METADATA_STRATEGY = "coalmine-strategy"
METADATA_ALARMS = "coalmine-alarms"
TAG_STRATEGY = "coalmine:strategy"
TAG_ALARMS = "coalmine:alarms"
MAX_ALARMS = 50
POLICY_OBJECT = "coalmine.json"
POLICY_FIELDS = ("strategy", "alias", "analysis")
MAX_POLICY_BYTES = 64 * 1024
_SPEC: TypeAdapter[Any] = TypeAdapter(StrategySpec)


def with_policy(
    request: dict[str, Any],
    metadata: Mapping[str, str],
    tags: Mapping[str, str],
    object_url: str,
    function_name: str,
    document: Mapping[str, Any] | None = None,
    document_url: str = "",
) -> dict[str, Any]:
    """The execution input with the policy's fields filled in (S3 gives metadata keys in lower
    case, without the `x-amz-meta-` prefix); `document`: the coalmine.json next to the upload,
    parsed (parse_policy_object), read from `document_url`. First found wins per field: the
    input, the metadata, the document, the tags; alarms are a union of all of them."""
    out = dict(request)
    analysis: dict[str, Any] = dict(out.get("analysis") or {})
    alarms: list[str] = list(analysis.get("alarms") or [])

    def add_alarms(more: list[str]) -> None:
        alarms.extend(name for name in more if name not in alarms)

    def from_values(
        values: Mapping[str, str], strategy_key: str, alarms_key: str, where: str
    ) -> None:
        if strategy_key in values and "strategy" not in out:
            out["strategy"] = parse_strategy(values[strategy_key], f"{strategy_key} ({where})")
        if alarms_key in values:
            add_alarms(parse_alarms(values[alarms_key], f"{alarms_key} ({where})"))

    from_values(metadata, METADATA_STRATEGY, METADATA_ALARMS, f"metadata of {object_url}")
    if document:
        for name in ("strategy", "alias"):
            if name in document and name not in out:
                out[name] = document[name]
        for name, value in (document.get("analysis") or {}).items():
            if name == "alarms":
                add_alarms(list(value))
            elif name not in analysis:
                analysis[name] = value
    from_values(tags, TAG_STRATEGY, TAG_ALARMS, f"tags of function {function_name}")
    if alarms:
        analysis["alarms"] = alarms
    if analysis:
        out["analysis"] = analysis
    return out


def policy_key(key: str) -> str:
    """The policy object next to an upload: deployments/f/coalmine.json for deployments/f/b."""
    return f"{key.rsplit('/', 1)[0]}/{POLICY_OBJECT}"


def parse_policy_object(text: str, where: str) -> dict[str, Any]:
    """A coalmine.json policy object: a JSON object of strategy, alias and analysis, each checked
    as the execution input checks it; else InvalidInput naming the field and the object."""
    try:
        value = json.loads(text)
    except ValueError as error:
        raise InvalidInput(f"{POLICY_OBJECT} ({where})", f"not JSON: {error}") from None
    if not isinstance(value, dict):
        raise InvalidInput(
            f"{POLICY_OBJECT} ({where})",
            f"must be a JSON object with any of {', '.join(POLICY_FIELDS)}",
        )
    unknown = sorted(set(value) - set(POLICY_FIELDS))
    if unknown:
        raise InvalidInput(
            f"{unknown[0]} ({where})",
            f"not a policy field: a policy object holds {', '.join(POLICY_FIELDS)}",
        )
    try:
        ExecutionInput.model_validate({"functionName": "f", "targetVersion": "2", **value})
    except ValidationError as error:
        first = error.errors()[0]
        path = ".".join(str(part) for part in first["loc"]) or "policy"
        if path.startswith("strategy"):
            path = "strategy"  # (pydantic tries each form of a union: the first is noise)
        raise InvalidInput(f"{path} ({where})", str(first["msg"])) from None
    if "strategy" in value:
        value["strategy"] = _checked_strategy(value["strategy"], f"strategy ({where})")
    return dict(value)


def _checked_strategy(value: Any, field: str) -> str | dict[str, Any]:
    text = value if isinstance(value, str) else json.dumps(value)
    return parse_strategy(text, field)


def parse_strategy(text: str, field: str) -> str | dict[str, Any]:
    """A strategy name or a JSON strategy object, checked as the execution input checks it."""
    value: Any = text.strip()
    if value.startswith("{"):
        try:
            value = json.loads(value)
            _SPEC.validate_python(value, strict=True)
        except (ValueError, ValidationError) as error:
            raise InvalidInput(field, f"not a strategy object: {_first_line(error)}") from None
        return dict(value)
    try:
        strategies.resolve(value)
    except InvalidInput as error:
        raise InvalidInput(field, error.problem) from None
    return str(value)


def parse_alarms(text: str, field: str) -> list[str]:
    value = text.strip()
    if value.startswith("["):
        try:
            names = json.loads(value)
        except ValueError as error:
            raise InvalidInput(field, f"not a JSON array: {error}") from None
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise InvalidInput(field, "must be a JSON array of alarm names")
    else:
        names = value.split()
    if not names or len(names) > MAX_ALARMS or any(len(n) > 255 for n in names):
        raise InvalidInput(field, f"1 to {MAX_ALARMS} alarm names of at most 255 characters")
    return list(names)


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
