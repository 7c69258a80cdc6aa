"""ShiftTraffic against moto: the next weight lands on the alias, never over someone's change."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from coalmine.adapters.lambda_api import LambdaApi
from coalmine.adapters.lambda_invoke import LambdaInvoker
from coalmine.exceptions import (
    AliasChangedOutOfBand,
    AwsThrottled,
    ProvisionedConcurrencyNotReady,
)
from coalmine.handlers.shift_traffic import handler, shift
from coalmine.models import Deployment
from coalmine.provisioned_concurrency import ProvisionedConfig
from events import load_event


def test_first_shift_routes_the_canary_weight(world: Any, lambda_context: Any) -> None:
    out = handler(load_event("shift-traffic"), lambda_context)
    assert world.alias() == {"version": "1", "weights": {"2": 0.1}}
    assert (out["stepIndex"], out["weight"], out["action"]) == (0, 0.1, "BAKE")
    assert out["bake"] == {
        "bakeSeconds": 300,
        "elapsedSeconds": 0,
        "waitSeconds": 60,
        "extendedSeconds": 0,
    }
    assert out["steps"][0]["index"] == 0


def test_linear_shifts_step_by_step(world: Any, lambda_context: Any) -> None:
    event = load_event("shift-traffic")
    event["plan"]["steps"] = [{"weight": 0.1, "bakeSeconds": 0}, {"weight": 0.2, "bakeSeconds": 0}]
    first = handler(event, lambda_context)
    assert first["action"] == "SHIFT"
    second = handler(first, lambda_context)
    assert world.alias() == {"version": "1", "weights": {"2": 0.2}}
    assert second["action"] == "PROMOTE"
    assert [s["weight"] for s in second["steps"]] == [0.1, 0.2]


def test_a_retry_after_a_lost_response_is_harmless(world: Any, lambda_context: Any) -> None:
    # Given the shift already happened but its response was lost (the alias routes 10%)
    world.route("1", {"2": 0.1})
    # When the same input is retried, Then it shifts again to the same weight
    out = handler(load_event("shift-traffic"), lambda_context)
    assert out["weight"] == 0.1
    assert world.alias() == {"version": "1", "weights": {"2": 0.1}}


@pytest.mark.parametrize(("version", "weights"), [("1", {"2": 0.5}), ("2", {}), ("1", {"3": 0.1})])
def test_an_alias_changed_by_someone_else_is_left_alone(
    world: Any, lambda_context: Any, version: str, weights: dict[str, float]
) -> None:
    if "3" in weights:
        world.lambda_client.publish_version(FunctionName="brand-api")  # moto: a new version 3
    world.route(version, weights)
    with pytest.raises(AliasChangedOutOfBand, match="changed by someone else"):
        handler(load_event("shift-traffic"), lambda_context)
    assert world.alias() == {"version": version, "weights": weights}


def _alias_response(weights: dict[str, float]) -> dict[str, Any]:
    return {
        "FunctionVersion": "1",
        "RoutingConfig": {"AdditionalVersionWeights": weights},
        "RevisionId": "rev-now",
    }


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("PreconditionFailedException", AliasChangedOutOfBand),
        ("TooManyRequestsException", AwsThrottled),
    ],
)
def test_aws_errors_on_update_are_translated(code: str, error: type[Exception]) -> None:
    # Given the alias changes between our read and our conditional write (moto cannot do this)
    client = boto3.client("lambda", region_name="us-east-1")
    with Stubber(client) as stubber:
        stubber.add_response("get_alias", _alias_response({}))
        stubber.add_client_error(
            "update_alias",
            code,
            "nope",
            expected_params={
                "FunctionName": "brand-api",
                "Name": "prod",
                "FunctionVersion": "1",
                "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.1}},
                "RevisionId": "rev-now",
            },
        )
        current = Deployment.model_validate(load_event("shift-traffic") | {"revisionId": "rev-now"})
        with pytest.raises(error):
            shift(current, LambdaApi(client), LambdaInvoker(client).invoke)


# ---------------------------------------------------------------------- provisioned concurrency
def _config(status: str, allocated: int = 10, reason: str | None = None) -> ProvisionedConfig:
    return ProvisionedConfig(10, allocated, allocated, status, reason)


def _shift(world: Any) -> Deployment:
    current = Deployment.model_validate(load_event("shift-traffic"))
    return shift(current, LambdaApi(), LambdaInvoker().invoke)


def test_an_alias_without_provisioned_concurrency_costs_one_read(world: Any) -> None:
    out = _shift(world)
    assert (out.action, world.provisioned_reads) == ("BAKE", 1)


def test_a_shift_is_retried_until_the_allocation_is_ready(world: Any) -> None:
    world.provisioned = [_config("IN_PROGRESS", 9), _config("IN_PROGRESS", 9), _config("READY")]
    for _ in range(2):  # the state machine's Retry runs the same input again
        with pytest.raises(ProvisionedConcurrencyNotReady, match="IN_PROGRESS: 9 of 10"):
            _shift(world)
        assert world.alias() == {"version": "1", "weights": {"2": 0.1}}  # shifted, waiting
    shifted_revision = world.revision()
    out = _shift(world)
    assert (out.action, out.weight, world.provisioned_reads) == ("BAKE", 0.1, 3)
    assert world.revision() == out.revision_id == shifted_revision  # not written again


def test_a_failed_allocation_rolls_back_naming_its_reason(world: Any, lambda_context: Any) -> None:
    world.provisioned = [_config("FAILED", 9, "FUNCTION_ERROR_INIT_FAILURE")]
    out = handler(load_event("shift-traffic"), lambda_context)
    assert out["action"] == "ROLLBACK"
    assert "FAILED: FUNCTION_ERROR_INIT_FAILURE" in out["reason"]
    assert out["reason"].startswith("brand-api:prod's provisioned concurrency could not be")
    assert (out["steps"][-1]["verdict"], out["steps"][-1]["reason"]) == ("FAIL", out["reason"])
    assert out["revisionId"] == world.revision()  # Rollback claims the routing it wrote
