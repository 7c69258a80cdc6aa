"""Promote: the alias wholly on the new version (blue/green first points ``previous`` at the old
one, never over someone else's change). The write is recorded in the lock before and after it is
made: a stop during Promote leaves the promotion unless a watch after the cutover follows (then
Cleanup puts the old version back: coalmine/recovery.py). Hooks (coalmine/hooks.py): with no
weighted step before it, the pre-traffic hook runs first; the post-traffic one can roll back."""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from coalmine import hooks, ownership
from coalmine.adapters.lambda_api import LambdaApi
from coalmine.adapters.locks_table import LockTable
from coalmine.adapters.target import clients_of
from coalmine.exceptions import AliasChangedOutOfBand
from coalmine.models import Action, Deployment, Outcome
from coalmine.observability import count, logger
from coalmine.recording import recorded_step


@recorded_step
def handler(current: Deployment, context: LambdaContext) -> Deployment:
    locks, on = LockTable(), clients_of(current)  # its account
    locks.record(current)  # the write about to be made (its action), before it is made
    result = promote(current, on.lambda_api, on.invoker.invoke)
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
        keep_previous(current, current.plan.previous_alias, lambda_api)
    updated = lambda_api.update_alias(name, current.alias, to_version, {}, revision)
    return hooks.after_promotion(checked, updated.revision_id, invoke)


def keep_previous(current: Deployment, previous: str, lambda_api: LambdaApi) -> None:
    """``previous`` on the old version, conditional on its RevisionId: a change made meanwhile
    is someone else's, left as it is (logged), and the promotion goes on."""
    note = f"coalmine {current.deployment_id}: the version before {current.to_version}"
    try:
        lambda_api.put_alias(current.function_name, previous, current.from_version, note)
    except AliasChangedOutOfBand as changed:
        logger.warning("previous alias left as someone else set it", extra={"error": str(changed)})
        count("PreviousAliasChanged", current.function_name)
