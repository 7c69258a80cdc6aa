"""Promote against moto: alias wholly on the new version; blue/green keeps the old one."""

from __future__ import annotations

from typing import Any

import pytest
from integration_helpers import SHIFTED_REVISION

from coalmine.exceptions import AliasChangedOutOfBand
from coalmine.handlers.promote import handler
from events import load_event


def test_canary_promotion(world: Any, lambda_context: Any) -> None:
    world.route("1", {"2": 0.1}, revision=SHIFTED_REVISION)
    out = handler(load_event("promote"), lambda_context)
    assert world.alias() == {"version": "2", "weights": {}}
    assert (out["outcome"], out["weight"], out["action"]) == ("PROMOTED", 1.0, "FINISH")


def _blue_green(previous_exists: bool, world: Any) -> dict[str, Any]:
    if previous_exists:
        world.lambda_client.create_alias(
            FunctionName="brand-api", Name="previous", FunctionVersion="2"
        )
    event = load_event("publish-version") | {"toVersion": "2", "action": "PROMOTE"}
    event["plan"] = {
        "strategy": "blueGreen",
        "steps": [],
        "postPromotionBakeSeconds": 600,
        "previousAlias": "previous",
    }
    return event


@pytest.mark.parametrize("previous_exists", [False, True])
def test_blue_green_keeps_the_old_version_on_previous(
    world: Any, lambda_context: Any, previous_exists: bool
) -> None:
    out = handler(_blue_green(previous_exists, world), lambda_context)
    assert world.alias() == {"version": "2", "weights": {}}
    assert world.alias("previous") == {"version": "1", "weights": {}}
    assert out["action"] == "BAKE"
    assert out["bake"] == {
        "bakeSeconds": 600,
        "elapsedSeconds": 0,
        "waitSeconds": 60,
        "extendedSeconds": 0,
    }
    assert out["steps"][-1]["index"] == -1


def test_someone_elses_change_is_not_promoted_over(world: Any, lambda_context: Any) -> None:
    world.route("1", {"2": 0.5})
    with pytest.raises(AliasChangedOutOfBand):
        handler(load_event("promote"), lambda_context)
    assert world.alias() == {"version": "1", "weights": {"2": 0.5}}
