"""Pure: is the alias still as coalmine left it? (never clobber someone else's change)

Every handler that updates the alias first reads it and asks ``claim_alias`` for the RevisionId to
update it with; the update is then conditional on that RevisionId (adapters/lambda_api.py). Each
routing coalmine writes is known by the RevisionId UpdateAlias answered with: kept in the
Deployment document, and in the alias's lock after every write (so Cleanup knows it too).
"""

from __future__ import annotations

from collections.abc import Mapping
from math import isclose

from coalmine.exceptions import AliasChangedOutOfBand
from coalmine.models import Action, AliasState, Deployment, Outcome


def current_routing(deployment: Deployment) -> tuple[str, dict[str, float]]:
    """What coalmine last set on the alias, according to the Deployment document."""
    if deployment.outcome == Outcome.PROMOTED:
        return str(deployment.to_version), {}
    if deployment.step_index < 0 or deployment.to_version is None:
        return deployment.from_version, {}
    return deployment.from_version, {deployment.to_version: deployment.weight}


def claim_alias(
    deployment: Deployment,
    observed: AliasState,
    intended: tuple[str, Mapping[str, float]],
) -> str:
    """The RevisionId to update the alias with, if the alias is still coalmine's to change.

    Ownership is by revision: the alias is ours if its RevisionId is the one coalmine's last write
    answered with (``deployment.revision_id``; every UpdateAlias makes a new one). Any other
    revision is someone else's, whatever its weights, with two exceptions that overwrite nothing
    anyone wanted: the alias already routes what we are about to set (writing it again changes
    nothing), or it routes the one write this deployment was making when it stopped (its
    ``action`` SHIFT or PROMOTE: UpdateAlias succeeded but its answer was lost, and the step was
    retried, caught, or stopped). Otherwise AliasChangedOutOfBand: the alias is left as it is.
    Rollback and Cleanup obey the same rule. The update is conditional on the RevisionId returned.
    """
    if observed.revision_id and observed.revision_id == deployment.revision_id:
        return observed.revision_id
    candidates = [intended, *in_flight(deployment)]
    if any(_same_routing(observed, version, weights) for version, weights in candidates):
        return observed.revision_id
    expected = _describe(*current_routing(deployment))
    raise AliasChangedOutOfBand(
        f"alias {deployment.function_name}:{deployment.alias} was changed by someone else: it "
        f"routes {observed.describe()} (revision {observed.revision_id or '?'}), coalmine last "
        f"set {expected} (revision {deployment.revision_id}); leaving it as it is"
    )


def in_flight(deployment: Deployment) -> list[tuple[str, dict[str, float]]]:
    """The routing the deployment's next alias write sets (none while it bakes or has ended)."""
    to = deployment.to_version
    if to is None or deployment.outcome != Outcome.IN_PROGRESS:
        return []
    if deployment.action == Action.PROMOTE:
        return [(to, {})]
    steps, index = deployment.plan.steps, deployment.step_index + 1
    if deployment.action == Action.SHIFT and index < len(steps):
        return [(deployment.from_version, {to: steps[index].weight})]
    return []


def _same_routing(observed: AliasState, version: str, weights: Mapping[str, float]) -> bool:
    if observed.function_version != version or set(observed.weights) != set(weights):
        return False
    return all(isclose(observed.weights[v], w, abs_tol=1e-6) for v, w in weights.items())


def _describe(version: str, weights: Mapping[str, float]) -> str:
    return AliasState(function_version=version, weights=dict(weights)).describe()
