"""Rollback against moto: alias wholly back on the stable version, never over someone else."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from integration_helpers import SHIFTED_REVISION

from coalmine.adapters.lambda_api import LambdaApi
from coalmine.exceptions import AliasChangedOutOfBand
from coalmine.handlers.rollback import handler, roll_back
from coalmine.models import Deployment
from events import load_event


@pytest.mark.parametrize(
    ("version", "weights"),
    [
        ("1", {"2": 0.1}),  # what we last set
        ("2", {}),  # a promotion whose response was lost
        ("1", {}),  # already back: nothing to undo
    ],
)
def test_rollback_restores_the_stable_version(
    world: Any, lambda_context: Any, version: str, weights: dict[str, float]
) -> None:
    event = load_event("rollback")
    if version == "2":  # Promote's UpdateAlias landed, its answer lost: caught with action PROMOTE
        world.route(version, weights)
        event["action"] = "PROMOTE"
    else:  # coalmine's own write: the document knows its RevisionId
        world.route(version, weights, revision=SHIFTED_REVISION)
    out = handler(event, lambda_context)
    assert world.alias() == {"version": "1", "weights": {}}
    assert (out["outcome"], out["weight"], out["action"]) == ("ROLLED_BACK", 0.0, "ROLLBACK")
    assert "brand-api-prod-errors" in out["reason"]


def test_reason_from_a_caught_error(world: Any, lambda_context: Any) -> None:
    world.route("1", {"2": 0.1}, revision=SHIFTED_REVISION)
    event = load_event("rollback") | {"action": "SHIFT", "reason": None}
    event["error"] = {
        "Error": "States.TaskFailed",
        "Cause": json.dumps({"errorMessage": "boom", "errorType": "KeyError"}),
    }
    out = handler(event, lambda_context)
    assert out["reason"] == "ShiftTraffic failed: States.TaskFailed: boom"


def test_someone_elses_change_is_left_alone(world: Any, lambda_context: Any) -> None:
    world.lambda_client.update_function_code(
        FunctionName="brand-api", ZipFile=b"PK\x05\x06" + b"\x00" * 18
    )
    world.lambda_client.publish_version(FunctionName="brand-api")  # version 3, a hotfix
    world.route("3")
    with pytest.raises(AliasChangedOutOfBand, match="version 3"):
        handler(load_event("rollback"), lambda_context)
    assert world.alias() == {"version": "3", "weights": {}}


def test_a_stale_revision_on_write_is_out_of_band() -> None:
    client = boto3.client("lambda", region_name="us-east-1")
    with Stubber(client) as stubber:
        stubber.add_response(
            "get_alias",
            {
                "FunctionVersion": "1",
                "RevisionId": "r2",
                "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.1}},
            },
        )
        stubber.add_client_error("update_alias", "PreconditionFailedException", "stale")
        with pytest.raises(AliasChangedOutOfBand):
            roll_back(Deployment.model_validate(load_event("rollback")), LambdaApi(client))
