"""Promote: the alias wholly on the new version (blue/green first points ``previous`` at the old
one, never over someone else's change), recorded in the lock before and after the write: a stop
leaves the promotion unless a watch follows (Cleanup: coalmine/recovery.py). Hooks: pre-traffic
first if no step moved traffic, post-traffic after; a callback hook: action HOOK (hooks.py)."""

from __future__ import annotations

from datetime import UTC, datetime

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
    if result.action != Action.HOOK:  # HOOK: AwaitHook waits, then Promote judges the answer
        (logger.warning if failed else logger.info)(
            "not promoted: a hook failed" if failed else "promoted",
            extra={"reason": result.reason, "toVersion": result.to_version},
        )
        count("HookFailed" if failed else "Promoted", result.function_name)
    return result


def promote(current: Deployment, lambda_api: LambdaApi, invoke: hooks.Invoke) -> Deployment:
    name, to_version, now = current.function_name, str(current.to_version), datetime.now(UTC)
    observed = lambda_api.get_alias(name, current.alias)
    revision = ownership.claim_alias(current, observed, (to_version, {}))

    def write() -> str:  # blue/green's previous alias, then the promotion: its RevisionId
        if current.plan.previous_alias:
            keep_previous(current, current.plan.previous_alias, lambda_api)
        return lambda_api.update_alias(name, current.alias, to_version, {}, revision).revision_id

    return hooks.around_promotion(current, revision, invoke, now, write)


def keep_previous(current: Deployment, previous: str, lambda_api: LambdaApi) -> None:
    """``previous`` on the old version if its RevisionId is ours (else left as is, logged)."""
    note = f"coalmine {current.deployment_id}: the version before {current.to_version}"
    try:
        lambda_api.put_alias(current.function_name, previous, current.from_version, note)
    except AliasChangedOutOfBand as changed:
        logger.warning("previous alias left as someone else set it", extra={"error": str(changed)})
        count("PreviousAliasChanged", current.function_name)
