"""coalmine/provisioned_concurrency.py: whether a shift may bake, must wait or must roll back, and
what Prepare refuses, for the alias's provisioned concurrency config."""

from __future__ import annotations

import pytest

from coalmine import provisioned_concurrency as pc
from coalmine.exceptions import InvalidInput
from coalmine.provisioned_concurrency import Gate, ProvisionedConfig

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
        (_config("READY", allocated=8), Gate.WAIT, "READY: 8 of 10"),  # AWS: it fluctuates
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
    ("gate", "waited", "after"),
    [
        (Gate.WAIT, 0.0, Gate.WAIT),
        (Gate.WAIT, pc.MAX_WAIT_SECONDS - 1, Gate.WAIT),
        (Gate.WAIT, pc.MAX_WAIT_SECONDS, Gate.FAIL),
        (Gate.PROCEED, pc.MAX_WAIT_SECONDS * 2, Gate.PROCEED),
        (Gate.FAIL, 0.0, Gate.FAIL),
    ],
)
def test_the_wait_is_bounded(gate: Gate, waited: float, after: Gate) -> None:
    judged = pc.after_waiting(pc.Judgement(gate, "why"), waited)
    assert judged.gate == after
    if gate == Gate.WAIT and after == Gate.FAIL:
        assert judged.reason.startswith("why after waiting 180 s (at most 180 s)")


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
