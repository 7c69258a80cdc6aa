"""End to end: a deployment into a second account (docs/cross-account.md), through the real ASL.

The sandbox's moto keeps one Lambda backend per account and maps AssumeRole's credentials to
the role's account; the emulated runtime invokes a member function from its account's backend
and keeps its metrics apart (``<account>/<name>``), and GetMetricData made with the member's
credentials reads the member's. coalmine's own account holds a function of the SAME name, its
prod alias sending half its traffic to a version 2 that fails every request: a deployment that
read the wrong account's metrics would see version 2 fail (the canary rolls back), one that read
its alias would find it weighted (refused), one that wrote it would move it."""

from __future__ import annotations

import io
import json
import random
import zipfile
from typing import Any

import boto3
import pytest
from e2e_helpers import finish

from coalmine_sandbox import Sandbox
from coalmine_sandbox.world.traffic import TrafficGenerator

MEMBER = "222222222222"
ROLE = f"arn:aws:iam::{MEMBER}:role/coalmine-target"
NAME, ALIAS = "team-b-orders", "prod"
OWN_WEIGHTS = {"2": 0.5}
REQUEST = {"functionName": NAME, "targetVersion": "2", "targetRoleArn": ROLE}
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
SOURCE = """
RELEASE = "{release}"


def handler(event, context):
    if RELEASE == "broken":
        raise RuntimeError("coalmine's own account's function always fails")
    return {{"release": RELEASE}}
"""


def _zip(release: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("orders.py", SOURCE.format(release=release))
    return buffer.getvalue()


def _member_lambda(sb: Sandbox) -> Any:
    c = sb.client("sts").assume_role(RoleArn=ROLE, RoleSessionName="test-setup")["Credentials"]
    session = boto3.Session(
        aws_access_key_id=c["AccessKeyId"],
        aws_secret_access_key=c["SecretAccessKey"],
        aws_session_token=c["SessionToken"],
        region_name="us-east-1",
    )
    return session.client("lambda"), session.client("iam")


def _settled(sb: Sandbox, lam: Any) -> None:
    for _ in range(120):
        if lam.get_function_configuration(FunctionName=NAME)["LastUpdateStatus"] != "InProgress":
            return
        sb.clock.advance(1)
    raise AssertionError("the function never finished updating")


def _function(
    sb: Sandbox, lam: Any, iam: Any, releases: list[str], weights: dict[str, float]
) -> None:
    """NAME with a version per release (1, 2, ...) and prod on version 1 (plus ``weights``)."""
    role = iam.create_role(RoleName="orders-role", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    lam.create_function(
        FunctionName=NAME,
        Runtime="python3.12",
        Role=role,
        Handler="orders.handler",
        Code={"ZipFile": _zip(releases[0])},
        Timeout=10,
        Tags={"coalmine:managed": "true"},
    )
    for index, release in enumerate(releases):
        if index:
            lam.update_function_code(FunctionName=NAME, ZipFile=_zip(release))
        _settled(sb, lam)
        lam.publish_version(FunctionName=NAME)
    lam.create_alias(
        FunctionName=NAME,
        Name=ALIAS,
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": weights},
    )


def _alias(lam: Any) -> tuple[str, dict[str, float]]:
    found = lam.get_alias(FunctionName=NAME, Name=ALIAS)
    return found["FunctionVersion"], found.get("RoutingConfig", {}).get(
        "AdditionalVersionWeights", {}
    )


def _traffic(sb: Sandbox, account: str | None, rps: float, seed: int) -> Any:
    def invoke(event: dict[str, Any]) -> None:
        sb.runtime.invoke_alias(NAME, ALIAS, event, account=account)

    generator = TrafficGenerator(invoke, rps, random.Random(seed), lambda rng: {})
    return sb.add_listener(generator.on_clock)


@pytest.fixture
def accounts(sandbox: Sandbox) -> tuple[Any, Any]:
    """(the member's Lambda client, coalmine's own): NAME in both; the member's healthy (v1, v2),
    prod on 1; coalmine's own prod on 1 and half on a 2 that fails every request."""
    member, member_iam = _member_lambda(sandbox)
    _function(sandbox, member, member_iam, ["v1", "v2"], {})
    own = sandbox.client("lambda")
    _function(sandbox, own, sandbox.client("iam"), ["v1", "broken"], OWN_WEIGHTS)
    return member, own


def _locks(sb: Sandbox) -> list[dict[str, Any]]:
    return list(sb.client("dynamodb").scan(TableName=sb.stack["DeploymentLocksTable"])["Items"])


def test_a_canary_into_the_second_account_is_promoted(
    sandbox: Sandbox, accounts: tuple[Any, Any]
) -> None:
    member, own = accounts
    stop = [_traffic(sandbox, MEMBER, 20, 1), _traffic(sandbox, None, 20, 2)]
    try:
        done = finish(
            sandbox,
            sandbox.start_execution(REQUEST),
        )
    finally:
        for halt in stop:
            halt()
    assert done.status == "SUCCEEDED", f"{done.error}: {done.message}"
    out = done.output
    assert out["outcome"] == "PROMOTED"
    assert out["target"] == {"roleArn": ROLE, "account": MEMBER, "region": "us-east-1"}
    assert [step["verdict"] for step in out["steps"]] == ["PASS"]
    assert _alias(member) == ("2", {})  # the member's alias moved ...
    assert _alias(own) == ("1", OWN_WEIGHTS)  # ... and coalmine's own same-named one did not
    assert _locks(sandbox) == []  # the member's lock (account:region:function:alias) released
    served = sandbox.runtime.invoke_alias(NAME, ALIAS, {}, account=MEMBER)
    assert (served.executed_version, served.payload) == ("2", {"release": "v2"})


def test_an_unassumable_role_fails_in_prepare_naming_it_and_changes_nothing(
    sandbox: Sandbox, accounts: tuple[Any, Any]
) -> None:
    member, own = accounts
    sandbox.faults.inject_api("AssumeRole", service="sts", code="AccessDenied", times=None)
    before = (_alias(member), member.list_versions_by_function(FunctionName=NAME)["Versions"])
    done = finish(
        sandbox,
        sandbox.start_execution(REQUEST),
    )
    assert (done.status, done.error) == ("FAILED", "InvalidInput")
    assert done.message.startswith(f"targetRoleArn: coalmine cannot assume {ROLE}")
    assert done.entered[-1] == "Prepare"
    sandbox.faults.clear()
    after = (_alias(member), member.list_versions_by_function(FunctionName=NAME)["Versions"])
    assert after == before
    assert _alias(own) == ("1", OWN_WEIGHTS)
    assert _locks(sandbox) == []
    history = sandbox.client("dynamodb").scan(TableName=sandbox.stack["DeploymentHistoryTable"])
    assert history["Items"] == []
