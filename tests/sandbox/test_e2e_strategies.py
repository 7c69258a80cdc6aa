"""End to end through the shipped state machine: every kind of strategy promotes a healthy
version along its plan, and a failing canary is rolled back by the template's errors alarm.

The alias is watched from the outside, once per simulated second, so the weights checked are the
ones brand-api:prod actually routed, not what the execution says it did.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from e2e_helpers import (
    ERRORS_ALARM,
    FUNCTION,
    alias_snapshot,
    publish_candidate,
    routing,
    run,
    start_traffic,
    watch,
)

from coalmine_sandbox import Sandbox

#: How much longer than its bake a step may hold its weight (handler calls, retries).
SLACK_SECONDS = 5
#: After its bake a step waits until the metrics of its last minute are in: up to the rest of that
#: minute plus metricsDelaySeconds (120 s), and the interval it is checked at.
DATA_WAIT_SECONDS = 60 + 120 + 60


@dataclass(frozen=True)
class Case:
    strategy: str | dict[str, Any]
    weights: list[float]  # the plan's weighted steps, in order
    bake_seconds: int  # each weighted step's bake
    post_promotion_bake_seconds: int = 0
    previous_alias: str | None = None  # blue/green keeps the old version here


def _steps(*pairs: tuple[float, int]) -> dict[str, Any]:
    return {"type": "steps", "steps": [{"weight": w, "bakeSeconds": b} for w, b in pairs]}


CASES: dict[str, Case] = {
    "AllAtOnce": Case("AllAtOnce", [], 0, post_promotion_bake_seconds=300),  # its watch
    "Canary10Percent5Minutes": Case("Canary10Percent5Minutes", [0.1], 300),
    "CodeDeployDefault.LambdaCanary10Percent5Minutes": Case(
        "CodeDeployDefault.LambdaCanary10Percent5Minutes", [0.1], 300
    ),
    "Linear10PercentEvery1Minute": Case(
        "Linear10PercentEvery1Minute", [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], 60
    ),
    "custom canary 2.5% 1 min": Case(
        {"type": "canary", "percent": 2.5, "intervalMinutes": 1}, [0.025], 60
    ),
    "custom linear 30% every 1 min": Case(
        {"type": "linear", "percent": 30, "intervalMinutes": 1}, [0.3, 0.6, 0.9], 60
    ),
    "explicit steps": Case(
        _steps((0.005, 60), (0.02, 60), (0.1, 60), (0.5, 60)), [0.005, 0.02, 0.1, 0.5], 60
    ),
    "explicit steps ending at 1.0 (post-promotion bake)": Case(
        _steps((0.1, 60), (1.0, 120)), [0.1], 60, post_promotion_bake_seconds=120
    ),
    "blueGreen": Case(
        {"type": "blueGreen", "bakeSeconds": 120},
        [],
        0,
        post_promotion_bake_seconds=120,
        previous_alias="previous",
    ),
    "blueGreen with its own previous alias": Case(
        {"type": "blueGreen", "bakeSeconds": 60, "previousAlias": "last-good"},
        [],
        0,
        post_promotion_bake_seconds=60,
        previous_alias="last-good",
    ),
}


@pytest.fixture(scope="class")
def deployer() -> Iterator[Sandbox]:
    """One Sandbox for the whole table: each case deploys a new version over the last one's
    promotion, as successive releases do (and a Sandbox stand-up per case is saved)."""
    with Sandbox(seed=5) as sb:
        yield sb


class TestEveryStrategy:
    @pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
    def test_promotes_along_its_plan(self, deployer: Sandbox, case: Case) -> None:
        _promotes_along_its_plan(deployer, case)


def _promotes_along_its_plan(sandbox: Sandbox, case: Case) -> None:
    # Given brand-api:prod wholly on its stable version, a new version, no traffic, no alarms
    stable, weights = routing(alias_snapshot(sandbox))
    assert weights == {}, "the previous case left the alias weighted"
    candidate = publish_candidate(sandbox, release=f"candidate-{case.strategy}")
    assert candidate != stable
    watcher = watch(sandbox)

    # When it is deployed with the strategy
    try:
        done = run(
            sandbox,
            {
                "functionName": FUNCTION,
                "targetVersion": candidate,
                "strategy": case.strategy,
                # no traffic here: opt out of the minimum sample, or it would (rightly) not promote
                "analysis": {"minInvocations": 0},
            },
        )
    finally:
        watcher.stop()

    # Then the execution succeeded and its output tells the story, one record per step
    assert done.status == "SUCCEEDED", f"{done.error}: {done.message}"
    out = done.output
    assert out["outcome"] == "PROMOTED"
    assert (out["functionName"], out["alias"]) == (FUNCTION, "prod")
    assert (out["fromVersion"], out["toVersion"]) == (stable, candidate)
    assert [s["weight"] for s in out["plan"]["steps"]] == pytest.approx(case.weights)
    assert out["plan"]["postPromotionBakeSeconds"] == case.post_promotion_bake_seconds
    records = out["steps"]
    weighted = [r for r in records if r["index"] >= 0]
    assert [r["index"] for r in weighted] == list(range(len(case.weights)))
    assert [r["weight"] for r in weighted] == pytest.approx(case.weights)
    assert [r["bakeSeconds"] for r in weighted] == [case.bake_seconds] * len(case.weights)
    post = [r for r in records if r["index"] == -1]
    assert len(post) == (1 if case.post_promotion_bake_seconds else 0)
    assert len(records) == len(weighted) + len(post)
    assert [r["verdict"] for r in records] == ["PASS"] * len(records)
    assert "Promote" in done.entered
    assert "Rollback" not in done.entered

    # And the alias went through exactly the plan's weights, each held for its bake ...
    assert {version for version, _ in watcher.seen} <= {stable, candidate}
    assert all(set(w) <= {candidate} for _, w in watcher.seen)
    assert watcher.weights_on(candidate) == pytest.approx(case.weights)
    for weight in case.weights:
        held = sum(1 for v, w in watcher.seen if v == stable and w.get(candidate) == weight)
        assert case.bake_seconds <= held <= case.bake_seconds + DATA_WAIT_SECONDS + SLACK_SECONDS, (
            weight,
            held,
        )
    # ... was wholly on the new version through the post-promotion bake, and is now
    assert watcher.seconds_wholly_on(candidate) >= case.post_promotion_bake_seconds
    final = alias_snapshot(sandbox)
    assert routing(final) == (candidate, {})
    assert not final.get("RoutingConfig", {}).get("AdditionalVersionWeights")
    if case.previous_alias:
        # blue/green: the old version stays one alias away, for an instant rollback
        assert sandbox.alias(FUNCTION, case.previous_alias)["FunctionVersion"] == stable
        assert watcher.weights_on(candidate) == []


def test_a_canary_failing_every_request_is_rolled_back_by_the_errors_alarm(
    sandbox: Sandbox,
) -> None:
    # Given 20 rps on brand-api:prod (stable, no errors) and a new version failing every request
    # (10% of the alias: above the sample alarm's 5% error rate)
    stable, _ = routing(alias_snapshot(sandbox))
    candidate = publish_candidate(sandbox, FAULT_ERROR_RATE="1")
    counts, stop_traffic = start_traffic(sandbox, rps=20)
    watcher = watch(sandbox)

    # When it is deployed as a 10% canary judged by the template's errors alarm
    done = run(
        sandbox,
        {
            "functionName": FUNCTION,
            "targetVersion": candidate,
            "strategy": "Canary10Percent5Minutes",
            # the alarm alone judges here (the errors comparison would roll back first)
            "analysis": {"alarms": [ERRORS_ALARM], "intervalSeconds": 60, "compareErrors": False},
        },
    )
    stop_traffic()

    # Then the execution failed as a rollback naming the alarm
    assert done.status == "FAILED"
    assert done.error == "DeploymentRolledBack"
    assert ERRORS_ALARM in done.cause
    assert "Rollback" in done.entered
    assert "Promote" not in done.entered
    # And the canary served real traffic (and failed some of it) before the alarm fired
    assert counts.invocations.get(candidate, 0) > 0
    assert counts.errors.get(candidate, 0) > 0
    assert counts.errors.get(stable, 0) == 0
    assert watcher.weights_on(candidate) == pytest.approx([0.1])
    held = sum(1 for _, w in watcher.seen if w.get(candidate) == pytest.approx(0.1))
    assert 0 < held < 300, "rolled back at the first failing tick, not at the end of the bake"
    # And the alias is wholly back on the stable version
    assert routing(alias_snapshot(sandbox)) == (stable, {})
