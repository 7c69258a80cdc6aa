"""Pure: an async target's last bake before promotion covers its retry window
(strategies.with_minimum_last_bake, deployment.with_async_target)."""

from __future__ import annotations

from typing import Any

import pytest

from coalmine import analysis, deployment, strategies
from coalmine.models import (
    Action,
    AnalysisConfig,
    AsyncTarget,
    Bake,
    Deployment,
    Outcome,
    Plan,
    Step,
    StepRecord,
)
from coalmine.validation import parse_request


def _plan(steps: list[tuple[float, int]], post: int = 0, strategy: str = "s") -> Plan:
    return Plan(
        strategy=strategy,
        steps=[Step(weight=w, bake_seconds=b) for w, b in steps],
        post_promotion_bake_seconds=post,
    )


@pytest.mark.parametrize(
    ("strategy", "minimum", "steps", "post", "change"),
    [
        # Canary10Percent5Minutes already bakes 300 s
        ("Canary10Percent5Minutes", 300, [(0.1, 300)], 0, None),
        # a 1-minute canary: its only (so last) step is lengthened
        ("Canary10Percent1Minute", 300, [(0.1, 300)], 0, "step 1 (10%): bake 60 s -> 300 s"),
        # linear: only the last step before promotion
        (
            "Linear25PercentEvery1Minute",
            300,
            [(0.25, 60), (0.5, 60), (0.75, 300)],
            0,
            "step 3 (75%): bake 60 s -> 300 s",
        ),
        ("Linear50PercentEvery10Minutes", 300, [(0.5, 600)], 0, None),
        # no retries configured: the window is the metrics lag alone
        ("Linear50PercentEvery1Minute", 120, [(0.5, 120)], 0, "step 1 (50%): bake 60 s -> 120 s"),
        # nothing bakes: no analysis was asked for
        ("AllAtOnce", 300, [], 0, None),
        # blue/green bakes only after promotion: that bake
        (
            {"type": "blueGreen", "bakeSeconds": 120},
            300,
            [],
            300,
            "post-promotion bake 120 s -> 300 s",
        ),
        ({"type": "blueGreen", "bakeSeconds": 0}, 300, [], 0, None),
        # explicit steps: the last weighted one, even with no bake of its own; a post-promotion
        # bake stays as it is
        (
            {
                "type": "steps",
                "steps": [
                    {"weight": 0.05, "bakeSeconds": 600},
                    {"weight": 0.5, "bakeSeconds": 0},
                    {"weight": 1.0, "bakeSeconds": 60},
                ],
            },
            300,
            [(0.05, 600), (0.5, 300)],
            60,
            "step 2 (50%): bake 0 s -> 300 s",
        ),
    ],
)
def test_the_last_bake_is_at_least_the_minimum(
    strategy: Any, minimum: int, steps: list[tuple[float, int]], post: int, change: str | None
) -> None:
    if isinstance(strategy, dict):
        request = {"functionName": "f", "targetVersion": "2", "strategy": strategy}
        strategy = parse_request(request).strategy
    plan = strategies.resolve(strategy)

    lengthened, what = strategies.with_minimum_last_bake(plan, minimum)

    assert [(s.weight, s.bake_seconds) for s in lengthened.steps] == steps
    assert lengthened.post_promotion_bake_seconds == post
    assert what == change
    assert lengthened.strategy == plan.strategy


def _deployment(plan: Plan, **fields: Any) -> Deployment:
    return Deployment(
        deployment_id="d",
        function_name="brand-asset-processor",
        alias="prod",
        from_version="1",
        to_version="2",
        revision_id="r",
        plan=plan,
        analysis=AnalysisConfig(),
        action=Action.SHIFT,
        **fields,
    )


def test_a_known_async_target_lengthens_the_plan_before_any_step() -> None:
    published = _deployment(_plan([(0.1, 60)], strategy="Canary10Percent1Minute"))

    d = deployment.with_async_target(published, AsyncTarget(maximum_event_age_in_seconds=3600))

    assert d.plan.steps[0].bake_seconds == 300
    assert d.async_target is not None
    assert d.async_target.retry_window_seconds == 300
    assert d.async_target.last_bake == (
        "step 1 (10%): bake 60 s -> 300 s: an async target's last bake covers its retry window "
        "(2 retries: 60 s + 120 s, plus 120 s for their metrics)"
    )
    assert (d.bake, d.steps) == (published.bake, [])  # nothing is baking yet
    # idempotent: a retried PublishVersion, or a later tick, changes nothing more
    assert deployment.with_async_target(d, AsyncTarget(maximum_event_age_in_seconds=3600)) == d


def test_found_at_a_tick_of_the_last_step_lengthens_the_running_bake() -> None:
    record = StepRecord(index=0, weight=0.1, bake_seconds=60)
    baking = _deployment(
        _plan([(0.1, 60)]),
        step_index=0,
        weight=0.1,
        bake=Bake(bake_seconds=60, elapsed_seconds=0, wait_seconds=60),
        steps=[record],
    ).model_copy(update={"action": Action.BAKE})

    d = deployment.with_async_target(baking, AsyncTarget(configured=False))

    assert (d.bake.bake_seconds, d.steps[0].bake_seconds, d.plan.steps[0].bake_seconds) == (
        300,
        300,
        300,
    )
    assert baking.bake.bake_seconds == 60  # pure: the input is unchanged
    ticked = analysis.ticked(d, [], 0)  # the tick at 60 s bakes on instead of promoting
    assert (ticked.action, ticked.bake.wait_seconds) == (Action.BAKE, 60)


def test_found_at_an_earlier_step_lengthens_only_the_plan() -> None:
    record = StepRecord(index=0, weight=0.25, bake_seconds=60)
    baking = _deployment(
        _plan([(0.25, 60), (0.5, 60)]),
        step_index=0,
        weight=0.25,
        bake=Bake(bake_seconds=60, wait_seconds=60),
        steps=[record],
    ).model_copy(update={"action": Action.BAKE})

    d = deployment.with_async_target(baking, AsyncTarget(maximum_retry_attempts=1))

    assert [s.bake_seconds for s in d.plan.steps] == [60, 180]
    assert (d.bake.bake_seconds, d.steps[0].bake_seconds) == (60, 60)


def test_found_in_a_post_promotion_bake_lengthens_it() -> None:
    record = StepRecord(index=-1, weight=1.0, bake_seconds=120)
    baking = _deployment(
        _plan([], post=120, strategy="blueGreen"),
        weight=1.0,
        outcome=Outcome.PROMOTED,
        bake=Bake(bake_seconds=120, wait_seconds=60),
        steps=[record],
    ).model_copy(update={"action": Action.BAKE})

    d = deployment.with_async_target(baking, AsyncTarget())

    assert (d.plan.post_promotion_bake_seconds, d.bake.bake_seconds) == (300, 300)
    assert d.steps[-1].bake_seconds == 300
