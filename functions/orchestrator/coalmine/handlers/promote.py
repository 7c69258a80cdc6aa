"""Promote: the alias wholly on the new version, weights cleared (blue/green: keep the old one
on the ``previous`` alias first). The write is recorded in the alias's lock before it is made and
the promotion after (retried, never raised: the promotion stands), so a stop during Promote or a
post-promotion bake leaves the alias on the new version instead of rolling it back.

Hooks (coalmine/hooks.py): with no weighted step before it, the pre-traffic hook runs first (a
failure changes nothing); the post-traffic hook runs once the alias is on the new version, and
its failure sends the deployment to Rollback without recording the promotion."""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from coalmine import hooks, ownership
from coalmine.adapters.lambda_api import LambdaApi
from coalmine.adapters.lambda_invoke import LambdaInvoker
from coalmine.adapters.locks_table import LockTable
from coalmine.models import Action, Deployment, Outcome
from coalmine.observability import count, logger
from coalmine.recording import recorded_step


@recorded_step
def handler(current: Deployment, context: LambdaContext) -> Deployment:
    locks = LockTable()
    locks.record(current)  # the write about to be made (its action), before it is made
    result = promote(current, LambdaApi(), LambdaInvoker().invoke)
    failed = result.action == Action.ROLLBACK  # a failed post-traffic hook: not a promotion
    mine = result.model_copy(update={"outcome": Outcome.IN_PROGRESS}) if failed else result
    if result.revision_id != current.revision_id and locks.record_after_write(mine) is False:
        logger.warning("the alias's lock is no longer this deployment's; promotion not recorded")
    if failed:
        logger.warning("not promoted: a hook failed", extra={"reason": result.reason})
        count("HookFailed", result.function_name)
        return result
    logger.info("promoted", extra={"toVersion": result.to_version, "action": result.action})
    count("Promoted", result.function_name)
    return result


def promote(current: Deployment, lambda_api: LambdaApi, invoke: hooks.Invoke) -> Deployment:
    name, to_version = current.function_name, str(current.to_version)
    observed = lambda_api.get_alias(name, current.alias)
    revision = ownership.claim_alias(current, observed, (to_version, {}))
    checked = hooks.before_traffic(current, invoke)
    if checked.action == Action.ROLLBACK:
        return checked
    if current.plan.previous_alias:
        description = f"coalmine {current.deployment_id}: the version before {to_version}"
        lambda_api.put_alias(name, current.plan.previous_alias, current.from_version, description)
    updated = lambda_api.update_alias(name, current.alias, to_version, {}, revision)
    return hooks.after_promotion(checked, updated.revision_id, invoke)
