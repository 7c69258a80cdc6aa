"""CoalmineAlias (the Custom::CoalmineAlias provider) against moto, answering a local HTTP
endpoint standing in for CloudFormation's ResponseURL: Create points the alias, an Update to a
newer version starts a deployment carrying where to answer, its end answers once, a revert is
at once, Delete touches nothing, a bad request or a crash answers FAILED and changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from cfn_endpoint import ResponseEndpoint, cfn_request, response_endpoint

from coalmine.adapters import cfn_response
from coalmine.handlers.coalmine_alias import handler

PROPS = {"FunctionName": "brand-api", "AliasName": "prod", "Strategy": "Canary10Percent5Minutes"}
PHYSICAL = "brand-api:prod"


@pytest.fixture
def endpoint() -> Iterator[ResponseEndpoint]:
    with response_endpoint() as served:
        yield served


@pytest.fixture
def machine(world: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    arn = boto3.client("stepfunctions").create_state_machine(
        name="coalmine-deployment",
        definition=json.dumps(
            {"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}}
        ),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    monkeypatch.setenv("STATE_MACHINE_ARN", arn)
    return str(arn)


def executions(machine: str) -> list[dict[str, Any]]:
    sfn = boto3.client("stepfunctions")
    listed = sfn.list_executions(stateMachineArn=machine)["executions"]
    return [sfn.describe_execution(executionArn=e["executionArn"]) for e in listed]


def end_event(execution: dict[str, Any], status: str, **detail: Any) -> dict[str, Any]:
    return {
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {
            "executionArn": execution["executionArn"],
            "name": execution["name"],
            "status": status,
            "input": execution["input"],
            **detail,
        },
    }


def test_create_points_a_new_alias_and_answers_success_with_its_attributes(
    world: Any, machine: str, endpoint: ResponseEndpoint, lambda_context: Any
) -> None:
    props = {**PROPS, "AliasName": "live", "FunctionVersion": "2"}
    handler(cfn_request("Create", endpoint, "create-1", props), lambda_context)
    assert world.alias("live") == {"version": "2", "weights": {}}
    [answer] = endpoint.of("create-1")
    assert answer["Status"] == "SUCCESS"
    assert answer["PhysicalResourceId"] == "brand-api:live"
    assert answer["Data"] == {
        "FunctionName": "brand-api",
        "AliasName": "live",
        "FunctionVersion": "2",
    }
    assert (answer["RequestId"], answer["LogicalResourceId"]) == ("create-1", "TeamAlias")
    assert executions(machine) == []


def test_an_update_to_a_newer_version_starts_a_deployment_and_its_end_answers_once(
    world: Any, machine: str, endpoint: ResponseEndpoint, lambda_context: Any
) -> None:
    props = {**PROPS, "FunctionVersion": "2", "Analysis": {"intervalSeconds": "30"}}
    old = {**PROPS, "FunctionVersion": "1"}
    event = cfn_request("Update", endpoint, "update-1", props, old=old, physical_id=PHYSICAL)
    handler(event, lambda_context)
    # nothing answered yet, the alias untouched: the deployment moves it
    assert endpoint.answers == []
    assert world.alias() == {"version": "1", "weights": {}}
    [started] = executions(machine)
    assert started["name"] == "cfn-update-1"
    body = json.loads(started["input"])
    assert body["targetVersion"] == "2"
    assert body["analysis"] == {"intervalSeconds": 30}
    assert body["callback"]["responseUrl"] == endpoint.url("update-1")
    assert body["callback"]["physicalResourceId"] == PHYSICAL
    # CloudFormation's Lambda retries the same request: no second execution
    handler(event, lambda_context)
    assert len(executions(machine)) == 1
    # the deployment ends rolled back: FAILED with coalmine's reason, however often it is told
    ended = end_event(started, "FAILED", error="DeploymentRolledBack", cause="errors: 9% vs 0%")
    handler(ended, lambda_context)
    handler(ended, lambda_context)
    [answer] = endpoint.of("update-1")
    assert answer["Status"] == "FAILED"
    assert "DeploymentRolledBack: errors: 9% vs 0%" in answer["Reason"]
    assert answer["PhysicalResourceId"] == PHYSICAL
    assert answer["StackId"] == event["StackId"]


def test_a_failed_put_is_retried_by_the_next_invocation(
    world: Any,
    machine: str,
    endpoint: ResponseEndpoint,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    props = {**PROPS, "FunctionVersion": "2"}
    event = cfn_request("Update", endpoint, "update-2", props, old=props, physical_id=PHYSICAL)
    handler(event, lambda_context)
    [started] = executions(machine)
    monkeypatch.setattr(cfn_response, "DELAYS", (0.0, 0.0))  # (its back-off, not under test)
    endpoint.refuse = 3  # every attempt of the first invocation
    with pytest.raises(OSError, match="500"):
        handler(end_event(started, "SUCCEEDED", output='{"toVersion": "2"}'), lambda_context)
    handler(end_event(started, "SUCCEEDED", output='{"toVersion": "2"}'), lambda_context)
    [answer] = endpoint.of("update-2")
    assert answer["Status"] == "SUCCESS"
    assert answer["Data"]["FunctionVersion"] == "2"


def test_a_revert_moves_the_alias_back_at_once(
    world: Any, machine: str, endpoint: ResponseEndpoint, lambda_context: Any
) -> None:
    world.route("2")
    old = {**PROPS, "FunctionVersion": "2"}
    props = {**PROPS, "FunctionVersion": "1"}
    handler(
        cfn_request("Update", endpoint, "rb-1", props, old=old, physical_id=PHYSICAL),
        lambda_context,
    )
    assert world.alias() == {"version": "1", "weights": {}}
    [answer] = endpoint.of("rb-1")
    assert answer["Status"] == "SUCCESS"
    assert "revert" in answer["Reason"]
    assert executions(machine) == []


def test_delete_answers_success_and_leaves_function_and_alias(
    world: Any, machine: str, endpoint: ResponseEndpoint, lambda_context: Any
) -> None:
    event = cfn_request(
        "Delete", endpoint, "del-1", {**PROPS, "FunctionVersion": "1"}, physical_id=PHYSICAL
    )
    handler(event, lambda_context)
    [answer] = endpoint.of("del-1")
    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", PHYSICAL)
    assert world.alias() == {"version": "1", "weights": {}}


@pytest.mark.parametrize(
    ("props", "says"),
    [
        ({"FunctionName": "brand-api", "AliasName": "prod"}, "missing property FunctionVersion"),
        (
            {**PROPS, "FunctionVersion": "2", "Strategy": "Canary10Percent60Minutes"},
            "over the 3,600 s CloudFormation waits",
        ),
        (
            {**PROPS, "FunctionVersion": "2", "Analysis": {"intervalSeconds": "5"}},
            "Analysis.intervalSeconds",
        ),
    ],
)
def test_a_bad_request_answers_failed_naming_the_property_and_changes_nothing(
    world: Any,
    machine: str,
    endpoint: ResponseEndpoint,
    lambda_context: Any,
    props: dict[str, Any],
    says: str,
) -> None:
    old = {**PROPS, "FunctionVersion": "1"}
    handler(
        cfn_request("Update", endpoint, "bad-1", props, old=old, physical_id=PHYSICAL),
        lambda_context,
    )
    [answer] = endpoint.of("bad-1")
    assert answer["Status"] == "FAILED"
    assert says in answer["Reason"]
    assert answer["PhysicalResourceId"] == PHYSICAL
    assert world.alias() == {"version": "1", "weights": {}}
    assert executions(machine) == []


def test_a_crash_answers_failed(
    world: Any,
    machine: str,
    endpoint: ResponseEndpoint,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STATE_MACHINE_ARN", machine.replace("coalmine-deployment", "gone"))
    props = {**PROPS, "FunctionVersion": "2"}
    old = {**PROPS, "FunctionVersion": "1"}
    handler(
        cfn_request("Update", endpoint, "crash-1", props, old=old, physical_id=PHYSICAL),
        lambda_context,
    )
    [answer] = endpoint.of("crash-1")
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("coalmine provider error: StateMachineDoesNotExist")
    assert world.alias() == {"version": "1", "weights": {}}


def test_an_end_of_a_deployment_not_started_by_cloudformation_answers_nothing(
    world: Any, machine: str, endpoint: ResponseEndpoint, lambda_context: Any
) -> None:
    sfn = boto3.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=machine, input='{"functionName": "brand-api"}')
    [started] = executions(machine)
    assert handler(end_event(started, "SUCCEEDED"), lambda_context)["answered"] is False
    assert arn
    assert endpoint.answers == []


def test_a_crash_after_the_deployment_started_answers_once(
    world: Any,
    machine: str,
    endpoint: ResponseEndpoint,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # StartExecution starts the deployment but its answer is lost (the provider sees an error)
    from coalmine.adapters.stepfunctions import StepFunctionsApi

    started_then_lost = StepFunctionsApi.start

    def lost(self: StepFunctionsApi, *args: Any) -> str:
        started_then_lost(self, *args)
        raise TimeoutError("read timeout on StartExecution")

    monkeypatch.setattr(StepFunctionsApi, "start", lost)
    props = {**PROPS, "FunctionVersion": "2"}
    old = {**PROPS, "FunctionVersion": "1"}
    handler(
        cfn_request("Update", endpoint, "lost-1", props, old=old, physical_id=PHYSICAL),
        lambda_context,
    )
    [answer] = endpoint.of("lost-1")
    assert answer["Status"] == "FAILED"
    assert "read timeout" in answer["Reason"]
    # the deployment that did start ends: it does not answer a second time
    [started] = executions(machine)
    handler(end_event(started, "SUCCEEDED"), lambda_context)
    assert len(endpoint.of("lost-1")) == 1


def test_an_answer_after_cloudformation_gave_up_is_not_retried(
    world: Any, machine: str, endpoint: ResponseEndpoint, lambda_context: Any
) -> None:
    # the deployment outlived the resource's timeout: the pre-signed URL answers 403
    props = {**PROPS, "FunctionVersion": "2"}
    event = cfn_request("Update", endpoint, "late-1", props, old=props, physical_id=PHYSICAL)
    handler(event, lambda_context)
    [started] = executions(machine)
    endpoint.refuse, endpoint.refuse_code = 1, 403
    out = handler(end_event(started, "SUCCEEDED"), lambda_context)
    assert out["answered"] is False
    assert out["why"] == "ResponseURL answered HTTP 403"
    assert endpoint.refuse == 0  # one PUT, not retried
    # and the end, told again, does not try again
    assert handler(end_event(started, "SUCCEEDED"), lambda_context)["why"] == "already answered"


def test_a_revert_racing_cleanup_looks_again_and_succeeds(
    world: Any,
    machine: str,
    endpoint: ResponseEndpoint,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A stopped canary left version 1 with 10% on 2; Cleanup restores it while the rollback
    # Update points it: the provider's conditional write loses (a new RevisionId)
    from coalmine.adapters.lambda_api import LambdaApi
    from coalmine.exceptions import AliasChangedOutOfBand

    world.route("1", {"2": 0.1})
    calls: list[str] = []

    def cleanup_first(self: LambdaApi, function: str, alias: str, version: str, _: str) -> None:
        calls.append(version)
        world.route("1")  # Cleanup's write lands first
        raise AliasChangedOutOfBand(f"{function}:{alias} changed")

    monkeypatch.setattr(LambdaApi, "put_alias", cleanup_first)
    props = {**PROPS, "FunctionVersion": "1"}
    old = {**PROPS, "FunctionVersion": "2"}
    handler(
        cfn_request("Update", endpoint, "race-1", props, old=old, physical_id=PHYSICAL),
        lambda_context,
    )
    [answer] = endpoint.of("race-1")
    assert answer["Status"] == "SUCCESS"
    assert answer["Reason"] == "alias already on version 1"
    assert calls == ["1"]  # one lost write, then nothing left to do
    assert world.alias() == {"version": "1", "weights": {}}
