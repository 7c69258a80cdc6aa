"""Analyze against moto: the alarms gate decides bake on / move on / roll back."""

from __future__ import annotations

from typing import Any

import pytest

from coalmine.exceptions import AliasChangedOutOfBand
from coalmine.handlers.analyze import handler
from events import load_event


@pytest.fixture
def shifted(world: Any) -> dict[str, Any]:
    world.route("1", {"2": 0.1})  # what ShiftTraffic set before this analysis
    return load_event("analyze")


def test_ok_alarm_bakes_on(world: Any, lambda_context: Any, shifted: dict) -> None:
    out = handler(shifted, lambda_context)
    tick = out["steps"][0]["ticks"][-1]
    assert (tick["verdict"], tick["elapsedSeconds"]) == ("PASS", 60)
    alarms = next(g for g in tick["gates"] if g["gate"] == "alarms")
    assert alarms["evidence"]["states"] == {"brand-api-canary-errors": "OK"}
    assert (out["action"], out["bake"]["elapsedSeconds"]) == ("BAKE", 60)


def test_alarm_in_alarm_rolls_back_naming_it(
    world: Any, lambda_context: Any, shifted: dict
) -> None:
    world.set_alarm("ALARM")
    out = handler(shifted, lambda_context)
    assert out["action"] == "ROLLBACK"
    assert "brand-api-canary-errors" in out["reason"]
    assert out["steps"][0]["verdict"] == "FAIL"
    assert world.alias() == {"version": "1", "weights": {"2": 0.1}}  # Rollback does the undo


def test_the_end_of_the_bake_promotes(world: Any, lambda_context: Any, shifted: dict) -> None:
    shifted["bake"]["elapsedSeconds"] = 240
    out = handler(shifted, lambda_context)
    assert (out["action"], out["steps"][0]["verdict"]) == ("PROMOTE", "PASS")


def test_a_deleted_alarm_is_inconclusive(world: Any, lambda_context: Any, shifted: dict) -> None:
    world.cloudwatch.delete_alarms(AlarmNames=["brand-api-canary-errors"])
    out = handler(shifted, lambda_context)
    assert out["steps"][0]["ticks"][-1]["verdict"] == "INCONCLUSIVE"
    assert out["action"] == "BAKE"


def test_after_promotion_a_pass_finishes(world: Any, lambda_context: Any) -> None:
    world.route("2")
    event = load_event("analyze") | {"outcome": "PROMOTED", "weight": 1.0}
    event["steps"].append({"index": -1, "weight": 1.0, "bakeSeconds": 60})
    event["bake"] = {"bakeSeconds": 60, "elapsedSeconds": 0, "waitSeconds": 60}
    assert handler(event, lambda_context)["action"] == "FINISH"


def test_a_split_changed_by_someone_else_aborts(world: Any, lambda_context: Any) -> None:
    world.route("1", {"2": 0.5})
    with pytest.raises(AliasChangedOutOfBand):
        handler(load_event("analyze"), lambda_context)
