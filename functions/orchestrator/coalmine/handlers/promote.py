"""Promote: the alias wholly on the new version, weights cleared (blue/green: keep the old one
on the ``previous`` alias first). The promotion is recorded in the alias's lock, so a stop during
a post-promotion bake leaves the alias on the new version instead of rolling it back."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from coalmine import deployment
from coalmine.adapters.lambda_api import LambdaApi
from coalmine.adapters.locks_table import LockTable
from coalmine.models import Deployment
from coalmine.observability import count, logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    current = parse(event=event, model=Deployment)
    logger.set_correlation_id(current.deployment_id)
    result = promote(current, LambdaApi())
    if not LockTable().record(result):
        logger.warning("the alias's lock is no longer this deployment's; promotion not recorded")
    logger.info("promoted", extra={"toVersion": result.to_version, "action": result.action})
    count("Promoted", result.function_name)
    return result.to_json()


def promote(current: Deployment, lambda_api: LambdaApi) -> Deployment:
    name, to_version = current.function_name, str(current.to_version)
    observed = lambda_api.get_alias(name, current.alias)
    revision = deployment.claim_alias(current, observed, (to_version, {}))
    if current.plan.previous_alias:
        description = f"coalmine {current.deployment_id}: the version before {to_version}"
        lambda_api.put_alias(name, current.plan.previous_alias, current.from_version, description)
    updated = lambda_api.update_alias(name, current.alias, to_version, {}, revision)
    return deployment.promoted(current, updated.revision_id)
