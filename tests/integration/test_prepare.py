"""Prepare against moto: a valid request becomes a Deployment; bad input changes nothing."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from integration_helpers import zip_of

from coalmine.exceptions import DeploymentInProgress, InvalidInput
from coalmine.handlers.prepare import handler
from events import load_event


def _event(**request: Any) -> dict[str, Any]:
    event = load_event("prepare")
    event["request"].update(request)
    return event


@pytest.mark.parametrize(
    ("execution", "strategy", "steps"),
    [
        ("execution-canary", "Canary10Percent5Minutes", 1),
        ("execution-linear", "Linear10PercentEvery1Minute", 9),
        ("execution-steps", "steps", 3),
        ("execution-blue-green", "blueGreen", 0),
        ("execution-all-at-once", "AllAtOnce", 0),
        ("execution-code", "Canary10Percent5Minutes", 1),
    ],
)
def test_prepare_plans_every_shared_input(
    world: Any, lambda_context: Any, execution: str, strategy: str, steps: int
) -> None:
    # Given the shared execution input, When Prepare runs
    out = handler({"request": load_event(execution), "deploymentId": "d-1"}, lambda_context)
    # Then the plan is resolved and the stable version read from the alias
    assert out["plan"]["strategy"] == strategy
    assert len(out["plan"]["steps"]) == steps
    assert (out["fromVersion"], out["action"], out["stepIndex"]) == ("1", "SHIFT", -1)
    assert out["revisionId"]
    assert out["deploymentId"] == "d-1"
    assert world.alias() == {"version": "1", "weights": {}}


def test_prepare_output_is_the_publish_version_fixture(world: Any, lambda_context: Any) -> None:
    out = handler(load_event("prepare"), lambda_context)
    assert out.pop("takenOver") is None  # a free lock: nothing taken over
    expected = load_event("publish-version")
    assert {**out, "revisionId": None} == {**expected, "revisionId": None}


@pytest.mark.parametrize(
    ("request_fields", "field", "problem"),
    [
        ({"functionName": "no-such-function"}, "functionName", "no Lambda function"),
        ({"alias": "staging"}, "alias", "has no alias 'staging'"),
        ({"targetVersion": "$LATEST"}, "targetVersion", "$LATEST"),
        ({"targetVersion": "42"}, "targetVersion", "no published version 42"),
        ({"targetVersion": "1"}, "targetVersion", "is the stable version"),
        ({"strategy": "Canary10Percent5Mins"}, "strategy", "Linear10PercentEvery1Minute"),
        (
            {
                "strategy": {
                    "type": "steps",
                    "steps": [{"weight": 0.5, "bakeSeconds": 1}, {"weight": 0.2, "bakeSeconds": 1}],
                }
            },
            "strategy.steps[1].weight",
            "strictly increasing",
        ),
        (
            {"strategy": {"type": "steps", "steps": [{"weight": 2, "bakeSeconds": 1}]}},
            "strategy.steps[0].weight",
            "less than or equal to 1",
        ),
        ({"code": {"s3Bucket": "b-b", "s3Key": "k"}}, "targetVersion/code", "both"),
        ({"targetVersion": None}, "targetVersion/code", "neither"),
        (
            {"analysis": {"alarms": ["brand-api-prod-errors", "nope"]}},
            "analysis.alarms",
            "no CloudWatch alarm named nope",
        ),
        ({"analysis": {"intervalSeconds": "x"}}, "analysis.intervalSeconds", "integer"),
        (
            {"analysis": {"postTrafficHook": "brand-smoke-typo"}},
            "analysis.postTrafficHook",
            "no Lambda function 'brand-smoke-typo'",
        ),
        (
            {"analysis": {"preTrafficHook": "brand-api:staging"}},
            "analysis.preTrafficHook",
            "no Lambda function 'brand-api:staging'",
        ),
    ],
)
def test_bad_input_is_refused_and_the_alias_untouched(
    world: Any, lambda_context: Any, request_fields: dict, field: str, problem: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        handler(_event(**request_fields), lambda_context)
    assert raised.value.field == field
    assert problem in raised.value.problem
    assert world.alias() == {"version": "1", "weights": {}}


def test_non_object_input_is_refused(world: Any, lambda_context: Any) -> None:
    with pytest.raises(InvalidInput) as raised:
        handler({"request": ["brand-api"], "deploymentId": "d-1"}, lambda_context)
    assert raised.value.field == "input"


def test_an_already_weighted_alias_is_refused(world: Any, lambda_context: Any) -> None:
    # Given an abandoned deployment left 30% of prod on version 2
    world.route("1", {"2": 0.3})
    # When a new deployment is prepared, Then it is refused and the alias left as it was
    with pytest.raises(InvalidInput, match=r"already routes 30% to version 2") as raised:
        handler(load_event("prepare"), lambda_context)
    assert raised.value.field == "alias"
    assert world.alias() == {"version": "1", "weights": {"2": 0.3}}


# ------------------------------------------------------------------ lock, pre-flight
def test_prepare_takes_the_alias_lock_and_a_retry_takes_it_again(
    world: Any, lambda_context: Any
) -> None:
    handler(load_event("prepare"), lambda_context)
    handler(load_event("prepare"), lambda_context)  # a retried Prepare: same deployment
    held = world.lock()
    assert held["deploymentId"]["S"] == "deploy-brand-api-0001"
    assert int(held["expiresAt"]["N"]) > int(held["startedAt"]["N"]) + 300


def test_a_second_deployment_is_refused_naming_the_running_one(
    world: Any, lambda_context: Any
) -> None:
    # Given deployment 0001 holds prod's lock (its status unknown here, and not expired)
    world.hold_lock("deploy-brand-api-0001")
    # When another deployment of brand-api:prod is prepared, Then it is refused, nothing changed
    event = load_event("prepare") | {"deploymentId": "deploy-brand-api-0002"}
    with pytest.raises(DeploymentInProgress, match=r"brand-api:prod is already being deployed by"):
        handler(event, lambda_context)
    assert world.lock()["deploymentId"]["S"] == "deploy-brand-api-0001"
    assert world.alias() == {"version": "1", "weights": {}}


def test_a_refused_weighted_alias_frees_the_lock_it_took(world: Any, lambda_context: Any) -> None:
    world.route("1", {"2": 0.3})
    with pytest.raises(InvalidInput):
        handler(load_event("prepare"), lambda_context)
    assert world.lock() is None


def test_a_function_not_opted_in_is_refused(world: Any, lambda_context: Any) -> None:
    arn = world.lambda_client.get_function_configuration(FunctionName="brand-api")["FunctionArn"]
    world.lambda_client.untag_resource(Resource=arn, TagKeys=["coalmine:managed"])
    with pytest.raises(
        InvalidInput, match=r"not opted in to coalmine: tag it coalmine:managed=true"
    ):
        handler(load_event("prepare"), lambda_context)
    assert world.lock() is None


def test_a_version_with_another_execution_role_is_refused(world: Any, lambda_context: Any) -> None:
    # Given $LATEST moved to another role and was published as version 3
    other = boto3.client("iam").create_role(RoleName="other", AssumeRolePolicyDocument="{}")
    world.lambda_client.update_function_configuration(
        FunctionName="brand-api", Role=other["Role"]["Arn"]
    )
    version = world.lambda_client.publish_version(FunctionName="brand-api")["Version"]
    with pytest.raises(
        InvalidInput, match=r"a weighted alias needs both versions on the same"
    ) as raised:
        handler(_event(targetVersion=version), lambda_context)
    assert raised.value.field == "targetVersion"
    assert "role/other" in raised.value.problem
    assert "role/brand-api-role" in raised.value.problem


def test_a_function_arn_is_refused_naming_the_field(world: Any, lambda_context: Any) -> None:
    arn = "arn:aws:lambda:us-east-1:999999999999:function:brand-api"
    with pytest.raises(InvalidInput) as raised:
        handler(_event(functionName=arn), lambda_context)
    assert raised.value.field == "functionName"
    assert world.lock() is None


# ------------------------------------------------------------------ hooks
def test_a_hook_that_exists_and_is_opted_in_is_accepted(world: Any, lambda_context: Any) -> None:
    out = handler(
        _event(analysis={"preTrafficHook": "brand-api:1", "postTrafficHook": "brand-api"}),
        lambda_context,
    )
    assert out["analysis"]["preTrafficHook"] == "brand-api:1"
    assert world.lock() is not None


def test_a_hook_not_opted_in_is_refused_before_anything_moves(
    world: Any, lambda_context: Any
) -> None:
    # Given a hook function without the coalmine:hook tag (coalmine could not invoke it)
    role = world.lambda_client.get_function_configuration(FunctionName="brand-api")["Role"]
    world.lambda_client.create_function(
        FunctionName="brand-untagged-smoke",
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": zip_of("OK = True\n")},
    )
    # When it is named as the post-traffic hook, Then Prepare refuses, naming the field
    with pytest.raises(
        InvalidInput, match=r"not tagged as a hook: tag it coalmine:hook=true"
    ) as raised:
        handler(_event(analysis={"postTrafficHook": "brand-untagged-smoke"}), lambda_context)
    assert raised.value.field == "analysis.postTrafficHook"
    assert world.lock() is None
    assert world.alias() == {"version": "1", "weights": {}}
