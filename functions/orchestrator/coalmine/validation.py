"""Pure: the raw execution input -> ExecutionInput, or InvalidInput naming the offending field.

Field paths are the input's own camelCase names with list indexes in brackets, e.g.
``strategy.steps[2].weight``, so a user can find the field in what they sent.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from coalmine import business_metrics, execution_limits, metric_queries, strategies, uploads
from coalmine.exceptions import InvalidInput
from coalmine.models import ExecutionInput
from coalmine.strategies import STRATEGY_TYPES

ROOT_FIELD = "input"
EITHER_FIELD = "targetVersion/code"
STRATEGY_SHAPE = (
    'must be a strategy name such as "Canary10Percent5Minutes" or an object whose type is '
    f"one of {', '.join(STRATEGY_TYPES)}"
)


def parse_request(
    raw: Any, artifact_bucket: str | None = None, policy: uploads.PolicyReader | None = None
) -> ExecutionInput:
    """Validate the execution input; exactly one of targetVersion and code must be given; the
    plan must fit in one execution's history (execution_limits.py). An `upload` (the S3 Object
    Created event, passed whole by the upload rule) becomes `code`, with its policy read by
    `policy` (uploads.with_upload_as_code)."""
    request = uploads.with_upload_as_code(_as_object(raw), artifact_bucket, policy)
    try:
        parsed = ExecutionInput.model_validate(request)
    except ValidationError as error:
        raise to_invalid_input(error, request) from None
    if (parsed.target_version is None) == (parsed.code is None):
        given = "both were given" if parsed.code is not None else "neither was given"
        raise InvalidInput(
            EITHER_FIELD,
            f"give exactly one of targetVersion (a published version) or code (an S3 zip); {given}",
        )
    if parsed.code is not None:
        code = parsed.code
        uploads.check_code(parsed.function_name, code.s3_bucket, code.s3_key, artifact_bucket)
    business_metrics.check(parsed.analysis.metrics)
    check_hook_callbacks(parsed)
    check_query_count(parsed)
    execution_limits.check(parsed, strategies.resolve(parsed.strategy))
    return parsed


def check_hook_callbacks(parsed: ExecutionInput) -> None:
    """A hook's callback settings need the hook they apply to (coalmine/hooks.py)."""
    cfg = parsed.analysis
    for hook, callback, name in (
        (cfg.pre_traffic_hook, cfg.pre_traffic_hook_callback, "preTrafficHook"),
        (cfg.post_traffic_hook, cfg.post_traffic_hook_callback, "postTrafficHook"),
    ):
        if callback is not None and hook is None:
            raise InvalidInput(
                f"analysis.{name}Callback",
                f"applies to analysis.{name}, which is not given: name the hook's function",
            )


def check_query_count(parsed: ExecutionInput) -> None:
    """Every tick reads its metrics in ONE GetMetricData request, which takes at most 500
    queries (business_metrics.MAX_METRICS keeps any valid input well under it)."""
    count = metric_queries.query_count(parsed.analysis)
    if count > metric_queries.MAX_QUERIES:
        raise InvalidInput(
            "analysis.metrics",
            f"the tick's GetMetricData request would hold {count} queries, more than the "
            f"{metric_queries.MAX_QUERIES} CloudWatch takes in one request",
        )


def to_invalid_input(error: ValidationError, request: dict[str, Any]) -> InvalidInput:
    """The first relevant pydantic error as InvalidInput(field path, problem)."""
    strategy = request.get("strategy")
    if "strategy" in request and not isinstance(strategy, str | dict):
        return InvalidInput("strategy", STRATEGY_SHAPE)
    items = error.errors(include_url=False)
    problems = [_problem(item) for item in items if _relevant(item["loc"], strategy)]
    field, message = problems[0] if problems else (ROOT_FIELD, str(error))
    more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    return InvalidInput(field, f"{message}{more}")


#: The tags of a steps plan's items (models.PlanItem): not fields of the input.
PLAN_ITEM_TAGS = ("step", "approval")


def field_path(loc: tuple[str | int, ...]) -> str:
    """('strategy', 'tagged-union[…]', 'steps', 'steps', 2, 'weight') -> 'strategy.steps[2].weight'.

    Union branches are not fields of the input: the ``tagged-union[...]`` segment and the
    discriminator's tag after it are dropped, and so is a plain-``str`` branch name.
    """
    parts: list[str | int] = []
    skip_tag = False
    for index, part in enumerate(loc):
        after_item = index > 0 and isinstance(loc[index - 1], int) and loc[0] == "strategy"
        if after_item and part in PLAN_ITEM_TAGS:  # a steps plan's item: a step or an approval
            continue
        if isinstance(part, str) and _is_schema_name(part):
            skip_tag = part.startswith("tagged-union")
            continue
        if skip_tag and part in STRATEGY_TYPES:
            skip_tag = False
            continue
        skip_tag = False
        parts.append(part)
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or ROOT_FIELD


def _is_schema_name(part: str) -> bool:
    return "[" in part or part.startswith("function-")


def _relevant(loc: tuple[str | int, ...], strategy: Any) -> bool:
    """Drop the errors of the union branch the input did not choose (a name vs an object)."""
    if len(loc) < 2 or loc[0] != "strategy":
        return True
    return (loc[1] == "str") == isinstance(strategy, str)


def _problem(item: Any) -> tuple[str, str]:
    path = field_path(item["loc"])
    if item["type"] in {"union_tag_not_found", "union_tag_invalid"}:
        return f"{path}.type", f"must be one of {', '.join(STRATEGY_TYPES)}"
    return path, _message(item)


def _message(item: Any) -> str:
    field = item["loc"][0] if item["loc"] else None
    if field == "targetVersion" and item["type"] == "string_type":
        return f'must be a version number as a string such as "7", not {item["input"]!r}'
    if field == "targetVersion" and item["type"] == "string_pattern_mismatch":
        return (
            f'{item["input"]!r} is not a published version number such as "7" '
            "($LATEST cannot take weighted traffic)"
        )
    message: str = item["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    return message[:1].lower() + message[1:]


def _as_object(raw: Any) -> dict[str, Any]:
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except ValueError as error:
            raise InvalidInput(ROOT_FIELD, f"not valid JSON: {error}") from None
    if not isinstance(raw, dict):
        raise InvalidInput(
            ROOT_FIELD, f"the execution input must be a JSON object, not {_json_type(raw)}"
        )
    return raw


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")
