"""adapters/lambda_api.py against moto (reads, alias writes) and a botocore Stubber (the error
translation, the update-wait loop, the CodeSha256 check: what moto cannot answer)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from coalmine.adapters.errors import THROTTLING_CODES
from coalmine.adapters.lambda_api import POLL_SECONDS, LambdaApi, alias_state
from coalmine.exceptions import (
    AliasChangedOutOfBand,
    AwsThrottled,
    CodeShaMismatch,
    FunctionNotReady,
    InvalidInput,
    ResourceNotFound,
    TargetVersionInvalid,
)
from coalmine.models import AliasState, CodeLocation
from coalmine.provisioned_concurrency import ProvisionedConfig


def _stubbed() -> tuple[LambdaApi, Stubber]:
    client = boto3.client("lambda", region_name="us-east-1")
    return LambdaApi(client), Stubber(client)


# ----------------------------------------------------------------------------- reading an alias
@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (
            {"FunctionVersion": "1", "RevisionId": "r1"},
            AliasState(function_version="1", revision_id="r1"),
        ),
        (
            {"FunctionVersion": "1", "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.1}}},
            AliasState(function_version="1", weights={"2": 0.1}),
        ),
        (
            {"FunctionVersion": 3, "RoutingConfig": {"AdditionalVersionWeights": None}},
            AliasState(function_version="3"),
        ),
    ],
    ids=["whole", "weighted", "no-weights"],
)
def test_alias_state_reads_version_weights_and_revision(
    response: dict[str, Any], expected: AliasState
) -> None:
    assert alias_state(response) == expected


def test_get_alias_reads_what_the_alias_routes(world: Any) -> None:
    world.route("1", {"2": 0.25})
    state = LambdaApi().get_alias("brand-api", "prod")
    assert (state.function_version, state.weights) == ("1", {"2": 0.25})


def test_update_alias_routes_the_weights_and_answers_the_new_state(world: Any) -> None:
    api = LambdaApi()
    revision = api.get_alias("brand-api", "prod").revision_id
    updated = api.update_alias("brand-api", "prod", "1", {"2": 0.1}, revision)
    assert (updated.function_version, updated.weights) == ("1", {"2": 0.1})
    assert world.alias() == {"version": "1", "weights": {"2": 0.1}}


def test_put_alias_creates_a_missing_alias_and_moves_an_existing_one(world: Any) -> None:
    api = LambdaApi()
    api.put_alias("brand-api", "previous", "1", "the version before 2")
    assert world.alias("previous") == {"version": "1", "weights": {}}
    api.put_alias("brand-api", "previous", "2", "the version before 3")
    assert world.alias("previous") == {"version": "2", "weights": {}}


def test_get_function_reads_the_version_and_its_unqualified_arn(world: Any) -> None:
    state = LambdaApi().get_function("brand-api", "2")
    assert state.version == "2"
    assert state.arn.endswith(":function:brand-api")
    assert state.role.endswith("role/brand-api-role")
    assert LambdaApi().list_tags("brand-api")["coalmine:managed"] == "true"


def test_a_missing_function_or_alias_is_resource_not_found(world: Any) -> None:
    with pytest.raises(ResourceNotFound) as raised:
        LambdaApi().get_function("no-such-function")
    assert raised.value.resource == "function no-such-function"
    with pytest.raises(ResourceNotFound):
        LambdaApi().get_alias("brand-api", "staging")


# ----------------------------------------------------------------------------- error translation
@pytest.mark.parametrize(
    ("code", "error"),
    [
        *((code, AwsThrottled) for code in sorted(THROTTLING_CODES)),
        ("ResourceConflictException", FunctionNotReady),
        ("PreconditionFailedException", AliasChangedOutOfBand),
        ("ResourceNotFoundException", ResourceNotFound),
        ("ServiceException", ClientError),
        ("InvalidParameterValueException", ClientError),
    ],
)
def test_errors_on_an_alias_update_are_translated(code: str, error: type[Exception]) -> None:
    api, stubber = _stubbed()
    stubber.add_client_error("update_alias", code, "nope")
    with stubber, pytest.raises(error):
        api.update_alias("brand-api", "prod", "1", {"2": 0.1}, "r1")


def test_put_alias_writes_only_over_the_revision_it_read() -> None:
    # Given `previous` read on version 2 at revision r7, and changed by someone right after
    api, stubber = _stubbed()
    alias = {"Name": "previous", "FunctionVersion": "2", "RevisionId": "r7"}
    stubber.add_response("get_alias", alias, {"FunctionName": "brand-api", "Name": "previous"})
    stubber.add_client_error(
        "update_alias",
        "PreconditionFailedException",
        "The Revision Id provided does not match the latest Revision Id",
        expected_params={
            "FunctionName": "brand-api",
            "Name": "previous",
            "FunctionVersion": "1",
            "RoutingConfig": {"AdditionalVersionWeights": {}},
            "Description": "the version before 2",
            "RevisionId": "r7",
        },
    )
    # When coalmine points it at version 1, Then its write is conditional and refused
    with stubber, pytest.raises(AliasChangedOutOfBand):
        api.put_alias("brand-api", "previous", "1", "the version before 2")


def test_a_zip_lambda_refuses_is_invalid_input_naming_the_s3_key() -> None:
    api, stubber = _stubbed()
    stubber.add_client_error(
        "update_function_code", "InvalidParameterValueException", "Could not unzip"
    )
    with stubber, pytest.raises(InvalidInput) as raised:
        api.update_code("brand-api", "bucket", "brand-api/v3.zip", None)
    assert raised.value.field == "code.s3Key"
    assert "s3://bucket/brand-api/v3.zip" in raised.value.problem


@pytest.mark.parametrize(
    "code", ["CodeVerificationFailedException", "InvalidCodeSignatureException"]
)
def test_a_zip_code_signing_refuses_is_invalid_input_naming_the_s3_key(code: str) -> None:
    # Given a function whose CodeSigningConfig enforces signatures, and an unsigned zip
    api, stubber = _stubbed()
    stubber.add_client_error("update_function_code", code, "The code signature failed")
    with stubber, pytest.raises(InvalidInput) as raised:
        api.update_code("brand-api", "bucket", "deployments/brand-api/v3.zip", None)
    assert raised.value.field == "code.s3Key"
    assert "refused by the function's code signing" in raised.value.problem


def test_a_published_version_with_another_sha_is_code_sha_mismatch() -> None:
    api, stubber = _stubbed()
    stubber.add_response("publish_version", {"Version": "3", "CodeSha256": "sha-racer"})
    with stubber, pytest.raises(CodeShaMismatch, match="sha-racer, not the uploaded"):
        api.publish_version("brand-api", "sha-new", "coalmine d-1")


# ----------------------------------------------------------------------------- the update wait
def _polls(api: LambdaApi, stubber: Stubber, statuses: list[str]) -> None:
    for status in statuses:
        stubber.add_response(
            "get_function_configuration",
            {"LastUpdateStatus": status, "LastUpdateStatusReason": "bad zip"},
        )
    stubber.activate()


def test_a_finished_update_is_not_polled() -> None:
    api, stubber = _stubbed()
    sleeps: list[float] = []
    with stubber:
        api.wait_until_updated("brand-api", "Successful", 60, sleeps.append)
    assert sleeps == []


def test_an_update_in_progress_is_polled_until_it_succeeds() -> None:
    api, stubber = _stubbed()
    _polls(api, stubber, ["InProgress", "Successful"])
    sleeps: list[float] = []
    api.wait_until_updated("brand-api", "InProgress", 60, sleeps.append)
    assert sleeps == [POLL_SECONDS, POLL_SECONDS]
    stubber.assert_no_pending_responses()


def test_an_update_still_in_progress_after_the_wait_is_function_not_ready() -> None:
    api, stubber = _stubbed()
    _polls(api, stubber, ["InProgress", "InProgress"])
    with pytest.raises(FunctionNotReady, match=f"still updating after {2 * POLL_SECONDS:g} s"):
        api.wait_until_updated("brand-api", "InProgress", 2 * POLL_SECONDS, lambda _: None)


def test_a_failed_update_is_target_version_invalid_saying_why() -> None:
    api, stubber = _stubbed()
    _polls(api, stubber, ["Failed"])
    with pytest.raises(TargetVersionInvalid, match="code failed: bad zip"):
        api.wait_until_updated("brand-api", "InProgress", 60, lambda _: None)


def test_deploy_code_uploads_then_waits() -> None:
    api, stubber = _stubbed()
    stubber.add_response("get_function_configuration", {"LastUpdateStatus": "Successful"})
    stubber.add_response(
        "update_function_code",
        {"CodeSha256": "sha-new", "LastUpdateStatus": "InProgress"},
        {"FunctionName": "brand-api", "S3Bucket": "bkt", "S3Key": "k", "S3ObjectVersion": "v1"},
    )
    _polls(api, stubber, ["Successful"])
    code = CodeLocation(s3_bucket="bkt", s3_key="k", s3_object_version="v1")
    updated = api.deploy_code("brand-api", code, 60, lambda _: None)
    assert updated.code_sha256 == "sha-new"
    stubber.assert_no_pending_responses()


# ---------------------------------------------------------------------- provisioned concurrency
def test_provisioned_concurrency_of_the_alias_is_read_with_its_status() -> None:
    api, stub = _stubbed()
    answer = {
        "RequestedProvisionedConcurrentExecutions": 10,
        "AllocatedProvisionedConcurrentExecutions": 4,
        "AvailableProvisionedConcurrentExecutions": 4,
        "Status": "IN_PROGRESS",
        "LastModified": "2026-12-02T12:00:00+0000",
    }
    stub.add_response(
        "get_provisioned_concurrency_config",
        answer,
        {"FunctionName": "brand-api", "Qualifier": "prod"},
    )
    with stub:
        config = api.get_provisioned_concurrency("brand-api", "prod")
    assert config == ProvisionedConfig(10, 4, 4, "IN_PROGRESS", None)


def test_a_failed_allocation_carries_its_reason() -> None:
    api, stub = _stubbed()
    answer = {
        "RequestedProvisionedConcurrentExecutions": 10,
        "AllocatedProvisionedConcurrentExecutions": 0,
        "Status": "FAILED",
        "StatusReason": "FUNCTION_ERROR_INIT_FAILURE",
    }
    stub.add_response("get_provisioned_concurrency_config", answer)
    with stub:
        config = api.get_provisioned_concurrency("brand-api", "prod")
    assert config == ProvisionedConfig(10, 0, 0, "FAILED", "FUNCTION_ERROR_INIT_FAILURE")


def test_an_alias_without_provisioned_concurrency_has_none() -> None:
    api, stub = _stubbed()
    stub.add_client_error(
        "get_provisioned_concurrency_config",
        "ProvisionedConcurrencyConfigNotFoundException",
        "No Provisioned Concurrency Config found for this function",
        404,
    )
    with stub:
        assert api.get_provisioned_concurrency("brand-api", "prod") is None


@pytest.mark.parametrize(
    ("code", "raised"),
    [
        ("TooManyRequestsException", AwsThrottled),
        ("ResourceNotFoundException", ResourceNotFound),
        ("ServiceException", ClientError),
    ],
)
def test_other_errors_reading_provisioned_concurrency_are_translated(
    code: str, raised: type[Exception]
) -> None:
    api, stub = _stubbed()
    stub.add_client_error("get_provisioned_concurrency_config", code, "no", 429)
    with stub, pytest.raises(raised):
        api.get_provisioned_concurrency("brand-api", "prod")
