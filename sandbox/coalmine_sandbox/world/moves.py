"""The world's own moves during a deployment, made the way people and other tools make them:
someone else's UpdateAlias, the console's Stop button, a second deployment of the same alias.
Scenario events (rehearsal_events.py), the fault matrix and the soak make them."""

from __future__ import annotations

from typing import Any

from ..sandbox import Sandbox


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
