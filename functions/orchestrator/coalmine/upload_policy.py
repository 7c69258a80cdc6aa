"""Pure: an upload's deployment policy (read by Prepare through coalmine/uploads.py).

Where the policy comes from, first found wins per field: the S3 object's metadata
(`coalmine-strategy`, `coalmine-alarms`), else the function's tags (`coalmine:strategy`,
`coalmine:alarms`), else the defaults (ExecutionInput's). The execution input's own fields (a
rule's template, a caller's input) come before all of them; alarms are a union (a policy can add
an alarm, never drop one). A bad value fails with InvalidInput naming the field and where it
came from, e.g. ``coalmine-strategy (metadata of s3://bucket/deployments/f/b.zip)``.

Values: a strategy is a name (`Canary10Percent5Minutes`) or a JSON object (metadata only: tag
values cannot hold `{`, `"` or `,`); alarms are a JSON array of names, or names separated by
spaces (tags: an alarm name with a space needs the metadata's JSON form).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from coalmine import strategies
from coalmine.exceptions import InvalidInput
from coalmine.models import StrategySpec

METADATA_STRATEGY = "coalmine-strategy"
METADATA_ALARMS = "coalmine-alarms"
TAG_STRATEGY = "coalmine:strategy"
TAG_ALARMS = "coalmine:alarms"
MAX_ALARMS = 50
_SPEC: TypeAdapter[Any] = TypeAdapter(StrategySpec)


def with_policy(
    request: dict[str, Any],
    metadata: Mapping[str, str],
    tags: Mapping[str, str],
    object_url: str,
    function_name: str,
) -> dict[str, Any]:
    """The execution input with the policy's fields filled in (S3 gives metadata keys in lower
    case, without the `x-amz-meta-` prefix)."""
    sources = [
        (metadata, METADATA_STRATEGY, METADATA_ALARMS, f"metadata of {object_url}"),
        (tags, TAG_STRATEGY, TAG_ALARMS, f"tags of function {function_name}"),
    ]
    out = dict(request)
    alarms: list[str] = list((out.get("analysis") or {}).get("alarms") or [])
    for values, strategy_key, alarms_key, where in sources:
        if strategy_key in values and "strategy" not in out:
            out["strategy"] = parse_strategy(values[strategy_key], f"{strategy_key} ({where})")
        if alarms_key in values:
            more = parse_alarms(values[alarms_key], f"{alarms_key} ({where})")
            alarms += [name for name in more if name not in alarms]
    if alarms:
        out["analysis"] = {**(out.get("analysis") or {}), "alarms": alarms}
    return out


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
