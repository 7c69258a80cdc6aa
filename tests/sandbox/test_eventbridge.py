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
    # a string value inside a JSON string is inserted as it is: NOT escaped (AWS does not)
    out = target_input(target, EVENT, rule_name="r")
    assert out == (
        '{"k": "k/a "q".zip", "raw": "k/a \\"q\\".zip", "n": 3, "s": "3", '
        '"v": "", "w": null, "rule": "r"}'
    )


# The upload rule's template before issue 12: the key spliced into a JSON string.
SPLICED = {
    "InputTransformer": {
        "InputPathsMap": {"bucket": "$.detail.bucket.name", "key": "$.detail.object.key"},
        "InputTemplate": '{"functionName": "f", '
        '"code": {"s3Bucket": "<bucket>", "s3Key": "<key>"}}',
    }
}


def _upload_event(key: str) -> dict[str, object]:
    return {**EVENT, "detail": {"bucket": {"name": "b"}, "object": {"key": key}}}


def test_a_key_spliced_into_a_json_string_injects_fields() -> None:
    # Given the spliced template, and a key that closes the string and the object
    key = (
        'deployments/f/x.zip"}, "strategy": "AllAtOnce", "analysis": {"dryRun": true}, "z": {"a": "'
    )
    # When EventBridge fills it in (no escaping)
    out = json.loads(target_input(SPLICED, _upload_event(key)))
    # Then the execution input holds fields the uploader chose
    assert out["strategy"] == "AllAtOnce"
    assert out["analysis"] == {"dryRun": True}


def test_a_key_with_a_backslash_spliced_into_a_json_string_is_not_json() -> None:
    # (the upload would then be refused by StartExecution and, without a DLQ, vanish)
    for key in ("deployments/f/x\\", "deployments/f/v\\x.zip"):
        with pytest.raises(json.JSONDecodeError):
            json.loads(target_input(SPLICED, _upload_event(key)))


@pytest.mark.parametrize(
    "key",
    [
        'deployments/f/x.zip"}, "strategy": "AllAtOnce',
        "deployments/f/a\\b\\.zip",
        "deployments/f/é☃.zip",
    ],
)
def test_the_whole_event_as_a_field_value_carries_any_key_as_data(key: str) -> None:
    target = {
        "InputTransformer": {
            "InputTemplate": '{"functionName": "f", "upload": <aws.events.event.json>}'
        }
    }
    out = json.loads(target_input(target, _upload_event(key)))
    assert set(out) == {"functionName", "upload"}
    assert out["upload"]["detail"]["object"]["key"] == key


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
    request = json.loads(started["input"])
    assert set(request) == {"upload"}  # (the function is the key's, its alarm its tag's)
    # the S3 event whole (Prepare derives `code` from it: coalmine/uploads.py)
    upload = request["upload"]
    assert (upload["source"], upload["detail-type"]) == ("aws.s3", "Object Created")
    assert upload["detail"]["bucket"]["name"] == bucket
    assert upload["detail"]["object"]["key"] == "deployments/brand-api/x.zip"
    assert upload["detail"]["object"]["version-id"] == put["VersionId"]
