"""Pure: a strategy (a CodeDeploy-style name or an object) -> the Plan it means.

Plans never contain a step of weight 1.0: putting the alias wholly on the new version is the
Promote state. So ``AllAtOnce`` and blue/green have no steps (their watch after the cutover is the
post-promotion bake: ``with_watch``), a canary has one, a linear
strategy has X, 2X, ... below 100%, and an explicit step list whose last weight is 1.0 turns that
last step into promotion plus a post-promotion bake.
"""

from __future__ import annotations

import re

from coalmine.exceptions import InvalidInput
from coalmine.models import (
    ApprovalConfig,
    ApprovalGate,
    ApprovalStepSpec,
    BlueGreenStrategy,
    CanaryStrategy,
    LinearStrategy,
    Plan,
    Step,
    StepSpec,
    StepsStrategy,
    StrategySpec,
)

#: CodeDeploy's predefined Lambda configurations (also accepted with the prefixes below).
CODEDEPLOY_NAMES: tuple[str, ...] = (
    "Canary10Percent5Minutes",
    "Canary10Percent10Minutes",
    "Canary10Percent15Minutes",
    "Canary10Percent30Minutes",
    "Linear10PercentEvery1Minute",
    "Linear10PercentEvery2Minutes",
    "Linear10PercentEvery3Minutes",
    "Linear10PercentEvery10Minutes",
    "AllAtOnce",
)
PREFIXES: tuple[str, ...] = ("CodeDeployDefault.Lambda", "Lambda")
ALL_AT_ONCE = "AllAtOnce"
STRATEGY_TYPES: tuple[str, ...] = ("canary", "linear", "steps", "blueGreen")

_CANARY = re.compile(r"Canary(?P<percent>[1-9][0-9]?)Percent(?P<minutes>[1-9][0-9]{0,3})Minutes?")
_LINEAR = re.compile(
    r"Linear(?P<percent>[1-9][0-9]?)PercentEvery(?P<minutes>[1-9][0-9]{0,3})Minutes?"
)
_MAX_MINUTES = 24 * 60
_EPSILON = 1e-9


def resolve(strategy: str | StrategySpec) -> Plan:
    """Turn the execution input's ``strategy`` into a Plan, or raise InvalidInput("strategy.…")."""
    if isinstance(strategy, str):
        return _from_name(strategy)
    if isinstance(strategy, CanaryStrategy):
        plan = canary(strategy.percent, strategy.interval_minutes)
        return _before_promotion(plan, strategy.approve_before_promotion)
    if isinstance(strategy, LinearStrategy):
        plan = linear(strategy.percent, strategy.interval_minutes)
        return _before_promotion(plan, strategy.approve_before_promotion)
    if isinstance(strategy, StepsStrategy):
        return explicit_steps(strategy)
    if isinstance(strategy, BlueGreenStrategy):
        return Plan(
            strategy="blueGreen",
            steps=[],
            post_promotion_bake_seconds=strategy.bake_seconds,
            previous_alias=strategy.previous_alias,
        )
    raise InvalidInput("strategy", f"unsupported strategy {strategy!r}")  # pragma: no cover


def canary(percent: float, minutes: float) -> Plan:
    name = f"Canary{_num(percent)}Percent{_num(minutes)}Minutes"
    return Plan(strategy=name, steps=[Step(weight=percent / 100, bake_seconds=_seconds(minutes))])


def linear(percent: float, minutes: float) -> Plan:
    unit = "Minute" if minutes == 1 else "Minutes"
    name = f"Linear{_num(percent)}PercentEvery{_num(minutes)}{unit}"
    bake = _seconds(minutes)
    weights: list[float] = []
    k = 1
    while k * percent < 100 - _EPSILON:
        weights.append(round(k * percent / 100, 6))
        k += 1
    return Plan(strategy=name, steps=[Step(weight=w, bake_seconds=bake) for w in weights])


def explicit_steps(spec: StepsStrategy) -> Plan:
    """Weights must be strictly increasing in (0, 1]; a final 1.0 becomes promotion + bake. An
    ``{"approval": ...}`` item gates what follows the weighted step before it (approvals.py)."""
    previous = 0.0
    specs: list[StepSpec] = []
    approvals: list[ApprovalGate] = []
    for index, step in enumerate(spec.steps):
        if isinstance(step, ApprovalStepSpec):
            approvals.append(_approval_after(spec, index, specs, step.approval))
            continue
        if step.weight <= previous:
            raise InvalidInput(
                f"strategy.steps[{index}].weight",
                f"weights must be strictly increasing ({_num(step.weight)} after {_num(previous)})",
            )
        previous = step.weight
        specs.append(step)
    weighted, post_bake = specs, 0
    if specs[-1].weight >= 1.0:
        weighted, post_bake = specs[:-1], specs[-1].bake_seconds
    steps = [Step(weight=s.weight, bake_seconds=s.bake_seconds) for s in weighted]
    return Plan(
        strategy="steps", steps=steps, post_promotion_bake_seconds=post_bake, approvals=approvals
    )


def _approval_after(
    spec: StepsStrategy, index: int, before: list[StepSpec], config: ApprovalConfig
) -> ApprovalGate:
    """The gate of ``strategy.steps[index]``: it holds the weighted step before it, which must
    exist, be analysed (a bake), be below 100% and not be gated already."""
    field = f"strategy.steps[{index}].approval"
    if not before:
        raise InvalidInput(field, "an approval must follow a step with traffic (it holds it)")
    if isinstance(spec.steps[index - 1], ApprovalStepSpec):
        raise InvalidInput(field, "two approvals in a row (one is enough)")
    if before[-1].weight >= 1.0:
        raise InvalidInput(field, "an approval cannot follow the 100% step (it is promoted)")
    if before[-1].bake_seconds <= 0:
        raise InvalidInput(
            field, "the step before an approval needs bakeSeconds > 0 (it is analysed meanwhile)"
        )
    return ApprovalGate(
        after_step=len(before) - 1,
        timeout_seconds=config.timeout_seconds,
        on_timeout=config.on_timeout,
    )


def _before_promotion(plan: Plan, config: ApprovalConfig | None) -> Plan:
    """``strategy.approveBeforePromotion``: a gate after the last step (canary, linear)."""
    if config is None:
        return plan
    gate = ApprovalGate(
        after_step=len(plan.steps) - 1,
        timeout_seconds=config.timeout_seconds,
        on_timeout=config.on_timeout,
    )
    return plan.model_copy(update={"approvals": [gate]})


def with_minimum_last_bake(plan: Plan, minimum_seconds: int) -> tuple[Plan, str | None]:
    """The plan with its last bake before promotion (the last step's; a plan without steps: the
    post-promotion bake) at least ``minimum_seconds``, and what changed (None: nothing did).

    A plan that bakes nowhere (``AllAtOnce`` with ``watchSeconds`` 0, every bake 0) asked for no
    analysis: unchanged.
    """
    bakes = [s.bake_seconds for s in plan.steps] + [plan.post_promotion_bake_seconds]
    if not any(bakes):
        return plan, None
    if plan.steps:
        last = plan.steps[-1]
        if last.bake_seconds >= minimum_seconds:
            return plan, None
        steps = [*plan.steps[:-1], last.model_copy(update={"bake_seconds": minimum_seconds})]
        name = f"step {len(plan.steps)} ({_num(last.weight * 100)}%)"
        change = f"{name}: bake {last.bake_seconds} s -> {minimum_seconds} s"
        return plan.model_copy(update={"steps": steps}), change
    if plan.post_promotion_bake_seconds >= minimum_seconds:
        return plan, None
    change = f"post-promotion bake {plan.post_promotion_bake_seconds} s -> {minimum_seconds} s"
    return plan.model_copy(update={"post_promotion_bake_seconds": minimum_seconds}), change


def with_watch(plan: Plan, watch_seconds: int) -> Plan:
    """``AllAtOnce`` watches the new version for ``watch_seconds`` after the cutover (its
    post-promotion bake, judged before/after: analysis.py); every other plan is unchanged
    (blue/green bakes its ``bakeSeconds``, an explicit list its last 1.0 step's bake)."""
    if plan.strategy != ALL_AT_ONCE:
        return plan
    return plan.model_copy(update={"post_promotion_bake_seconds": watch_seconds})


def _from_name(name: str) -> Plan:
    bare = _strip_prefix(name)
    if bare == ALL_AT_ONCE:
        return Plan(strategy=ALL_AT_ONCE, steps=[])
    if match := _CANARY.fullmatch(bare):
        minutes = int(match["minutes"])
        if minutes <= _MAX_MINUTES:
            return canary(int(match["percent"]), minutes)
    if match := _LINEAR.fullmatch(bare):
        minutes = int(match["minutes"])
        if minutes <= _MAX_MINUTES:
            return linear(int(match["percent"]), minutes)
    raise InvalidInput(
        "strategy",
        f"unknown strategy {name!r}: use one of {', '.join(CODEDEPLOY_NAMES)} (optionally "
        "prefixed with 'Lambda' or 'CodeDeployDefault.Lambda'), CanaryXPercentYMinutes, "
        "LinearXPercentEveryYMinutes, or an object whose type is one of "
        f"{', '.join(STRATEGY_TYPES)}",
    )


def _strip_prefix(name: str) -> str:
    for prefix in PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _seconds(minutes: float) -> int:
    return round(minutes * 60)


def _num(value: float) -> str:
    """1.0 -> '1', 2.5 -> '2.5' (for names and messages)."""
    return f"{value:g}"
