"""Rollback: the alias wholly back on the stable version, weights cleared; never over someone
else's change (AliasChangedOutOfBand then, and the alias is left as they set it)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from coalmine import deployment
from coalmine.adapters.lambda_api import LambdaApi
from coalmine.models import Deployment
from coalmine.observability import count, logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    current = parse(event=event, model=Deployment)
    logger.set_correlation_id(current.deployment_id)
    result = roll_back(current, LambdaApi())
    logger.warning("rolled back", extra={"reason": result.reason})
    count("RolledBack", result.function_name)
    return result.to_json()


def roll_back(current: Deployment, lambda_api: LambdaApi) -> Deployment:
    name, stable = current.function_name, current.from_version
    observed = lambda_api.get_alias(name, current.alias)
    if observed.function_version == stable and not observed.weights:
        return deployment.rolled_back(current, observed.revision_id)  # nothing left to undo
    revision = deployment.claim_alias(current, observed, (stable, {}), rollback=True)
    updated = lambda_api.update_alias(name, current.alias, stable, {}, revision)
    return deployment.rolled_back(current, updated.revision_id)
