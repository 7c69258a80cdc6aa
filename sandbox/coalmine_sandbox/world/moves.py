"""The world's own moves during a deployment, made the way people and other tools make them:
someone else's UpdateAlias, the console's Stop button, a second deployment of the same alias; and
what changes around it: the alias lock's expiry passing, a version starting to misbehave.
Scenario events (rehearsal_events.py), the fault matrix and the soak make them."""

from __future__ import annotations

import weakref
from dataclasses import replace
from typing import Any

from coalmine.adapters import operator_requests
from coalmine.adapters.locks_table import LockTable
from coalmine.lock import lock_id

from ..aws.awslambda.invocation import FunctionSpec
from ..sandbox import Sandbox

LOCK_TABLE = "DeploymentLocksTable"


def tamper_alias(
    sb: Sandbox, function: str, alias: str, version: str, weights: dict[str, float] | None = None
) -> dict[str, Any]:
    """Someone else's UpdateAlias (no RevisionId): what a console click or another tool does."""
    return sb.client("lambda").update_alias(
        FunctionName=function,
        Name=alias,
        FunctionVersion=version,
        RoutingConfig={"AdditionalVersionWeights": weights or {}},
    )


def stop_execution(sb: Sandbox, arn: str, cause: str = "stopped by the sandbox") -> None:
    sb.stop_execution(arn, cause)


def start_second_deployment(sb: Sandbox, request: dict[str, Any]) -> str:
    return sb.start_execution(request)


def operator_request(sb: Sandbox, action: str, function: str, alias: str, reason: str) -> str:
    """An operator's request, through the code path `coalmine abort` uses; what it did."""
    try:
        held, asked = operator_requests.request(
            action,
            function,
            alias,
            reason,
            locks=LockTable(sb.stack[LOCK_TABLE], sb.client("dynamodb")),
            lambda_client=sb.client("lambda"),
            sts=sb.client("sts"),
            now=sb.clock.now(),
            sfn=sb.client("stepfunctions"),
        )
    except operator_requests.OperatorRequestRefused as error:
        return f"refused: {error}"
    return f"{action} requested by {asked.principal} on {held.describe()}"


def expire_lock(sb: Sandbox, function: str, alias: str) -> bool:
    """The alias lock's expiry passes while its holder still runs (a lock written by an older
    release with a plan-based expiry, or a clock far ahead): its `expiresAt` set to the past.
    False when no lock is held."""
    table = sb.stack[LOCK_TABLE]
    try:
        sb.client("dynamodb").update_item(
            TableName=table,
            Key={"lockId": {"S": lock_id(function, alias)}},
            UpdateExpression="SET expiresAt = :past",
            ConditionExpression="attribute_exists(lockId)",
            ExpressionAttributeValues={":past": {"N": str(int(sb.clock.now().timestamp()) - 1)}},
        )
    except sb.client("dynamodb").exceptions.ConditionalCheckFailedException:
        return False
    return True


def change_behaviour(sb: Sandbox, function: str, version: str, environment: dict[str, str]) -> None:
    """A published version starts behaving differently from now on (its fault knobs, e.g.
    `FAULT_ERROR_RATE`): the world changed under it (a dependency degrading, a data pattern
    arriving), not its configuration, which GetFunctionConfiguration still shows unchanged.
    Applies to the invocations routed through the runtime's view (synchronous traffic)."""
    overrides = _behaviour(sb)
    overrides[(function, version)] = {**overrides.get((function, version), {}), **environment}


def reset_behaviour(sb: Sandbox) -> None:
    """Every version behaves as published again."""
    found = _BEHAVIOUR.get(sb)
    if found:
        found.clear()


_BEHAVIOUR: weakref.WeakKeyDictionary[Sandbox, dict[tuple[str, str], dict[str, str]]] = (
    weakref.WeakKeyDictionary()
)


def _behaviour(sb: Sandbox) -> dict[tuple[str, str], dict[str, str]]:
    """The sandbox's behaviour overrides, installed once over the runtime's function specs."""
    found = _BEHAVIOUR.get(sb)
    if found is not None:
        return found
    overrides: dict[tuple[str, str], dict[str, str]] = {}
    _BEHAVIOUR[sb] = overrides
    view = sb.runtime.view
    if view is None:
        raise RuntimeError("the sandbox is not running")
    original = view.function_spec

    def function_spec(
        function_name: str, qualifier: str, account: str | None = None
    ) -> FunctionSpec:
        where = {"account": account} if account is not None else {}
        spec = original(function_name, qualifier, **where)
        extra = overrides.get((spec.function_name, spec.version))
        return replace(spec, environment={**spec.environment, **extra}) if extra else spec

    view.function_spec = function_spec  # type: ignore[method-assign]
    return overrides
