"""Every strategy name and object -> the Plan it means (weights are fractions, bakes seconds)."""

from __future__ import annotations

import pytest

from coalmine.exceptions import InvalidInput
from coalmine.models import BlueGreenStrategy, CanaryStrategy, LinearStrategy, StepsStrategy
from coalmine.strategies import CODEDEPLOY_NAMES, resolve

LINEAR_WEIGHTS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]

# name -> (weights, bake seconds of every step)
CODEDEPLOY_PLANS: dict[str, tuple[list[float], int]] = {
    "Canary10Percent5Minutes": ([0.1], 300),
    "Canary10Percent10Minutes": ([0.1], 600),
    "Canary10Percent15Minutes": ([0.1], 900),
    "Canary10Percent30Minutes": ([0.1], 1800),
    "Linear10PercentEvery1Minute": (LINEAR_WEIGHTS, 60),
    "Linear10PercentEvery2Minutes": (LINEAR_WEIGHTS, 120),
    "Linear10PercentEvery3Minutes": (LINEAR_WEIGHTS, 180),
    "Linear10PercentEvery10Minutes": (LINEAR_WEIGHTS, 600),
    "AllAtOnce": ([], 0),
}


def test_the_table_covers_all_nine_codedeploy_names() -> None:
    assert set(CODEDEPLOY_PLANS) == set(CODEDEPLOY_NAMES)
    assert len(CODEDEPLOY_NAMES) == 9


@pytest.mark.parametrize("prefix", ["", "Lambda", "CodeDeployDefault.Lambda"])
@pytest.mark.parametrize("name", list(CODEDEPLOY_PLANS))
def test_codedeploy_names_with_and_without_prefix(prefix: str, name: str) -> None:
    weights, bake = CODEDEPLOY_PLANS[name]
    plan = resolve(prefix + name)
    assert [s.weight for s in plan.steps] == pytest.approx(weights)
    assert {s.bake_seconds for s in plan.steps} <= {bake}
    assert plan.strategy == name
    assert plan.post_promotion_bake_seconds == 0
    assert plan.previous_alias is None


@pytest.mark.parametrize(
    ("name", "weights", "bake"),
    [
        ("Canary5Percent20Minutes", [0.05], 1200),
        ("Canary1Percent1Minute", [0.01], 60),
        ("LambdaCanary50Percent60Minutes", [0.5], 3600),
        ("Linear25PercentEvery5Minutes", [0.25, 0.5, 0.75], 300),
        ("Linear30PercentEvery1Minute", [0.3, 0.6, 0.9], 60),
        ("CodeDeployDefault.LambdaLinear50PercentEvery2Minutes", [0.5], 120),
    ],
)
def test_generic_canary_and_linear_names(name: str, weights: list[float], bake: int) -> None:
    plan = resolve(name)
    assert [s.weight for s in plan.steps] == pytest.approx(weights)
    assert all(s.bake_seconds == bake for s in plan.steps)


@pytest.mark.parametrize(
    ("spec", "weights", "bakes", "post_bake", "previous"),
    [
        (CanaryStrategy(type="canary", percent=2.5, interval_minutes=10), [0.025], [600], 0, None),
        (
            LinearStrategy(type="linear", percent=40, interval_minutes=0.5),
            [0.4, 0.8],
            [30, 30],
            0,
            None,
        ),
        (
            StepsStrategy.model_validate(
                {
                    "type": "steps",
                    "steps": [
                        {"weight": 0.01, "bakeSeconds": 60},
                        {"weight": 0.5, "bakeSeconds": 120},
                    ],
                }
            ),
            [0.01, 0.5],
            [60, 120],
            0,
            None,
        ),
        (
            StepsStrategy.model_validate(
                {
                    "type": "steps",
                    "steps": [
                        {"weight": 0.1, "bakeSeconds": 60},
                        {"weight": 1.0, "bakeSeconds": 900},
                    ],
                }
            ),
            [0.1],
            [60],
            900,
            None,
        ),
        (
            StepsStrategy.model_validate(
                {"type": "steps", "steps": [{"weight": 1, "bakeSeconds": 300}]}
            ),
            [],
            [],
            300,
            None,
        ),
        (BlueGreenStrategy(type="blueGreen"), [], [], 300, "previous"),
        (
            BlueGreenStrategy(type="blueGreen", bake_seconds=60, previous_alias="blue"),
            [],
            [],
            60,
            "blue",
        ),
    ],
)
def test_strategy_objects(
    spec: object, weights: list[float], bakes: list[int], post_bake: int, previous: str | None
) -> None:
    plan = resolve(spec)  # type: ignore[arg-type]
    assert [s.weight for s in plan.steps] == pytest.approx(weights)
    assert [s.bake_seconds for s in plan.steps] == bakes
    assert plan.post_promotion_bake_seconds == post_bake
    assert plan.previous_alias == previous


def test_no_plan_ever_has_a_step_of_full_weight() -> None:
    for name in CODEDEPLOY_NAMES:
        assert all(0 < s.weight < 1 for s in resolve(name).steps), name


@pytest.mark.parametrize(
    "name",
    [
        "Canary10Percent5Minute5",
        "canary10percent5minutes",
        "Canary0Percent5Minutes",
        "Canary100Percent5Minutes",
        "Canary10Percent0Minutes",
        "Linear10PercentEvery9999Minutes",
        "AllAtOnceX",
        "CodeDeployDefault.AllAtOnce",
        "CodeDeployDefault.LambdaFoo",
        "",
    ],
)
def test_unknown_strategy_names_list_the_valid_ones(name: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        resolve(name)
    assert raised.value.field == "strategy"
    assert "Canary10Percent5Minutes" in raised.value.problem
    assert "AllAtOnce" in raised.value.problem


@pytest.mark.parametrize(
    ("weights", "field"),
    [
        ([0.1, 0.1], "strategy.steps[1].weight"),
        ([0.1, 0.5, 0.3], "strategy.steps[2].weight"),
        ([0.5, 0.2, 1.0], "strategy.steps[1].weight"),
        ([1.0, 1.0], "strategy.steps[1].weight"),
    ],
)
def test_steps_must_strictly_increase(weights: list[float], field: str) -> None:
    spec = StepsStrategy.model_validate(
        {"type": "steps", "steps": [{"weight": w, "bakeSeconds": 60} for w in weights]}
    )
    with pytest.raises(InvalidInput) as raised:
        resolve(spec)
    assert raised.value.field == field
    assert "strictly increasing" in raised.value.problem
