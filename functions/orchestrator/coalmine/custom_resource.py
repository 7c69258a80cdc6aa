"""Pure: the ``Custom::CoalmineAlias`` CloudFormation custom resource (docs/cloudformation.md).

CloudFormation sends the provider (handlers/coalmine_alias.py) a Create, Update or Delete
request carrying ``ResponseURL`` (a pre-signed S3 URL), ``StackId``, ``RequestId``,
``LogicalResourceId``, ``PhysicalResourceId`` (Update, Delete), ``ResourceProperties`` and
``OldResourceProperties`` (Update); the provider PUTs one JSON answer (``Status`` SUCCESS or
FAILED, ``Reason``, the same ids, optional ``Data``; at most 4,096 bytes) to that URL within the
resource's timeout (``ServiceTimeout``, 1..3600 s, default 3600) or the stack operation fails
(AWS CloudFormation User Guide, "Custom resource request objects", "Custom resource response
objects"). Property values arrive as strings ("10", "true"): the execution input's models coerce
them.

What each request does (``decide``):

- Delete: SUCCESS, nothing touched (the function and its alias stay).
- Create, or an Update naming another function or alias (a replacement: a new physical id, and
  CloudFormation's Delete of the old one touches nothing): the alias pointed wholly at
  ``FunctionVersion`` at once (created if missing).
- Update, alias already wholly on ``FunctionVersion``: SUCCESS (the rollback Update of the very
  resource whose deployment coalmine rolled back lands here, as does a change of Strategy only).
- Update to a version older than the alias's primary (a lower number: Lambda numbers versions in
  order, so only a revert, such as CloudFormation's rollback Update after another resource
  failed, moves an alias back), or to its primary while weights remain: the alias wholly on it at
  once, no canary.
- Update to a newer version: a coalmine deployment (``StartDeployment``), its execution input
  carrying ``callback`` (where to answer); the execution's end answers (``ended``).

Every request is checked first: the required properties, no unknown one, the strategy and
analysis as ``coalmine deploy`` would check them, and (Create and Update) the plan's worst-case
duration within the resource's timeout (``worst_case_seconds``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from coalmine import execution_limits, strategies, validation
from coalmine.exceptions import InvalidInput, lambda_error_message
from coalmine.models import AliasState, AnalysisConfig, ExecutionInput, Plan

RESOURCE_TYPE = "Custom::CoalmineAlias"
SUCCESS, FAILED = "SUCCESS", "FAILED"
REQUEST_TYPES = ("Create", "Update", "Delete")
ENVELOPE = ("RequestType", "ResponseURL", "StackId", "RequestId", "LogicalResourceId")
REQUIRED = ("FunctionName", "AliasName", "FunctionVersion")
OPTIONAL = ("Strategy", "Analysis")
CLOUDFORMATIONS = ("ServiceToken", "ServiceTimeout")  # CloudFormation's own, passed on to us
DEFAULT_TIMEOUT_SECONDS = 3600  # a custom resource's longest (and default) ServiceTimeout
#: what a deployment takes besides its bakes: Prepare, PublishVersion, each ShiftTraffic,
#: lifecycle hooks (60 s each), Promote, ReleaseLock, the end event reaching the provider and
#: its answer, with Retry back-offs
RESERVE_SECONDS = 300
RESPONSE_LIMIT_BYTES = 4096
DELETED = "removed from the stack; the function and its alias are left as they are"
ANSWERED_PREFIX = "cfn-answer#"  # the lock table's key of a request answered at an execution's end
#: execution names are at most 80 characters of [A-Za-z0-9_-]: "cfn-" + CloudFormation's RequestId
EXECUTION_PREFIX = "cfn-"


class Refused(Exception):
    """The request cannot be carried out: answered FAILED with this reason, nothing changed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AliasProperties:
    function_name: str
    alias_name: str
    function_version: str
    strategy: Any = None
    analysis: Any = None
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS

    @property
    def physical_id(self) -> str:
        return f"{self.function_name}:{self.alias_name}"


@dataclass(frozen=True)
class Request:
    request_type: str
    response_url: str
    stack_id: str
    request_id: str
    logical_id: str
    physical_id: str | None
    properties: dict[str, Any]
    old_properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """Answer at once."""

    status: str
    reason: str
    physical_id: str
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PointAlias:
    """Point the alias wholly at ``props.function_version`` (creating it), then SUCCESS."""

    props: AliasProperties
    why: str


@dataclass(frozen=True)
class StartDeployment:
    """Start a coalmine deployment with ``execution_input``; its end answers."""

    props: AliasProperties
    execution_input: dict[str, Any]
    execution_name: str


Decision = Answer | PointAlias | StartDeployment


# ----------------------------------------------------------------------------- parsing
def parse(event: Any) -> Request:
    """The request's envelope. Raises Refused if it is not a CloudFormation request the provider
    can answer (then there is no URL to answer to: the caller logs and fails)."""
    if not isinstance(event, dict):
        raise Refused(f"a CloudFormation request is a JSON object, not {type(event).__name__}")
    missing = [name for name in ENVELOPE if not isinstance(event.get(name), str) or not event[name]]
    if missing:
        raise Refused(f"not a CloudFormation custom resource request: no {', '.join(missing)}")
    if event["RequestType"] not in REQUEST_TYPES:
        raise Refused(f"unknown RequestType {event['RequestType']!r}")
    properties = event.get("ResourceProperties") or {}
    old = event.get("OldResourceProperties") or {}
    return Request(
        request_type=event["RequestType"],
        response_url=event["ResponseURL"],
        stack_id=event["StackId"],
        request_id=event["RequestId"],
        logical_id=event["LogicalResourceId"],
        physical_id=event.get("PhysicalResourceId") or None,
        properties=properties if isinstance(properties, dict) else {},
        old_properties=old if isinstance(old, dict) else {},
    )


def alias_properties(raw: dict[str, Any]) -> AliasProperties:
    """The resource's properties, or Refused naming the missing, empty or unknown one."""
    missing = [n for n in REQUIRED if not isinstance(raw.get(n), str) or not raw[n].strip()]
    if missing:
        names = ", ".join(missing)
        raise Refused(
            f"{RESOURCE_TYPE}: missing property {names} (required: {', '.join(REQUIRED)}; "
            f"optional: {', '.join(OPTIONAL)}); nothing was changed"
        )
    unknown = sorted(set(raw) - set(REQUIRED) - set(OPTIONAL) - set(CLOUDFORMATIONS))
    if unknown:
        raise Refused(
            f"{RESOURCE_TYPE}: unknown property {', '.join(unknown)} (known: "
            f"{', '.join(REQUIRED + OPTIONAL)}); nothing was changed"
        )
    return AliasProperties(
        function_name=raw["FunctionName"].strip(),
        alias_name=raw["AliasName"].strip(),
        function_version=raw["FunctionVersion"].strip(),
        strategy=raw.get("Strategy"),
        analysis=raw.get("Analysis"),
        timeout_seconds=_timeout(raw.get("ServiceTimeout")),
    )


def execution_input(props: AliasProperties) -> dict[str, Any]:
    """The coalmine execution input the properties mean (without ``callback``)."""
    body: dict[str, Any] = {
        "functionName": props.function_name,
        "alias": props.alias_name,
        "targetVersion": props.function_version,
    }
    if props.strategy not in (None, ""):
        body["strategy"] = props.strategy
    if props.analysis not in (None, ""):
        body["analysis"] = props.analysis
    return body


def checked(props: AliasProperties) -> dict[str, Any]:
    """The execution input the properties mean, typed (CloudFormation's "10" -> 10, "true" ->
    true, guided by the input's models) and validated as ``coalmine deploy``'s is, with the
    plan's worst case within the resource's timeout; Refused naming the property otherwise."""
    body = _typed(execution_input(props))
    try:
        parsed = validation.parse_request(body)
    except InvalidInput as error:
        raise Refused(
            f"{RESOURCE_TYPE}: {_property_of(error.field)}: {error.problem}; nothing was changed"
        ) from None
    plan = strategies.with_watch(strategies.resolve(parsed.strategy), parsed.analysis.watch_seconds)
    worst = worst_case_seconds(plan, parsed.analysis)
    if worst > props.timeout_seconds:
        raise Refused(
            f"{RESOURCE_TYPE}: {plan.strategy} can take up to {worst:,} s (its bakes, "
            f"maxBakeExtensionSeconds {parsed.analysis.max_bake_extension_seconds} s each for low "
            f"traffic, the metrics' delay and {RESERVE_SECONDS} s for the other states), over "
            f"the {props.timeout_seconds:,} s CloudFormation waits for a custom resource: "
            "shorten the strategy or lower Analysis.maxBakeExtensionSeconds, or deploy this "
            "function with `coalmine deploy` (docs/cloudformation.md); nothing was changed"
        )
    return body


def worst_case_seconds(plan: Plan, cfg: AnalysisConfig) -> int:
    """The longest a deployment of ``plan`` can run before its end is answered (operator pauses
    aside): every bake at its longest (extended for low traffic, waiting for its last minute's
    metrics; the last one lengthened to an async target's retry window, as execution_limits
    counts them), each callback hook's longest wait (hooks.py), plus RESERVE_SECONDS."""
    bakes = [step.bake_seconds for step in plan.steps]
    post = plan.post_promotion_bake_seconds
    if post > 0:
        post = max(post, execution_limits.LONGEST_ASYNC_RETRY_WINDOW)
    elif bakes:
        bakes[-1] = max(bakes[-1], execution_limits.LONGEST_ASYNC_RETRY_WINDOW)
    tail = execution_limits.METRICS_MINUTE_SECONDS + cfg.metrics_delay_seconds
    longest = [b + cfg.max_bake_extension_seconds + tail for b in bakes]
    if post > 0:
        longest.append(post + cfg.max_bake_extension_seconds + tail)
    callbacks = (cfg.pre_traffic_hook_callback, cfg.post_traffic_hook_callback)
    longest += [c.timeout_seconds for c in callbacks if c is not None]
    return sum(longest) + RESERVE_SECONDS


# ----------------------------------------------------------------------------- deciding
def decide(request: Request, alias: AliasState | None, body: dict[str, Any]) -> Decision:
    """What to do with a request, given the alias as it is (None: no such alias) and ``body``,
    the execution input its properties mean (``checked``)."""
    if request.request_type == "Delete":  # whatever its properties: the function is left alone
        return Answer(SUCCESS, DELETED, request.physical_id or fallback_physical_id(request))
    props = alias_properties(request.properties)
    target = props.function_version
    if request.request_type == "Create" or _replaced(request, props) or alias is None:
        if alias is not None and alias.function_version == target and not alias.weights:
            return Answer(SUCCESS, f"alias already on version {target}", props.physical_id,
                          data(props))  # fmt: skip
        return PointAlias(props, f"{request.request_type}: alias pointed at version {target}")
    if alias.function_version == target:
        if not alias.weights:
            return Answer(SUCCESS, f"alias already on version {target}", props.physical_id,
                          data(props))  # fmt: skip
        return PointAlias(props, f"alias made whole on version {target} (weights removed)")
    if _older(target, alias.function_version):
        return PointAlias(
            props,
            f"revert: alias moved back from version {alias.function_version} to {target} at "
            "once (a version older than the alias's is not canaried)",
        )
    started = {**body, "callback": callback(request, props)}
    return StartDeployment(props, started, execution_name(request.request_id))


def callback(request: Request, props: AliasProperties) -> dict[str, str]:
    """Where the execution's end answers (ExecutionInput.callback)."""
    return {
        "responseUrl": request.response_url,
        "stackId": request.stack_id,
        "requestId": request.request_id,
        "logicalResourceId": request.logical_id,
        "physicalResourceId": props.physical_id,
        "functionVersion": props.function_version,
    }


def execution_name(request_id: str) -> str:
    """Deterministic (a retried request starts no second execution), within 80 characters."""
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in request_id)
    return (EXECUTION_PREFIX + safe)[:80]


def data(props: AliasProperties) -> dict[str, str]:
    """``Fn::GetAtt`` attributes of the resource."""
    return {
        "FunctionName": props.function_name,
        "AliasName": props.alias_name,
        "FunctionVersion": props.function_version,
    }


# ----------------------------------------------------------------------------- answering
def ended(status: str, error: str | None, cause: str | None, output: str | None) -> tuple[str, str]:
    """An execution's end (its status-change event) -> (Status, Reason) for CloudFormation."""
    if status == "SUCCEEDED":
        return SUCCESS, "coalmine promoted the new version" + _outcome_reason(output)
    what = {
        "ABORTED": "the coalmine deployment was stopped",
        "TIMED_OUT": "the coalmine deployment timed out",
    }.get(status, "the coalmine deployment failed")
    message = lambda_error_message(cause) if cause else None  # a Lambda error's JSON: its message
    detail = ": ".join(part for part in (error, message) if part)
    return FAILED, f"{what} ({detail})" if detail else what


def response(
    *,
    status: str,
    reason: str,
    physical_id: str,
    stack_id: str,
    request_id: str,
    logical_id: str,
    data: dict[str, str] | None = None,
) -> bytes:
    """The JSON body PUT to the ResponseURL, its Reason shortened to keep it within 4,096 bytes."""
    body: dict[str, Any] = {
        "Status": status,
        "Reason": reason,
        "PhysicalResourceId": physical_id,
        "StackId": stack_id,
        "RequestId": request_id,
        "LogicalResourceId": logical_id,
    }
    if data:
        body["Data"] = data
    encoded = json.dumps(body).encode()
    while len(encoded) > RESPONSE_LIMIT_BYTES:
        over = len(encoded) - RESPONSE_LIMIT_BYTES
        body["Reason"] = body["Reason"][: max(0, len(body["Reason"]) - over - 3)] + "..."
        encoded = json.dumps(body).encode()
    return encoded


def answer_body(request: Request, answer: Answer) -> bytes:
    return response(
        status=answer.status,
        reason=answer.reason,
        physical_id=answer.physical_id,
        stack_id=request.stack_id,
        request_id=request.request_id,
        logical_id=request.logical_id,
        data=answer.data,
    )


def fallback_physical_id(request: Request) -> str:
    """The physical id to answer a refused request with: the one CloudFormation knows (an
    Update's or Delete's), else one derived from the request (a failed Create's)."""
    return request.physical_id or f"{request.logical_id}-{request.request_id}"[:1024]


# ----------------------------------------------------------------------------- internals
def _replaced(request: Request, props: AliasProperties) -> bool:
    return request.request_type == "Update" and request.physical_id not in (None, props.physical_id)


def _older(target: str, current: str) -> bool:
    try:
        return int(target) < int(current)
    except ValueError:  # $LATEST or a name: not a version number, not a revert
        return False


def _timeout(raw: Any) -> int:
    try:
        seconds = int(str(raw)) if raw not in (None, "") else DEFAULT_TIMEOUT_SECONDS
    except ValueError:
        raise Refused(f"ServiceTimeout {raw!r} is not a number of seconds") from None
    return max(1, min(seconds, DEFAULT_TIMEOUT_SECONDS))


def _property_of(input_field: str) -> str:
    """An execution-input field path -> the property it came from ("analysis.x" -> Analysis.x)."""
    names = {
        "functionName": "FunctionName",
        "alias": "AliasName",
        "targetVersion": "FunctionVersion",
        "strategy": "Strategy",
        "analysis": "Analysis",
    }
    head, _, rest = input_field.partition(".")
    key = head.split("[")[0]
    if key in names:
        return names[key] + head[len(key) :] + (f".{rest}" if rest else "")
    return input_field


def _typed(body: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation passes every scalar property as a string: the input read by its own models
    in lax mode (so only a field that is a number or a boolean becomes one), or unchanged if that
    fails (the strict check then names the field)."""
    try:
        typed = ExecutionInput.model_validate(body, strict=False)
    except ValueError:
        return body
    return typed.model_dump(mode="json", by_alias=True, exclude_unset=True)


def _outcome_reason(output: str | None) -> str:
    try:
        document = json.loads(output or "")
    except ValueError:
        return ""
    if not isinstance(document, dict):
        return ""
    version, previous = document.get("toVersion"), document.get("fromVersion")
    return f" (version {version}, from {previous})" if version else ""
