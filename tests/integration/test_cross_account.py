"""A function in another account and region (docs/cross-account.md), against moto's accounts.

moto maps the credentials AssumeRole returns to the role's account, so a deployment whose input
names ``targetRoleArn`` in 222222222222 finds its function only if every Lambda and CloudWatch
call goes through that role: the coalmine account (123456789012, ``world``) has no such function.
moto lets any role be assumed, so a refused AssumeRole is an STS client that answers AccessDenied.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from integration_helpers import zip_of

from coalmine.adapters import target
from coalmine.exceptions import InvalidInput
from coalmine.handlers import (
    prepare,
    promote,
    publish_version,
    release_lock,
    rollback,
    shift_traffic,
)
from coalmine.lock import lock_id
from coalmine.models import Target

MEMBER, REGION = "222222222222", "eu-west-1"
ROLE = f"arn:aws:iam::{MEMBER}:role/coalmine-target"
FUNCTION = "team-b-orders"
LOCK_TABLE = "coalmine-deployment-locks"
MEMBER_LOCK = f"{MEMBER}:{REGION}:{FUNCTION}:prod"


class Member:
    """The member account's Lambda and CloudWatch, as its own role sees them."""

    def __init__(self) -> None:
        creds = boto3.client("sts").assume_role(RoleArn=ROLE, RoleSessionName="test-setup")
        c = creds["Credentials"]
        self.session = boto3.Session(
            aws_access_key_id=c["AccessKeyId"],
            aws_secret_access_key=c["SecretAccessKey"],
            aws_session_token=c["SessionToken"],
            region_name=REGION,
        )
        self.lambda_client = self.session.client("lambda")

    def alias(self) -> tuple[str, dict[str, float]]:
        found = self.lambda_client.get_alias(FunctionName=FUNCTION, Name="prod")
        weights = found.get("RoutingConfig", {}).get("AdditionalVersionWeights", {})
        return found["FunctionVersion"], weights

    def versions(self) -> list[str]:
        listed = self.lambda_client.list_versions_by_function(FunctionName=FUNCTION)
        return [v["Version"] for v in listed["Versions"]]


@pytest.fixture
def member(world: Any) -> Member:
    """team-b-orders in 222222222222/eu-west-1: opted in, versions 1 and 2, prod -> 1."""
    m = Member()
    role = m.session.client("iam").create_role(
        RoleName="team-b-orders-role", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    m.lambda_client.create_function(
        FunctionName=FUNCTION,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": zip_of("VERSION = 1\n")},
        Tags={"coalmine:managed": "true"},
    )
    m.lambda_client.publish_version(FunctionName=FUNCTION)
    m.lambda_client.update_function_code(FunctionName=FUNCTION, ZipFile=zip_of("VERSION = 2\n"))
    m.lambda_client.publish_version(FunctionName=FUNCTION)
    m.lambda_client.create_alias(FunctionName=FUNCTION, Name="prod", FunctionVersion="1")
    return m


def _request(**fields: Any) -> dict[str, Any]:
    base = {"functionName": FUNCTION, "targetVersion": "2", "targetRoleArn": ROLE}
    return {**base, "region": REGION, **fields}


def _event(request: dict[str, Any], deployment_id: str = "d-x-1") -> dict[str, Any]:
    return {"request": request, "deploymentId": deployment_id}


def _lock(lock: str) -> dict[str, Any] | None:
    item = boto3.client("dynamodb").get_item(TableName=LOCK_TABLE, Key={"lockId": {"S": lock}})
    return item.get("Item")


def _no_lock_at_all() -> bool:
    return not boto3.client("dynamodb").scan(TableName=LOCK_TABLE)["Items"]


def test_prepare_reads_the_member_account_through_the_role(
    member: Member, lambda_context: Any
) -> None:
    out = prepare.handler(_event(_request()), lambda_context)
    assert out["target"] == {"roleArn": ROLE, "account": MEMBER, "region": REGION}
    assert (out["functionName"], out["fromVersion"]) == (FUNCTION, "1")
    held = _lock(MEMBER_LOCK)
    assert held is not None
    assert held["deploymentId"]["S"] == "d-x-1"
    assert _lock(lock_id(FUNCTION, "prod")) is None  # the member's key, not coalmine's own


def test_a_deployment_in_the_member_account_shifts_promotes_and_releases(
    member: Member, lambda_context: Any
) -> None:
    doc = prepare.handler(_event(_request()), lambda_context)
    doc = publish_version.handler(doc, lambda_context)
    assert doc["toVersion"] == "2"
    doc = shift_traffic.handler(doc, lambda_context)
    assert member.alias() == ("1", {"2": pytest.approx(0.1)})
    doc = promote.handler({**doc, "action": "PROMOTE"}, lambda_context)
    assert member.alias() == ("2", {})
    release_lock.handler(doc, lambda_context)
    assert _lock(MEMBER_LOCK) is None


def test_a_rollback_in_the_member_account(member: Member, lambda_context: Any) -> None:
    doc = prepare.handler(_event(_request()), lambda_context)
    doc = shift_traffic.handler(publish_version.handler(doc, lambda_context), lambda_context)
    assert member.alias()[1]
    out = rollback.handler({**doc, "reason": "test"}, lambda_context)
    assert out["outcome"] == "ROLLED_BACK"
    assert member.alias() == ("1", {})


def test_code_is_published_in_the_member_account(member: Member, lambda_context: Any) -> None:
    """An upload's zip (coalmine's artifact bucket) becomes a new version of the member's
    function; nothing is published in coalmine's account (it has no such function)."""
    s3 = boto3.client("s3")
    s3.put_object(
        Bucket="coalmine-artifacts-123456789012",
        Key=f"deployments/{FUNCTION}/b3",
        Body=zip_of("VERSION = 3\n"),
    )
    code = {"s3Bucket": "coalmine-artifacts-123456789012", "s3Key": f"deployments/{FUNCTION}/b3"}
    request = _request(code=code)
    request.pop("targetVersion")
    doc = prepare.handler(_event(request), lambda_context)
    doc = publish_version.handler(doc, lambda_context)
    assert doc["toVersion"] == "3"
    assert "3" in member.versions()


class _Refusing:
    """An STS client whose AssumeRole is refused (no trust to coalmine's account); installed as
    ``target.default_sts`` (cached, like the real one)."""

    calls = 0

    def assume_role(self, **kwargs: Any) -> Any:
        _Refusing.calls += 1
        raise ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "not authorized to perform"}},
            "AssumeRole",
        )


def test_an_unassumable_role_is_invalid_input_and_changes_nothing(
    member: Member, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(target, "default_sts", cache(_Refusing))
    before = (member.alias(), member.versions())
    with pytest.raises(InvalidInput) as raised:
        prepare.handler(_event(_request()), lambda_context)
    assert raised.value.field == "targetRoleArn"
    assert ROLE in str(raised.value)
    assert "AccessDenied" in str(raised.value)
    assert (member.alias(), member.versions()) == before
    assert _no_lock_at_all()


def test_no_target_makes_no_sts_call(
    world: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _Refusing.calls = 0
    monkeypatch.setattr(target, "default_sts", cache(_Refusing))
    plain = {"functionName": "brand-api", "targetVersion": "2"}
    out = prepare.handler(_event(plain), lambda_context)
    assert out["target"] is None
    assert _Refusing.calls == 0
    assert _lock(lock_id("brand-api", "prod")) is not None  # the lock key as before


@pytest.mark.parametrize(
    ("fields", "field", "problem"),
    [
        ({"targetRoleArn": "arn:aws:iam::22:role/x"}, "targetRoleArn", "not an IAM role ARN"),
        ({"targetRoleArn": "coalmine-target"}, "targetRoleArn", "not an IAM role ARN"),
        ({"targetRoleArn": f"arn:aws:iam::{MEMBER}:user/x"}, "targetRoleArn", "IAM role ARN"),
        ({"region": "Europe"}, "region", "not an AWS region"),
        ({"targetRoleArn": None, "region": REGION}, "region", "needs targetRoleArn"),
        (
            {"targetRoleArn": "arn:aws:iam::123456789012:role/coalmine-target", "region": None},
            "targetRoleArn",
            "coalmine's own account",
        ),
    ],
)
def test_a_bad_target_is_refused_naming_the_field(
    member: Member, lambda_context: Any, fields: dict[str, Any], field: str, problem: str
) -> None:
    request = {k: v for k, v in _request(**fields).items() if v is not None}
    with pytest.raises(InvalidInput) as raised:
        prepare.handler(_event(request), lambda_context)
    assert raised.value.field == field
    assert problem in str(raised.value)
    assert member.alias() == ("1", {})
    assert _no_lock_at_all()


def test_the_session_names_the_deployment() -> None:
    assert target.session_name("deploy-brand-api-0001") == "coalmine-deploy-brand-api-0001"
    long = target.session_name("x" * 100 + "/?")
    assert len(long) == 64
    assert long.startswith("coalmine-x")
    assert target.session_name("a b/c") == "coalmine-a-b-c"


def test_the_lock_key_of_a_target() -> None:
    where = Target.of(ROLE, REGION)
    assert lock_id(FUNCTION, "prod", where) == MEMBER_LOCK
    assert lock_id(FUNCTION, "prod") == f"{FUNCTION}:prod"


def test_an_operator_request_finds_the_member_lock(member: Member, lambda_context: Any) -> None:
    """``coalmine abort ACCOUNT:REGION:FUNCTION:ALIAS`` (cli executions.parse_lock_target)."""
    from datetime import UTC, datetime

    from coalmine.adapters import operator_requests
    from coalmine.adapters.locks_table import LockTable
    from coalmine_cli.executions import parse_lock_target

    prepare.handler(_event(_request()), lambda_context)
    function, alias = parse_lock_target(MEMBER_LOCK)
    held, asked = operator_requests.request(
        "abort",
        function,
        alias or "prod",
        "wrong build",
        locks=LockTable(LOCK_TABLE),
        lambda_client=boto3.client("lambda"),
        sts=boto3.client("sts"),
        now=datetime.now(UTC),
    )
    assert held.lock_id == MEMBER_LOCK
    assert held.deployment_id == "d-x-1"
    assert asked.action == "abort"
    with pytest.raises(operator_requests.OperatorRequestRefused, match="no deployment of"):
        operator_requests.request(
            "abort",
            f"{MEMBER}:us-west-2:{FUNCTION}",
            "prod",
            "wrong region",
            locks=LockTable(LOCK_TABLE),
            lambda_client=boto3.client("lambda"),
            sts=boto3.client("sts"),
            now=datetime.now(UTC),
        )


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("brand-api:prod", ("brand-api", "prod")),
        ("brand-api", ("brand-api", None)),
        (f"{MEMBER}:{REGION}:{FUNCTION}:live", (f"{MEMBER}:{REGION}:{FUNCTION}", "live")),
        (f"{MEMBER}:{REGION}:{FUNCTION}", (f"{MEMBER}:{REGION}:{FUNCTION}", None)),
    ],
)
def test_the_cli_target_of_a_member_function(spec: str, parsed: tuple[str, str | None]) -> None:
    from coalmine_cli.executions import parse_lock_target

    assert parse_lock_target(spec) == parsed


def test_cleanup_restores_a_stopped_member_deployment(
    member: Member, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stop mid-canary: Cleanup finds the lock by the execution (the input names a target
    role) and puts the member's alias back through the role."""
    import json

    from coalmine import recovery
    from coalmine.adapters.locks_table import LockTable
    from coalmine.handlers import cleanup

    arn = "arn:aws:states:us-east-1:123456789012:execution:coalmine-deployment:d-x-1"
    doc = prepare.handler({**_event(_request()), "executionArn": arn}, lambda_context)
    shift_traffic.handler(publish_version.handler(doc, lambda_context), lambda_context)
    assert member.alias()[1]
    monkeypatch.setattr(cleanup.StepFunctionsApi, "status", lambda _self, _arn: "ABORTED")
    change = recovery.ExecutionEnded.model_validate(
        {
            "detail": {
                "executionArn": arn,
                "name": "d-x-1",
                "status": "ABORTED",
                "input": json.dumps(_request()),
            }
        }
    ).detail
    done = cleanup.clean_up(change, cleanup.LambdaApi(), LockTable(LOCK_TABLE))
    assert "released" in done
    assert member.alias() == ("1", {})
    assert _lock(MEMBER_LOCK) is None


def test_the_manual_command_names_the_member_account_and_region() -> None:
    from coalmine.recovery import manual_command

    command = manual_command(FUNCTION, "prod", "1", Target.of(ROLE, REGION))
    assert command.startswith(f"aws lambda update-alias --region {REGION} --function-name ")
    assert f"with credentials of account {MEMBER}" in command
    assert manual_command(FUNCTION, "prod", "1") == (
        f"aws lambda update-alias --function-name {FUNCTION} --name prod --function-version 1 "
        "--routing-config AdditionalVersionWeights={}"
    )


def test_the_history_key_of_a_member_deployment_is_its_lock_key(
    member: Member, lambda_context: Any
) -> None:
    from coalmine import history
    from coalmine.models import Deployment
    from coalmine_cli.executions import item_row

    doc = Deployment.model_validate(prepare.handler(_event(_request()), lambda_context))
    assert history.key(doc)["deploymentKey"] == MEMBER_LOCK
    plain = doc.model_copy(update={"target": None})
    assert history.key(plain)["deploymentKey"] == f"{FUNCTION}:prod"  # as before
    row = item_row(
        {
            "deploymentKey": {"S": MEMBER_LOCK},
            "startedAt": {"S": "2026-01-01T00:00:00Z"},
            "phase": {"S": "PROMOTED"},
        }
    )
    assert (row.function, row.alias) == (f"{MEMBER}:{REGION}:{FUNCTION}", "prod")
