"""execution_limits: a plan that could outgrow one execution's history (25,000 events) is refused
in Prepare, naming the interval that fits; every plan that fits is accepted."""

from __future__ import annotations

from typing import Any

import pytest

from coalmine import execution_limits, strategies, validation
from coalmine.exceptions import InvalidInput
from coalmine.models import AnalysisConfig, HookCallback

# the longest linear plan of 10-minute steps: 10 steps (5%, then 10% ... 90%) of 600 s each
TEN_STEPS = [{"weight": 0.05, "bakeSeconds": 600}] + [
    {"weight": w / 10, "bakeSeconds": 600} for w in range(1, 10)
]


def _request(strategy: Any, **analysis: Any) -> dict[str, Any]:
    return {
        "functionName": "brand-api",
        "targetVersion": "3",
        "strategy": strategy,
        "analysis": analysis,
    }


@pytest.mark.parametrize(
    ("strategy", "analysis"),
    [
        ("Canary10Percent5Minutes", {}),
        ("Linear10PercentEvery10Minutes", {"intervalSeconds": 10, "minInvocations": 0}),
        (
            {
                "type": "steps",
                "steps": TEN_STEPS,
            },
            {"intervalSeconds": 10},
        ),
        ("Canary10Percent1440Minutes", {"intervalSeconds": 60}),
        ("AllAtOnce", {"intervalSeconds": 10}),
        ({"type": "blueGreen", "bakeSeconds": 3600}, {"intervalSeconds": 10}),
    ],
)
def test_plans_that_fit_are_accepted(strategy: Any, analysis: dict[str, Any]) -> None:
    request = validation.parse_request(_request(strategy, **analysis))
    plan = strategies.resolve(request.strategy)
    assert execution_limits.worst_case_events(plan, request.analysis) <= 25_000


@pytest.mark.parametrize(
    ("strategy", "analysis", "fits_at"),
    [
        ("Canary10Percent1440Minutes", {"intervalSeconds": 10}, 34),
        # (its watch after the cutover may extend for low traffic like any step)
        ({"type": "blueGreen", "bakeSeconds": 86400}, {"intervalSeconds": 10}, 34),
        ("Linear1PercentEvery10Minutes", {"intervalSeconds": 10}, None),
    ],
)
def test_plans_that_could_outgrow_the_history_are_refused(
    strategy: Any, analysis: dict[str, Any], fits_at: int | None
) -> None:
    with pytest.raises(InvalidInput) as refused:
        validation.parse_request(_request(strategy, **analysis))
    assert refused.value.field == "analysis.intervalSeconds"
    assert "25,000" in refused.value.problem
    if fits_at is not None:
        assert f"use intervalSeconds >= {fits_at}" in refused.value.problem
        # and the interval it names does fit
        fitted = validation.parse_request(
            _request(strategy, **{**analysis, "intervalSeconds": fits_at})
        )
        assert (
            execution_limits.worst_case_events(strategies.resolve(fitted.strategy), fitted.analysis)
            <= 25_000
        )


def test_a_tick_costs_nine_events_and_each_bake_its_extension_and_metrics_wait() -> None:
    cfg = AnalysisConfig(interval_seconds=10, max_bake_extension_seconds=0, metrics_delay_seconds=0)
    # 600 s of bake + 60 s for the last minute's metrics, every 10 s, + the 2 short last waits
    assert execution_limits.bake_ticks(600, cfg, extensible=True) == 66 + 2
    longer = cfg.model_copy(
        update={"max_bake_extension_seconds": 1800, "metrics_delay_seconds": 120}
    )
    assert execution_limits.bake_ticks(600, longer, extensible=True) == 258 + 2
    assert execution_limits.bake_ticks(600, longer, extensible=False) == 78 + 2
    plan = strategies.resolve("Canary10Percent5Minutes")
    ticks = execution_limits.worst_case_ticks(plan, cfg)
    assert execution_limits.worst_case_events(plan, cfg) == (
        ticks * 9 + 7 + execution_limits.FIXED_EVENTS + execution_limits.RETRY_RESERVE
    )


@pytest.mark.parametrize(
    ("callbacks", "waits"),
    [({}, 0), ({"pre"}, 1), ({"post"}, 1), ({"pre", "post"}, 2)],
    ids=["synchronous", "pre", "post", "both"],
)
def test_each_callback_hook_adds_one_wait_and_a_synchronous_one_nothing(
    callbacks: set[str], waits: int
) -> None:
    callback = HookCallback(timeout_seconds=3600, heartbeat_seconds=300)
    cfg = AnalysisConfig(
        pre_traffic_hook="smoke",
        post_traffic_hook="smoke",
        pre_traffic_hook_callback=callback if "pre" in callbacks else None,
        post_traffic_hook_callback=callback if "post" in callbacks else None,
    )
    plan = strategies.resolve("Canary10Percent5Minutes")
    plain = execution_limits.worst_case_events(plan, AnalysisConfig())
    # heartbeats record no history event: however long the wait, one wait's events
    assert execution_limits.worst_case_events(plan, cfg) == (
        plain + waits * execution_limits.EVENTS_PER_CALLBACK_HOOK
    )
