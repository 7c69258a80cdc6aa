"""Rollback: the alias wholly back on the stable version, weights cleared; never over someone
else's change (AliasChangedOutOfBand then, and the alias is left as they set it)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from coalmine import deployment, ownership, recovery
from coalmine.adapters.lambda_api import LambdaApi
from coalmine.adapters.locks_table import LockTable
from coalmine.adapters.target import clients_of, lambda_api_of
from coalmine.models import Deployment
from coalmine.observability import count, logger
from coalmine.recording import recorded_step


@recorded_step
def handler(current: Deployment, context: LambdaContext) -> Deployment:
    result = roll_back(current, clients_of(current).lambda_api)
    LockTable().record_after_write(result)  # the lock names the stable routing until released
    logger.warning("rolled back", extra={"reason": result.reason})
    count("RolledBack", result.function_name)
    return result


def roll_back(current: Deployment, lambda_api: LambdaApi) -> Deployment:
    name, stable = current.function_name, current.from_version
    observed = lambda_api.get_alias(name, current.alias)
    if observed.function_version == stable and not observed.weights:
        return deployment.rolled_back(current, observed.revision_id)  # nothing left to undo
    revision = ownership.claim_alias(current, observed, (stable, {}))
    updated = lambda_api.update_alias(name, current.alias, stable, {}, revision)
    return deployment.rolled_back(current, updated.revision_id)


def restore(current: Deployment, own: LambdaApi) -> Deployment:
    """Cleanup's: ``roll_back`` in the deployment's account (``own``: coalmine's Lambda)."""
    return roll_back(current, lambda_api_of(current, own))


def reader(own: LambdaApi) -> recovery.ReadAlias:
    """Cleanup's: a deployment's alias read in its account."""
    return lambda d: lambda_api_of(d, own).get_alias(d.function_name, d.alias)
