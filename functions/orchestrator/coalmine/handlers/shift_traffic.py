"""ShiftTraffic: UpdateAlias to the next step's weight, never over someone else's change.

Before the first step, the pre-traffic hook (if any) tests the new version: if it fails, nothing
is shifted and the deployment goes to Rollback (coalmine/hooks.py)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from coalmine import deployment, hooks
from coalmine.adapters.lambda_api import LambdaApi
from coalmine.models import Action, Deployment
from coalmine.observability import count, logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    current = parse(event=event, model=Deployment)
    logger.set_correlation_id(current.deployment_id)
    result = shift(current, LambdaApi())
    if result.action == Action.ROLLBACK:
        logger.warning("not shifted: the pre-traffic hook failed", extra={"reason": result.reason})
        count("HookFailed", result.function_name)
        return result.to_json()
    logger.info("traffic shifted", extra={"weight": result.weight, "step": result.step_index})
    count("StepShifted", result.function_name)
    return result.to_json()


def shift(current: Deployment, lambda_api: LambdaApi) -> Deployment:
    to_version = str(current.to_version)
    weights = {to_version: deployment.next_step_weight(current)}
    observed = lambda_api.get_alias(current.function_name, current.alias)
    revision = deployment.claim_alias(current, observed, (current.from_version, weights))
    checked = hooks.before_traffic(current, lambda_api.invoke)
    if checked.action == Action.ROLLBACK:
        return checked
    updated = lambda_api.update_alias(
        current.function_name, current.alias, current.from_version, weights, revision
    )
    return deployment.shifted(checked, updated.revision_id)
