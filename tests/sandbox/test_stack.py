"""template.yaml stands up in the sandbox through the service APIs."""

from __future__ import annotations

import json

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
    assert "<key>" in target["InputTransformer"]["InputTemplate"]
    assert "brand-api-prod-errors" in target["InputTransformer"]["InputTemplate"]
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
