"""coalmine/provisioned_concurrency.py: whether a shift may bake, must wait or must roll back, and
what Prepare refuses, for the alias's provisioned concurrency config."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coalmine import deployment
from coalmine import provisioned_concurrency as pc
from coalmine.exceptions import InvalidInput, ProvisionedConcurrencyNotReady
from coalmine.models import Deployment
from coalmine.provisioned_concurrency import Gate, ProvisionedConfig
from events import load_event

WHERE = "brand-api:prod"


def _config(status: str, allocated: int = 10, requested: int = 10, reason: str | None = None):
    return ProvisionedConfig(requested, allocated, allocated, status, reason)


@pytest.mark.parametrize(
    ("config", "gate", "says"),
    [
        (None, Gate.PROCEED, "has no provisioned concurrency"),
        (_config("READY"), Gate.PROCEED, "READY (10 of 10)"),
        (_config("IN_PROGRESS", allocated=9), Gate.WAIT, "IN_PROGRESS: 9 of 10"),
        (_config("IN_PROGRESS"), Gate.WAIT, "IN_PROGRESS: 10 of 10"),  # status decides
        # AWS: the allocated count "fluctuates" during weighted deployments: Status decides
        (_config("READY", allocated=8), Gate.PROCEED, "READY (8 of 10)"),
        (_config("FAILED", 9, reason="FUNCTION_ERROR_INIT_FAILURE"), Gate.FAIL,
         "FAILED: FUNCTION_ERROR_INIT_FAILURE"),
        (_config("FAILED", 9), Gate.FAIL, "FAILED: no reason given"),
    ],
)  # fmt: skip
def test_judge(config: ProvisionedConfig | None, gate: Gate, says: str) -> None:
    judged = pc.judge(config, 0.1, WHERE)
    assert judged.gate == gate
    assert says in judged.reason
    assert judged.reason.startswith(WHERE)


@pytest.mark.parametrize(
    ("requested", "weight", "share"),
    [(10, 0.1, 1), (10, 0.05, 0), (10, 0.3, 3), (20, 0.05, 1), (3, 0.5, 1), (10, 1.0, 10)],
)
def test_new_version_share(requested: int, weight: float, share: int) -> None:
    assert pc.new_version_share(requested, weight) == share


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        (None, None),
        (_config("READY"), None),
        (_config("IN_PROGRESS", 3), "is IN_PROGRESS (3 of 10 allocated); deploy once it is READY"),
        (_config("FAILED", 0, reason="boom"), "is FAILED (boom); fix it before deploying"),
    ],
)
def test_alias_problem(config: ProvisionedConfig | None, problem: str | None) -> None:
    found = pc.alias_problem(config, WHERE)
    assert found == (None if problem is None else f"{WHERE}'s provisioned concurrency {problem}")


@pytest.mark.parametrize(
    ("requested", "weights", "refused"),
    [
        (10, [0.1, 0.2, 0.3], []),
        (10, [0.05, 0.5], ["a step of 5% gives the new version 0.5 of brand-api:prod's 10 "
                           "provisioned environments (under one: its share would run cold); "
                           "start at 10% or more, or provision at least 20"]),
        (5, [0.1, 0.1, 0.2], ["a step of 10% gives the new version 0.5 of brand-api:prod's 5 "
                              "provisioned environments (under one: its share would run cold); "
                              "start at 20% or more, or provision at least 10"]),
        (1, [], []),  # no steps (AllAtOnce, blue/green): nothing weighted
    ],
)  # fmt: skip
def test_step_problems(requested: int, weights: list[float], refused: list[str]) -> None:
    assert pc.step_problems(_config("READY", requested, requested), weights, WHERE) == refused
    assert pc.step_problems(None, weights, WHERE) == []


class _Reads:
    def __init__(self, config: ProvisionedConfig | None) -> None:
        self.config = config
        self.asked: list[tuple[str, str]] = []

    def get_provisioned_concurrency(self, function_name: str, qualifier: str):
        self.asked.append((function_name, qualifier))
        return self.config


@pytest.mark.parametrize(
    ("config", "weights", "field"),
    [
        (None, [0.01], None),
        (_config("READY"), [0.1], None),
        (_config("IN_PROGRESS", 0), [0.1], "alias"),
        (_config("FAILED", 0), [0.5], "alias"),
        (_config("READY"), [0.05], "strategy"),
    ],
)
def test_check(config: ProvisionedConfig | None, weights: list[float], field: str | None) -> None:
    reads = _Reads(config)
    if field is None:
        assert pc.check(reads, "brand-api", "prod", weights) == config
    else:
        with pytest.raises(InvalidInput) as refused:
            pc.check(reads, "brand-api", "prod", weights)
        assert refused.value.field == field
        assert WHERE in refused.value.problem
    assert reads.asked == [("brand-api", "prod")]


def _shifted() -> Deployment:
    """A deployment whose first step (10%) was just routed (what ShiftTraffic hands over)."""
    return deployment.shifted(Deployment.model_validate(load_event("shift-traffic")), "rev-2")


NOW = datetime(2026, 12, 2, 12, 3, 12, 400000, tzinfo=UTC)


def test_after_shift_an_alias_without_provisioned_concurrency_bakes_at_once() -> None:
    shifted = _shifted()
    assert pc.after_shift(None, shifted, NOW) is shifted


def test_after_shift_a_ready_allocation_bakes_from_the_next_whole_minute() -> None:
    shifted = _shifted()
    out = pc.after_shift(_config("READY"), shifted, NOW)
    assert (out.action, out.bake.bake_seconds) == ("BAKE", shifted.bake.bake_seconds)
    # 47.6 s to 12:04:00 (48 whole seconds): the first tick lands an interval after it, and
    # Analyze's bake start (tick time - elapsed - wait) is 12:04:00.4, in that minute
    assert (out.bake.elapsed_seconds, out.bake.wait_seconds) == (-48, 60 + 48)
    tick = NOW + timedelta(seconds=out.bake.wait_seconds)
    started = tick - timedelta(seconds=out.bake.elapsed_seconds + out.bake.wait_seconds)
    assert started.replace(microsecond=0) == datetime(2026, 12, 2, 12, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "ahead"),
    [
        (datetime(2026, 12, 2, 12, 4, tzinfo=UTC), 0),  # on the minute already
        (datetime(2026, 12, 2, 12, 4, 0, 1, tzinfo=UTC), 60),
        (datetime(2026, 12, 2, 12, 4, 59, tzinfo=UTC), 1),
    ],
)
def test_from_next_minute(now: datetime, ahead: int) -> None:
    out = pc.from_next_minute(_shifted(), now)
    assert (out.bake.elapsed_seconds, out.bake.wait_seconds) == (-ahead, 60 + ahead)


def test_from_next_minute_leaves_a_step_without_bake() -> None:
    event = load_event("shift-traffic")
    event["plan"]["steps"][0]["bakeSeconds"] = 0
    shifted = deployment.shifted(Deployment.model_validate(event), "rev-2")
    assert pc.from_next_minute(shifted, NOW) is shifted


def test_after_shift_an_allocation_in_progress_is_retried_by_the_state_machine() -> None:
    with pytest.raises(ProvisionedConcurrencyNotReady) as waiting:
        pc.after_shift(_config("IN_PROGRESS", 0), _shifted(), NOW)
    assert str(waiting.value) == (
        "brand-api:prod's provisioned concurrency is IN_PROGRESS: 0 of 10 environments "
        "allocated: the new version's 10% would run on cold environments (waited for at most "
        "180 s, then rolled back)"
    )
    assert pc.MAX_WAIT_SECONDS == pc.RETRY_INTERVAL_SECONDS * pc.RETRY_ATTEMPTS == 180


def test_after_shift_a_failed_allocation_rolls_back_with_its_reason() -> None:
    shifted = _shifted()
    out = pc.after_shift(_config("FAILED", 9, reason="FUNCTION_ERROR_INIT_FAILURE"), shifted, NOW)
    assert (out.action, out.bake.bake_seconds, out.revision_id) == ("ROLLBACK", 0, "rev-2")
    assert out.reason is not None
    assert "(FAILED: FUNCTION_ERROR_INIT_FAILURE)" in out.reason
    assert (out.steps[-1].verdict, out.steps[-1].reason) == ("FAIL", out.reason)
    assert shifted.action == "BAKE"  # the input is not changed
