"""PublishVersion against moto (and a Stubber for what moto cannot do)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from coalmine.adapters.lambda_api import LambdaApi
from coalmine.exceptions import CodeShaMismatch, FunctionNotReady, TargetVersionInvalid
from coalmine.handlers.publish_version import handler, publish
from coalmine.models import Deployment
from events import load_event


@pytest.fixture(autouse=True)
def _lock_held(request: pytest.FixtureRequest) -> None:
    # Prepare took the alias's lock for this deployment; PublishVersion records the version in it
    if "world" in request.fixturenames:
        request.getfixturevalue("world").hold_lock()


def _code_event(key: str = "brand-api/v3.zip") -> dict[str, Any]:
    event = load_event("publish-version")
    event["toVersion"] = None
    event["code"] = {"s3Bucket": "coalmine-artifacts-123456789012", "s3Key": key}
    return event


def test_target_version_is_checked_and_passed_on(world: Any, lambda_context: Any) -> None:
    out = handler(load_event("publish-version"), lambda_context)
    assert (out["toVersion"], out["action"]) == ("2", "SHIFT")
    assert world.alias() == {"version": "1", "weights": {}}


@pytest.mark.parametrize(
    ("target", "problem"), [("9", "no published version 9"), ("1", "is the stable version")]
)
def test_bad_target_version(world: Any, lambda_context: Any, target: str, problem: str) -> None:
    event = load_event("publish-version") | {"toVersion": target}
    with pytest.raises(TargetVersionInvalid, match=problem):
        handler(event, lambda_context)


def test_code_from_s3_is_deployed_and_published(world: Any, lambda_context: Any) -> None:
    # Given a new zip uploaded to the artifacts bucket
    world.upload("brand-api/v3.zip", "VERSION = 3\n")
    # When PublishVersion runs with code
    out = handler(_code_event(), lambda_context)
    # Then version 3 is published with coalmine's description, and no traffic moved
    assert (out["toVersion"], out["action"]) == ("3", "SHIFT")
    published = world.lambda_client.get_function_configuration(
        FunctionName="brand-api", Qualifier="3"
    )
    assert published["Description"] == "coalmine deploy-brand-api-0001"
    assert world.alias() == {"version": "1", "weights": {}}


def test_all_at_once_goes_straight_to_promote(world: Any, lambda_context: Any) -> None:
    event = load_event("publish-version")
    event["plan"]["steps"] = []
    assert handler(event, lambda_context)["action"] == "PROMOTE"


# What AWS answers PublishVersion when CodeSha256 no longer matches $LATEST (note "SHA").
AWS_SHA_MISMATCH = (
    "CodeSHA256 (sha-new) is different from current CodeSHA256 in $LATEST (sha-racer). "
    "Please try again with the CodeSHA256 in $LATEST."
)


def _stubbed(
    updates: list[str],
    publish_error: str | None = None,
    version: str = "3",
    error_message: str = "CodeSha256 mismatch",
) -> tuple[LambdaApi, Stubber]:
    client = boto3.client("lambda", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_response("get_function_configuration", {"LastUpdateStatus": "Successful"})
    stubber.add_response(
        "update_function_code", {"CodeSha256": "sha-new", "LastUpdateStatus": updates[0]}
    )
    for status in updates[1:]:
        stubber.add_response(
            "get_function_configuration",
            {"LastUpdateStatus": status, "LastUpdateStatusReason": "bad zip"},
        )
    if updates[-1] == "Successful":
        if publish_error:
            stubber.add_client_error("publish_version", publish_error, error_message)
        else:
            stubber.add_response(
                "publish_version",
                {"Version": version},
                {
                    "FunctionName": "brand-api",
                    "CodeSha256": "sha-new",
                    "Description": "coalmine deploy-brand-api-0001",
                },
            )
            # then: the alias's event invoke config (none), the new and the stable version
            stubber.add_client_error(
                "get_function_event_invoke_config", "ResourceNotFoundException", "no config"
            )
            stubber.add_response("get_function_configuration", {"Version": version})
            stubber.add_response("get_function_configuration", {"Version": "1"})
    stubber.activate()
    return LambdaApi(client), stubber


def test_waits_for_the_update_then_publishes_with_its_sha() -> None:
    api, stubber = _stubbed(["InProgress", "InProgress", "Successful"])
    sleeps: list[float] = []
    out = publish(Deployment.model_validate(_code_event()), api, sleep=sleeps.append)
    assert out.to_version == "3"
    assert len(sleeps) == 2
    stubber.assert_no_pending_responses()


def test_still_updating_raises_function_not_ready() -> None:
    api, _ = _stubbed(["InProgress", "InProgress", "InProgress"])
    with pytest.raises(FunctionNotReady):
        publish(
            Deployment.model_validate(_code_event()), api, max_wait_seconds=4, sleep=lambda _: None
        )


def test_a_failed_update_is_target_version_invalid() -> None:
    api, _ = _stubbed(["InProgress", "Failed"])
    with pytest.raises(TargetVersionInvalid, match="bad zip"):
        publish(Deployment.model_validate(_code_event()), api, sleep=lambda _: None)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("PreconditionFailedException", "The Revision Id provided does not match"),
        ("InvalidParameterValueException", AWS_SHA_MISMATCH),
        ("InvalidParameterValueException", "CodeSha256 mismatch"),
    ],
    ids=["precondition", "aws-message", "other-casing"],
)
def test_a_racing_upload_is_code_sha_mismatch(code: str, message: str) -> None:
    api, _ = _stubbed(["Successful"], publish_error=code, error_message=message)
    with pytest.raises(CodeShaMismatch, match=r"is different from current|mismatch|Revision"):
        publish(Deployment.model_validate(_code_event()), api)


def test_an_unrelated_invalid_parameter_on_publish_is_not_a_sha_mismatch() -> None:
    api, _ = _stubbed(
        ["Successful"],
        publish_error="InvalidParameterValueException",
        error_message="Description must be at most 256 characters",
    )
    with pytest.raises(ClientError, match="Description"):
        publish(Deployment.model_validate(_code_event()), api)


def test_an_update_in_progress_is_not_interrupted() -> None:
    client = boto3.client("lambda", region_name="us-east-1")
    with Stubber(client) as stubber:
        stubber.add_response("get_function_configuration", {"LastUpdateStatus": "InProgress"})
        with pytest.raises(FunctionNotReady):
            publish(Deployment.model_validate(_code_event()), LambdaApi(client))
        stubber.assert_no_pending_responses()  # and no UpdateFunctionCode was sent


def test_unchanged_code_is_refused() -> None:
    # Given AWS answers PublishVersion of unchanged code with the existing (stable) version 1
    # (moto publishes a new version on every code update, so this is stubbed)
    api, _ = _stubbed(["Successful"], version="1")
    with pytest.raises(TargetVersionInvalid, match="identical to the stable version 1"):
        publish(Deployment.model_validate(_code_event()), api)
