"""Pure: is the alias still as coalmine left it? (never clobber someone else's change)

Every handler that updates the alias first reads it and asks ``claim_alias`` for the RevisionId to
update it with; the update is then conditional on that RevisionId (adapters/lambda_api.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from math import isclose

from coalmine.exceptions import AliasChangedOutOfBand
from coalmine.models import AliasState, Deployment, Outcome


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
    rollback: bool = False,
) -> str:
    """The RevisionId to update the alias with, if the alias is still coalmine's to change.

    It is ours if it routes what we last set, or already what we are about to set (our previous
    attempt's response was lost). A rollback also accepts any routing coalmine could have set in
    this deployment (a step of the plan, or promotion). Anything else was set by someone else:
    AliasChangedOutOfBand, and the alias is left as they set it. Routings are compared, not only
    RevisionIds: equivalent on AWS (every change makes a new RevisionId) and robust where an
    emulator keeps the RevisionId. The update itself is conditional on the RevisionId returned.
    """
    candidates = [current_routing(deployment), intended]
    if rollback and deployment.to_version is not None:
        to = deployment.to_version
        candidates += [(deployment.from_version, {to: s.weight}) for s in deployment.plan.steps]
        candidates.append((to, {}))
    if any(_same_routing(observed, version, weights) for version, weights in candidates):
        return observed.revision_id
    expected = _describe(*current_routing(deployment))
    raise AliasChangedOutOfBand(
        f"alias {deployment.function_name}:{deployment.alias} was changed by someone else: it "
        f"routes {observed.describe()}, coalmine last set {expected}; leaving it as it is"
    )


def _same_routing(observed: AliasState, version: str, weights: Mapping[str, float]) -> bool:
    if observed.function_version != version or set(observed.weights) != set(weights):
        return False
    return all(isclose(observed.weights[v], w, abs_tol=1e-6) for v, w in weights.items())


def _describe(version: str, weights: Mapping[str, float]) -> str:
    return AliasState(function_version=version, weights=dict(weights)).describe()
