"""Analyze against moto: the alarms gate decides bake on / move on / roll back; the step waits
for the metrics of its whole bake; a throttled metrics read is an inconclusive tick; an alarm
already firing before the deployment does not gate."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from coalmine.adapters.cloudwatch import CloudWatchApi
from coalmine.exceptions import AliasChangedOutOfBand, AwsThrottled
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
    assert alarms["evidence"]["states"] == {"brand-api-prod-errors": "OK"}
    assert (out["action"], out["bake"]["elapsedSeconds"]) == ("BAKE", 60)


def test_alarm_in_alarm_rolls_back_naming_it(
    world: Any, lambda_context: Any, shifted: dict
) -> None:
    world.set_alarm("ALARM")
    out = handler(shifted, lambda_context)
    assert out["action"] == "ROLLBACK"
    assert "brand-api-prod-errors" in out["reason"]
    assert out["steps"][0]["verdict"] == "FAIL"
    assert world.alias() == {"version": "1", "weights": {"2": 0.1}}  # Rollback does the undo


def test_the_end_of_the_bake_waits_for_its_metrics(
    world: Any, lambda_context: Any, shifted: dict
) -> None:
    shifted["bake"]["elapsedSeconds"] = 240  # the bake ends now: its last minutes are not in
    out = handler(shifted, lambda_context)
    tick = out["steps"][0]["ticks"][-1]
    assert (out["action"], tick["verdict"], tick["action"]) == ("BAKE", "INCONCLUSIVE", "CONTINUE")
    assert tick["coverage"]["missing"]
    assert tick["coverage"]["delaySeconds"] == 120
    assert 0 < out["bake"]["waitSeconds"] <= 60


def test_the_end_of_the_bake_promotes_once_its_metrics_are_in(
    world: Any, lambda_context: Any, shifted: dict
) -> None:
    shifted["bake"]["elapsedSeconds"] = 420  # the bake ended 180 s ago
    out = handler(shifted, lambda_context)
    assert (out["action"], out["steps"][0]["verdict"]) == ("PROMOTE", "PASS")
    assert out["steps"][0]["ticks"][-1]["coverage"]["missing"] == []


def test_a_deleted_alarm_is_inconclusive(world: Any, lambda_context: Any, shifted: dict) -> None:
    world.cloudwatch.delete_alarms(AlarmNames=["brand-api-prod-errors"])
    out = handler(shifted, lambda_context)
    assert out["steps"][0]["ticks"][-1]["verdict"] == "INCONCLUSIVE"
    assert out["action"] == "BAKE"


def test_after_promotion_a_pass_finishes(world: Any, lambda_context: Any) -> None:
    world.route("2")
    event = load_event("analyze") | {"outcome": "PROMOTED", "weight": 1.0}
    event["steps"].append({"index": -1, "weight": 1.0, "bakeSeconds": 60})
    event["bake"] = {"bakeSeconds": 60, "elapsedSeconds": 180, "waitSeconds": 60}  # ended 180 s ago
    assert handler(event, lambda_context)["action"] == "FINISH"


def test_a_split_changed_by_someone_else_aborts(world: Any, lambda_context: Any) -> None:
    world.route("1", {"2": 0.5})
    with pytest.raises(AliasChangedOutOfBand):
        handler(load_event("analyze"), lambda_context)


def _throttled(world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def throttled(*args: Any, **kwargs: Any) -> None:
        raise AwsThrottled("CloudWatch throttled GetMetricData: Rate exceeded")

    monkeypatch.setattr(CloudWatchApi, "get_metric_data", throttled)


def test_a_throttled_metrics_read_is_an_inconclusive_tick_up_to_a_limit(
    world: Any, lambda_context: Any, shifted: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    _throttled(world, monkeypatch)
    event = shifted
    shifted["bake"]["elapsedSeconds"] = 420  # past the bake: an unread tick never passes
    for n in (1, 2, 3):
        event = handler(event, lambda_context)
        tick = event["steps"][0]["ticks"][-1]
        assert (event["action"], tick["verdict"]) == ("BAKE", "INCONCLUSIVE")
        read = tick["gates"][0]
        assert read["gate"] == "metrics-read"
        assert read["evidence"] == {"throttled": True, "consecutive": n}
        assert [g["gate"] for g in tick["gates"]] == ["metrics-read", "alarms"]
    with pytest.raises(AwsThrottled):  # the fourth in a row fails the state as before
        handler(event, lambda_context)


def test_a_throttled_read_with_an_alarm_firing_still_rolls_back(
    world: Any, lambda_context: Any, shifted: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    _throttled(world, monkeypatch)
    world.set_alarm("ALARM")
    assert handler(shifted, lambda_context)["action"] == "ROLLBACK"


def test_an_alarm_firing_before_the_deployment_is_recorded_not_judged(
    world: Any, lambda_context: Any, shifted: dict
) -> None:
    world.set_alarm("ALARM")
    # the first analysed tick ran after the alarm fired: the analysis began after it
    first = {"elapsedSeconds": 0, "verdict": "PASS", "gates": [], "action": "CONTINUE",
             "at": datetime.now(UTC).isoformat()}  # fmt: skip
    shifted["steps"][0]["ticks"] = [first]
    out = handler(shifted, lambda_context)
    alarms = next(g for g in out["steps"][0]["ticks"][-1]["gates"] if g["gate"] == "alarms")
    assert alarms["evidence"]["preexisting"] == ["brand-api-prod-errors"]
    assert alarms["verdict"] == "PASS"
    assert out["action"] == "BAKE"
