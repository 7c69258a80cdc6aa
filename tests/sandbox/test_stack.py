"""template.yaml stands up in the sandbox through the service APIs."""

from __future__ import annotations

import json
import re

from coalmine_sandbox import Sandbox
from coalmine_sandbox.aws.cloudformation.intrinsics import Resolver, references

ORCHESTRATOR = ["Prepare", "PublishVersion", "ShiftTraffic", "Analyze", "Promote", "Rollback"]


def test_functions_aliases_and_state_machine_exist(sandbox: Sandbox) -> None:
    lam = sandbox.client("lambda")
    for state in ORCHESTRATOR:
        name = sandbox.stack[f"{state}Function"]
        config = lam.get_function_configuration(FunctionName=name)
        assert config["Handler"].startswith("coalmine.handlers.")
        assert sandbox.stack.functions[name].code_dir.name == "orchestrator"
    assert sandbox.alias("brand-api", "prod")["FunctionVersion"] == "1"
    env = lam.get_function_configuration(FunctionName="brand-api")["Environment"]["Variables"]
    assert env["TABLE_NAME"] == sandbox.stack["BrandsTable"]
    machine = sandbox.client("stepfunctions").describe_state_machine(
        stateMachineArn=sandbox.stack.state_machine_arn
    )
    definition = json.loads(machine["definition"])
    arn = definition["States"]["Prepare"]["Parameters"]["FunctionName"]
    assert arn == sandbox.stack.arn("PrepareFunction")
    assert "${" not in machine["definition"]


def test_rule_bucket_alarm_and_outputs(sandbox: Sandbox) -> None:
    stack = sandbox.stack
    targets = sandbox.client("events").list_targets_by_rule(Rule=stack["DeployOnUploadRule"])
    target = targets["Targets"][0]
    assert target["Arn"] == stack.state_machine_arn
    # the S3 event whole, as a value (EventBridge does not escape values placed in a string)
    assert target["InputTransformer"]["InputTemplate"] == '{"upload": <aws.events.event.json>}'
    # brand-api's alarm is its tag's (coalmine:alarms), not the rule's
    tags = sandbox.client("lambda").list_tags(Resource=stack.arn("BrandApiFunction"))["Tags"]
    assert tags["coalmine:alarms"] == "brand-api-prod-errors"
    s3 = sandbox.client("s3")
    bucket = stack.outputs["ArtifactBucketName"]
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    alarms = sandbox.client("cloudwatch").describe_alarms(AlarmNames=["brand-api-prod-errors"])
    [alarm] = alarms["MetricAlarms"]
    assert alarm["Threshold"] == 0.05  # the prod alias's error rate (metric math), not a count
    [rate] = [q for q in alarm["Metrics"] if q.get("ReturnData")]
    assert rate["Expression"] == "IF(requests >= 60, errors / requests, 0)"
    assert stack.outputs["DeploymentStateMachineArn"] == stack.state_machine_arn
    assert stack.api_routes[("GET", "/brands/{brandId}")] == "brand-api"
    assert {kind for _, kind, _ in stack.skipped} >= {"AWS::ApiGateway::RestApi"}


def test_intrinsics() -> None:
    values = {"Bucket": "b", "Fn": "f"}
    resolver = Resolver(
        ref=values.__getitem__,
        get_att=lambda name, attr: f"arn:{name}:{attr}",
        pseudo={"AWS::Region": "us-east-1"},
        parameters={"Stage": "prod"},
        conditions={"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}},
    )
    template = {
        "A": {"Fn::Sub": "${Bucket}/${Fn.Arn}/${AWS::Region}/${!Literal}"},
        "B": {"Fn::Join": ["-", [{"Ref": "Stage"}, "x"]]},
        "C": {"Fn::If": ["IsProd", "yes", "no"]},
        "D": {"Fn::Sub": ["${X}-${Bucket}", {"X": "local"}]},
        "E": [{"Ref": "AWS::NoValue"}, 1],
    }
    assert resolver.resolve(template) == {
        "A": "b/arn:Fn:Arn/us-east-1/${Literal}",
        "B": "prod-x",
        "C": "yes",
        "D": "local-b",
        "E": [1],
    }
    assert references(template) == {"Bucket", "Fn", "Stage"}


SAMPLE_RESOURCES = {"BrandApiFunction", "BrandApiSmokeFunction", "AssetProcessorFunction"}


def test_without_samples_the_stack_is_the_orchestrator_alone() -> None:
    # Given the template's default (a production install): DeploySamples=false
    with Sandbox(seed=7, parameters={"DeploySamples": "false"}) as sb:
        stack = sb.stack
        functions = {f["FunctionName"] for f in sb.client("lambda").list_functions()["Functions"]}
        machine = stack.state_machine_arn
        skipped = {logical for logical, _, why in stack.skipped if why.startswith("condition")}
    # Then no sample resource or output exists; the orchestrator and its outputs do
    assert SAMPLE_RESOURCES | {"BrandApiErrorsAlarm"} <= skipped
    # the upload rule is not a sample's: every opted-in function deploys on upload
    assert {"DeployOnUploadRule", "DeployOnUploadDeadLetterQueue"} <= set(stack.resources)
    assert not SAMPLE_RESOURCES & set(stack.resources)
    assert all(name.startswith("coalmine-") for name in functions), functions
    assert {f"{state}Function" for state in ORCHESTRATOR} <= set(stack.resources)
    assert stack.outputs["DeploymentStateMachineArn"] == machine
    assert "BrandApiFunctionName" not in stack.outputs
    assert "Outputs.BrandApiUrl" in skipped
    assert stack.api_routes == {}


def test_a_second_stack_names_its_samples_after_itself() -> None:
    # Given the samples in a stack that is not named coalmine
    with Sandbox(seed=7, stack_name="team-b") as sb:
        stack = sb.stack
        alias = sb.alias("brand-api-team-b", "prod")
        alarms = sb.client("cloudwatch").describe_alarms(AlarmNamePrefix="brand-")["MetricAlarms"]
        tags = sb.client("lambda").list_tags(Resource=stack.arn("BrandApiFunction"))["Tags"]
        bucket = stack["AssetsBucket"]
    # Then every sample's name carries the stack's name (nothing collides with a stack "coalmine")
    assert alias["FunctionVersion"] == "1"
    assert stack["BrandApiSmokeFunction"] == "brand-api-smoke-team-b"
    assert stack["AssetProcessorFunction"] == "brand-asset-processor-team-b"
    assert [a["AlarmName"] for a in alarms] == ["brand-api-team-b-prod-errors"]
    dimensions = {
        d["Name"]: d["Value"]
        for q in alarms[0]["Metrics"]
        if "MetricStat" in q
        for d in q["MetricStat"]["Metric"]["Dimensions"]
    }
    assert dimensions == {"FunctionName": "brand-api-team-b", "Resource": "brand-api-team-b:prod"}
    assert tags["coalmine:alarms"] == "brand-api-team-b-prod-errors"
    # (lowercase, so the stack id's first group rather than the stack's name)
    assert re.fullmatch(r"brand-assets-123456789012-us-east-1-[0-9a-f]{8}", bucket), bucket
    assert stack.api_routes[("GET", "/brands/{brandId}")] == "brand-api-team-b"
