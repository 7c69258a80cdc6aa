"""ShiftTraffic: UpdateAlias to the next step's weight, never over someone else's change. The
alias's lock records the write before it is made and its RevisionId after (retried, never
raised), so Cleanup knows every routing coalmine wrote (coalmine/ownership.py).

Before the first step, the pre-traffic hook (if any) tests the new version: if it fails, nothing
is shifted and the deployment goes to Rollback (coalmine/hooks.py)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from coalmine import deployment, hooks, ownership
from coalmine.adapters.lambda_api import LambdaApi
from coalmine.adapters.lambda_invoke import LambdaInvoker
from coalmine.adapters.locks_table import LockTable
from coalmine.models import Action, Deployment
from coalmine.observability import count, logger
from coalmine.recording import recorded_step


@recorded_step
def handler(current: Deployment, context: LambdaContext) -> Deployment:
    locks = LockTable()
    locks.record(current)  # the write about to be made (its action), before it is made
    result = shift(current, LambdaApi(), LambdaInvoker().invoke)
    if result.action == Action.ROLLBACK:
        logger.warning("not shifted: the pre-traffic hook failed", extra={"reason": result.reason})
        count("HookFailed", result.function_name)
        return result
    locks.record_after_write(result)  # Cleanup knows the revision it wrote
    logger.info("traffic shifted", extra={"weight": result.weight, "step": result.step_index})
    count("StepShifted", result.function_name)
    return result


def shift(current: Deployment, lambda_api: LambdaApi, invoke: hooks.Invoke) -> Deployment:
    to_version = str(current.to_version)
    weights = {to_version: deployment.next_step_weight(current)}
    observed = lambda_api.get_alias(current.function_name, current.alias)
    revision = ownership.claim_alias(current, observed, (current.from_version, weights))
    checked = hooks.before_traffic(current, invoke)
    if checked.action == Action.ROLLBACK:
        return checked
    updated = lambda_api.update_alias(
        current.function_name, current.alias, current.from_version, weights, revision
    )
    return deployment.shifted(checked, updated.revision_id)
