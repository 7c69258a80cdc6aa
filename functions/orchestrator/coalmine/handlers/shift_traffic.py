"""ShiftTraffic: UpdateAlias to the next step's weight, never over someone else's change; the
lock records the write before it is made and its RevisionId after (coalmine/ownership.py).
Before the first step a failing pre-traffic hook shifts nothing: Rollback (coalmine/hooks.py);
a callback hook: action HOOK (AwaitHook waits for it, then this state runs again and judges it).
After a shift the alias's provisioned concurrency must be READY before the bake starts: while
IN_PROGRESS, ProvisionedConcurrencyNotReady (the Retry re-runs this state: an alias already at
the step's routing is not written again); FAILED: Rollback (coalmine/provisioned_concurrency.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from aws_lambda_powertools.utilities.typing import LambdaContext

from coalmine import deployment, hooks, ownership
from coalmine import provisioned_concurrency as pc
from coalmine.adapters.lambda_api import LambdaApi
from coalmine.adapters.locks_table import LockTable
from coalmine.adapters.target import clients_of
from coalmine.models import Action, Deployment
from coalmine.observability import count, logger
from coalmine.recording import recorded_step


@recorded_step
def handler(current: Deployment, context: LambdaContext) -> Deployment:
    locks, on = LockTable(), clients_of(current)  # its account
    locks.record(current)  # the write about to be made (its action), before it is made
    result = shift(current, on.lambda_api, on.invoker.invoke)
    if result.revision_id != current.revision_id:
        locks.record_after_write(result)  # Cleanup knows the revision it wrote
    if result.action == Action.ROLLBACK:
        logger.warning("not baking: rolling back", extra={"reason": result.reason})
        failed = "HookFailed" if result.step_index == current.step_index else "ColdShift"
        count(failed, result.function_name)
    elif result.action != Action.HOOK:  # HOOK: AwaitHook waits, then ShiftTraffic judges it
        logger.info("traffic shifted", extra={"weight": result.weight, "step": result.step_index})
        count("StepShifted", result.function_name)
    return result


def shift(current: Deployment, lambda_api: LambdaApi, invoke: hooks.Invoke) -> Deployment:
    name, alias, weights = (
        current.function_name,
        current.alias,
        {str(current.to_version): deployment.next_step_weight(current)},
    )
    observed = lambda_api.get_alias(name, alias)
    revision = ownership.claim_alias(current, observed, (current.from_version, weights))
    checked = current  # already routed so (a retry): its hook passed, nothing to write
    if (observed.function_version, observed.weights) != (current.from_version, weights):
        checked = hooks.before_traffic(current, invoke, datetime.now(UTC))
        if checked.action in (Action.ROLLBACK, Action.HOOK):
            return checked
        revision = lambda_api.update_alias(
            name, alias, current.from_version, weights, revision
        ).revision_id
    config = lambda_api.get_provisioned_concurrency(name, alias)
    return pc.after_shift(config, deployment.shifted(checked, revision), datetime.now(UTC))
