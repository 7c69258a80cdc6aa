"""Handlers against plain moto (`mock_aws`), not the sandbox.

moto 5.2.5 never checks RevisionId, never raises PreconditionFailedException, and accepts any
CodeSha256: tests of those paths use a botocore Stubber, or change the alias's routing out of
band, instead of relying on moto. It keeps the RevisionId unchanged on UpdateAlias: the world
gives every UpdateAlias a new one, like AWS (coalmine knows its own routings by their revision),
and starts the alias on the revision the fixtures' documents (events/) name. It has no
provisioned concurrency API (404 "Not yet implemented"): the world answers
GetProvisionedConcurrencyConfig from ``World.provisioned`` (none: no config), and the adapter's
own call is tested with a Stubber (test_lambda_api.py).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "POWERTOOLS_SERVICE_NAME": "coalmine",
    "POWERTOOLS_METRICS_NAMESPACE": "coalmine",  # template.yaml's
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_DEV": "false",
    "LOCK_TABLE_NAME": "coalmine-deployment-locks",
}
os.environ.update(ENVIRONMENT)  # before coalmine.observability is first imported

from integration_helpers import FIXTURE_REVISION, zip_of  # noqa: E402
from moto import mock_aws  # noqa: E402

from coalmine.adapters import (  # noqa: E402
    cloudwatch,
    lambda_api,
    lambda_invoke,
    locks_table,
    stepfunctions,
    target,
)
from coalmine.adapters.lambda_api import alias_state  # noqa: E402
from coalmine.lock import lock_id  # noqa: E402
from coalmine.observability import metrics  # noqa: E402

FUNCTION = "brand-api"
LOCK_TABLE = ENVIRONMENT["LOCK_TABLE_NAME"]
ALARM = "brand-api-prod-errors"
BUCKET = "coalmine-artifacts-123456789012"


@dataclass
class World:
    """A function (opted in to coalmine) with published versions 1 and 2 and alias prod -> 1,
    an alarm, and the empty deployment locks table."""

    lambda_client: Any
    cloudwatch: Any
    s3: Any
    function: str = FUNCTION
    #: GetProvisionedConcurrencyConfig's answers, in order (the last one repeats; none: None)
    provisioned: list[Any] = field(default_factory=list)
    provisioned_reads: int = 0

    def read_provisioned(self, function_name: str, qualifier: str) -> Any:
        self.provisioned_reads += 1
        if len(self.provisioned) > 1:
            return self.provisioned.pop(0)
        return self.provisioned[0] if self.provisioned else None

    def alias(self, name: str = "prod") -> dict[str, Any]:
        found = alias_state(self.lambda_client.get_alias(FunctionName=self.function, Name=name))
        return {"version": found.function_version, "weights": found.weights}

    def route(
        self, version: str, weights: dict[str, float] | None = None, revision: str | None = None
    ) -> None:
        """Someone (a test, or another operator) sets the alias: a new RevisionId; with
        ``revision``, the one coalmine's write answered with (a fixture's ``revisionId``)."""
        self.lambda_client.update_alias(
            FunctionName=self.function,
            Name="prod",
            FunctionVersion=version,
            RoutingConfig={"AdditionalVersionWeights": weights or {}},
        )
        if revision is not None:
            _backend_alias(self.function, "prod").revision_id = revision

    def revision(self) -> str:
        return str(
            self.lambda_client.get_alias(FunctionName=self.function, Name="prod")["RevisionId"]
        )

    def set_alarm(self, state: str, name: str = ALARM) -> None:
        self.cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")

    def hold_lock(self, deployment_id: str = "deploy-brand-api-0001", alias: str = "prod") -> None:
        """The alias's lock, as Prepare leaves it for the deployment the fixtures describe."""
        boto3.client("dynamodb").put_item(
            TableName=LOCK_TABLE,
            Item={
                "lockId": {"S": lock_id(self.function, alias)},
                "deploymentId": {"S": deployment_id},
                "executionArn": {"S": ""},
                "startedAt": {"N": "0"},
                "expiresAt": {"N": "4102444800"},
            },
        )

    def lock(self, alias: str = "prod") -> dict[str, Any] | None:
        key = {"lockId": {"S": lock_id(self.function, alias)}}
        return boto3.client("dynamodb").get_item(TableName=LOCK_TABLE, Key=key).get("Item")

    def upload(self, key: str, source: str) -> None:
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=zip_of(source))


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in ENVIRONMENT.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(autouse=True)
def _fresh_metrics() -> Iterator[None]:
    metrics.clear_metrics()
    metrics.clear_default_dimensions()
    yield
    metrics.clear_metrics()


def _backend_alias(function: str, alias: str) -> Any:
    from moto.awslambda.models import lambda_backends

    return lambda_backends["123456789012"]["us-east-1"].get_alias(alias, function)


def _new_revision(original: Any) -> Any:
    def update(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.revision_id = str(uuid.uuid4())

    return update


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    from moto.awslambda.models import LambdaAlias

    monkeypatch.setattr(LambdaAlias, "update", _new_revision(LambdaAlias.update))
    with mock_aws():
        _clear_client_caches()
        boto3.client("dynamodb").create_table(
            TableName=LOCK_TABLE,
            AttributeDefinitions=[{"AttributeName": "lockId", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "lockId", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        role = boto3.client("iam").create_role(
            RoleName="brand-api-role", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        client = boto3.client("lambda")
        client.create_function(
            FunctionName=FUNCTION,
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": zip_of("VERSION = 1\n")},
            # opted in, and a hook too (tests name brand-api:1 as a hook of itself)
            Tags={"coalmine:managed": "true", "coalmine:hook": "true"},
        )
        client.publish_version(FunctionName=FUNCTION)
        client.update_function_code(FunctionName=FUNCTION, ZipFile=zip_of("VERSION = 2\n"))
        client.publish_version(FunctionName=FUNCTION)
        client.create_alias(FunctionName=FUNCTION, Name="prod", FunctionVersion="1")
        _backend_alias(FUNCTION, "prod").revision_id = FIXTURE_REVISION
        alarms = boto3.client("cloudwatch")
        alarms.put_metric_alarm(
            AlarmName=ALARM,
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
        )
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        world = World(client, alarms, s3)
        world.set_alarm("OK")
        monkeypatch.setattr(
            lambda_api.LambdaApi,
            "get_provisioned_concurrency",
            lambda _self, name, qualifier: world.read_provisioned(name, qualifier),
        )
        yield world
        _clear_client_caches()


def _clear_client_caches() -> None:
    for adapter in (lambda_api, cloudwatch, locks_table, stepfunctions):  # (and target.py's STS)
        adapter.default_client.cache_clear()
    lambda_invoke.invoke_client.cache_clear()
    target.default_sts.cache_clear()
