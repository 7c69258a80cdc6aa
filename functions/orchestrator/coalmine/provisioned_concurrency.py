"""Provisioned concurrency on the alias being deployed (pure: the config is read by the adapter,
adapters/lambda_api.py ``get_provisioned_concurrency``). docs/provisioned-concurrency.md says
what AWS documents and what coalmine assumes.

AWS: an alias's provisioned concurrency follows the versions it routes to; after a routing
change its config is IN_PROGRESS until the environments are allocated (READY), or FAILED with a
StatusReason. Until then a version's share of traffic beyond its allocated environments runs on
standard (on-demand) concurrency: cold starts (ProvisionedConcurrencySpilloverInvocations).

coalmine therefore:
- pre-flight (Prepare, ``check``): refuses an alias whose config is not READY (FAILED, or still
  IN_PROGRESS), and a plan step whose weight gives the new version under one environment of the
  alias's provisioned concurrency (ASSUMED split: proportional to the weights, rounded down);
- after each weight change (ShiftTraffic, ``after_shift``): the bake starts only once the config
  is READY, judged from the next whole minute; still allocating: ProvisionedConcurrencyNotReady,
  retried by the state machine (no Lambda runs while it waits); FAILED, or not READY within
  ``MAX_WAIT_SECONDS``, rolls back with the reason.
An alias without provisioned concurrency (ProvisionedConcurrencyConfigNotFoundException: None)
proceeds at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from coalmine import strategies
from coalmine.exceptions import InvalidInput, ProvisionedConcurrencyNotReady
from coalmine.models import Action, Bake, Deployment, ExecutionInput, Verdict

#: ShiftTraffic's Retry on ProvisionedConcurrencyNotReady (statemachine/deployment.asl.json;
#: tests/unit/test_asl.py keeps them equal): how long a routing change's allocation is waited
#: for (AWS: allocation starts "after a minute or two of preparation").
RETRY_INTERVAL_SECONDS = 10
RETRY_ATTEMPTS = 18
MAX_WAIT_SECONDS = RETRY_INTERVAL_SECONDS * RETRY_ATTEMPTS

READY, IN_PROGRESS, FAILED = "READY", "IN_PROGRESS", "FAILED"


@dataclass(frozen=True, slots=True)
class ProvisionedConfig:
    """GetProvisionedConcurrencyConfig's answer for the alias."""

    requested: int
    allocated: int
    available: int
    status: str  # IN_PROGRESS | READY | FAILED
    status_reason: str | None = None


class Gate(StrEnum):
    PROCEED = "PROCEED"  # the new version's share is on allocated environments (or there is none)
    WAIT = "WAIT"  # still allocating
    FAIL = "FAIL"  # will not be allocated: roll back


@dataclass(frozen=True, slots=True)
class Judgement:
    gate: Gate
    reason: str


class ProvisionedReads(Protocol):
    def get_provisioned_concurrency(
        self, function_name: str, qualifier: str
    ) -> ProvisionedConfig | None: ...


def new_version_share(requested: int, weight: float) -> int:
    """Environments of the alias's ``requested`` the new version gets at ``weight`` (ASSUMED:
    proportional, rounded down; AWS does not document the split)."""
    return min(requested, math.floor(requested * weight + 1e-9))


def judge(config: ProvisionedConfig | None, weight: float, where: str) -> Judgement:
    """May the bake start now that ``where`` routes ``weight`` to the new version?"""
    if config is None:
        return Judgement(Gate.PROCEED, f"{where} has no provisioned concurrency")
    if config.status == FAILED:
        why = config.status_reason or "no reason given"
        return Judgement(
            Gate.FAIL,
            f"{where}'s provisioned concurrency could not be allocated after routing "
            f"{weight * 100:g}% to the new version (FAILED: {why}); its share would run on "
            f"cold environments",
        )
    if config.status != READY:  # the documented signal (the counts "fluctuate" while weighted)
        return Judgement(
            Gate.WAIT,
            f"{where}'s provisioned concurrency is {config.status}: {config.allocated} of "
            f"{config.requested} environments allocated",
        )
    return Judgement(
        Gate.PROCEED,
        f"{where}'s provisioned concurrency is READY ({config.allocated} of {config.requested})",
    )


def after_shift(config: ProvisionedConfig | None, shifted: Deployment, now: datetime) -> Deployment:
    """``shifted`` (the alias now routes its weight) if the alias has no provisioned concurrency;
    if it has and it is allocated: ``from_next_minute``; FAILED: ``not_allocated`` (Rollback);
    still allocating: ProvisionedConcurrencyNotReady, which ShiftTraffic's Retry retries every
    ``RETRY_INTERVAL_SECONDS`` for ``RETRY_ATTEMPTS`` attempts before its Catch rolls back."""
    where = f"{shifted.function_name}:{shifted.alias}"
    judged = judge(config, shifted.weight, where)
    if judged.gate == Gate.WAIT:
        raise ProvisionedConcurrencyNotReady(
            f"{judged.reason}: the new version's {shifted.weight * 100:g}% would run on cold "
            f"environments (waited for at most {MAX_WAIT_SECONDS:g} s, then rolled back)"
        )
    if judged.gate == Gate.FAIL:
        return not_allocated(shifted, judged.reason)
    return shifted if config is None else from_next_minute(shifted, now)


def from_next_minute(shifted: Deployment, now: datetime) -> Deployment:
    """The bake is judged from the next whole minute: Lambda's metrics are per minute, and the
    minute in which the allocation completed mixes the cold requests that spilled over before it
    with warm ones after it. Analyze takes the bake's start as ``now - (elapsed + wait)`` of its
    tick: a negative ``elapsed_seconds`` and a longer first wait put it on that minute."""
    if shifted.action != Action.BAKE or shifted.bake.bake_seconds <= 0:
        return shifted
    into = now.second + now.microsecond / 1e6
    ahead = math.ceil(60 - into) if into > 0 else 0
    bake = shifted.bake.model_copy(
        update={"elapsed_seconds": -ahead, "wait_seconds": shifted.bake.wait_seconds + ahead}
    )
    return shifted.model_copy(update={"bake": bake})


def not_allocated(shifted: Deployment, reason: str) -> Deployment:
    """The alias was shifted but its provisioned concurrency will not serve the new version's
    share warm: no bake, Rollback with ``reason`` (the step's record says it too)."""
    d = shifted.model_copy(
        update={"action": Action.ROLLBACK, "reason": reason, "bake": Bake()}, deep=True
    )
    d.steps[-1].verdict, d.steps[-1].reason = Verdict.FAIL, reason
    return d


def alias_problem(config: ProvisionedConfig | None, where: str) -> str | None:
    """Why ``where``'s provisioned concurrency is not ready to be shifted (None: it is)."""
    if config is None or config.status == READY:
        return None
    if config.status == FAILED:
        return (
            f"{where}'s provisioned concurrency is FAILED "
            f"({config.status_reason or 'no reason given'}); fix it before deploying"
        )
    return (
        f"{where}'s provisioned concurrency is {config.status} ({config.allocated} of "
        f"{config.requested} allocated); deploy once it is READY"
    )


def step_problems(
    config: ProvisionedConfig | None, weights: Sequence[float], where: str
) -> list[str]:
    """Why steps of these ``weights`` would send the new version's share cold (empty: none)."""
    if config is None:
        return []
    found: list[str] = []
    for weight in sorted(set(weights)):
        if new_version_share(config.requested, weight) < 1:
            needed = math.ceil(1 / weight - 1e-9)
            found.append(
                f"a step of {weight * 100:g}% gives the new version "
                f"{config.requested * weight:g} of {where}'s {config.requested} provisioned "
                f"environments (under one: its share would run cold); start at "
                f"{100 / config.requested:g}% or more, or provision at least {needed}"
            )
    return found


def check(
    lambda_api: ProvisionedReads, function_name: str, alias: str, weights: Sequence[float]
) -> ProvisionedConfig | None:
    """Prepare's pre-flight check: the alias's config not ready -> InvalidInput("alias"); a step
    too small for one environment -> InvalidInput("strategy"), naming every such step."""
    config = lambda_api.get_provisioned_concurrency(function_name, alias)
    where = f"{function_name}:{alias}"
    problem = alias_problem(config, where)
    if problem is not None:
        raise InvalidInput("alias", problem)
    found = step_problems(config, weights, where)
    if found:
        raise InvalidInput("strategy", "; ".join(found))
    return config


def check_request(lambda_api: ProvisionedReads, request: ExecutionInput) -> None:
    """``check`` for the request's alias and the weights its strategy's steps would route
    (preflight.check_request calls it)."""
    weights = [step.weight for step in strategies.resolve(request.strategy).steps]
    check(lambda_api, request.function_name, request.alias, weights)
