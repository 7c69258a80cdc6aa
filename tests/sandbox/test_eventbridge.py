"""EventBridge: the input transformer (pure) and S3 upload -> rule -> state machine."""

from __future__ import annotations

import json

import pytest

from coalmine_sandbox import Sandbox
from coalmine_sandbox.aws.eventbridge import target_input

EVENT = {
    "version": "0",
    "id": "e1",
    "detail-type": "Object Created",
    "source": "aws.s3",
    "time": 1893456000.0,
    "detail": {"bucket": {"name": "b"}, "object": {"key": 'k/a "q".zip', "size": 3}},
}


def test_placeholders_inside_and_outside_strings() -> None:
    target = {
        "InputTransformer": {
            "InputPathsMap": {
                "key": "$.detail.object.key",
                "size": "$.detail.object.size",
                "missing": "$.detail.object.version-id",
            },
            "InputTemplate": '{"k": "<key>", "raw": <key>, "n": <size>, "s": "<size>", '
            '"v": "<missing>", "w": <missing>, "rule": "<aws.events.rule-name>"}',
        }
    }
    out = json.loads(target_input(target, EVENT, rule_name="r"))
    assert out == {
        "k": 'k/a "q".zip',
        "raw": 'k/a "q".zip',
        "n": 3,
        "s": "3",
        "v": "",
        "w": None,
        "rule": "r",
    }


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ({"Input": '{"a": 1}'}, {"a": 1}),
        ({"InputPath": "$.detail.bucket"}, {"name": "b"}),
        ({}, {**EVENT, "time": "2030-01-01T00:00:00Z"}),
    ],
)
def test_input_and_input_path(target: dict[str, str], expected: object) -> None:
    assert json.loads(target_input(target, EVENT)) == expected


def test_upload_starts_a_deployment_with_the_transformed_input(sandbox: Sandbox) -> None:
    sfn = sandbox.client("stepfunctions")
    machine = sandbox.stack.state_machine_arn
    bucket = sandbox.stack.outputs["ArtifactBucketName"]
    # When a zip lands under deployments/brand-api/ (and another one elsewhere)
    sandbox.put_object(bucket, "elsewhere/y.zip", b"zip")
    put = sandbox.put_object(bucket, "deployments/brand-api/x.zip", b"zip")
    # Then exactly one execution started, with the rule's input template filled in
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert sandbox.event_errors == []
    assert len(executions) == 1
    started = sfn.describe_execution(executionArn=executions[0]["executionArn"])
    assert json.loads(started["input"]) == {
        "functionName": "brand-api",
        "code": {
            "s3Bucket": bucket,
            "s3Key": "deployments/brand-api/x.zip",
            "s3ObjectVersion": put["VersionId"],
        },
        "analysis": {"alarms": ["brand-api-prod-errors"]},
    }
