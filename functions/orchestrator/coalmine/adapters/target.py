"""The function's account: the clients for a deployment's Lambda and CloudWatch calls.

A deployment whose ``target`` names a role in another account (or region) makes every Lambda and
CloudWatch call through a session from STS AssumeRole (RoleSessionName ``coalmine-<deployment>``,
one hour), created once per handler invocation (``clients_for``); DynamoDB, S3, EventBridge and
Step Functions stay in coalmine's own account. Without a target nothing changes: the default
clients, no STS call (docs/cross-account.md).

AssumeRole's errors: throttling -> AwsThrottled (the state machine retries it); any other
(AccessDenied: no such role, no trust to coalmine, sts:AssumeRole not granted) ->
TargetRoleUnavailable, which Prepare turns into InvalidInput naming ``targetRoleArn``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from coalmine import targets
from coalmine.adapters.cloudwatch import CloudWatchApi
from coalmine.adapters.errors import error_code, error_message, is_throttling
from coalmine.adapters.lambda_api import LambdaApi
from coalmine.adapters.lambda_invoke import INVOKE_TIMEOUT_SECONDS, LambdaInvoker
from coalmine.exceptions import AwsThrottled, InvalidInput, TargetRoleUnavailable
from coalmine.models import Deployment, Target

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_lambda import LambdaClient

SESSION_SECONDS = 3600  # the most role chaining allows (a Lambda's credentials are a role
# session), and every role's MaxSessionDuration; no handler runs longer than 15 minutes, and each
# invocation assumes the role afresh
_SESSION_NAME_UNSAFE = re.compile(r"[^\w+=,.@-]")
_STANDARD = Config(retries={"mode": "standard"})
_INVOKE = Config(
    read_timeout=INVOKE_TIMEOUT_SECONDS,
    connect_timeout=10,
    retries={"mode": "standard", "total_max_attempts": 1},
)


@cache
def default_sts() -> Any:
    return boto3.client("sts", config=_STANDARD)


def session_name(deployment_id: str) -> str:
    """``coalmine-<deployment id>``: AssumeRole's 2-64 characters of [\\w+=,.@-]; CloudTrail in
    the function's account then names the deployment that made each call."""
    return _SESSION_NAME_UNSAFE.sub("-", f"coalmine-{deployment_id}")[:64]


def assume(target: Target, deployment_id: str, sts: Any = None) -> boto3.Session:
    """A session in the target's account and region, or TargetRoleUnavailable/AwsThrottled."""
    client = sts if sts is not None else default_sts()
    try:
        answer = client.assume_role(
            RoleArn=target.role_arn,
            RoleSessionName=session_name(deployment_id),
            DurationSeconds=SESSION_SECONDS,
        )
    except ClientError as error:
        if is_throttling(error):
            raise AwsThrottled(f"STS throttled AssumeRole: {error_message(error)}") from error
        raise TargetRoleUnavailable(
            f"coalmine cannot assume {target.role_arn} ({error_code(error)}: "
            f"{error_message(error)}); create it in account {target.account} with "
            "target-account.yaml (its trust names coalmine's account) and check TargetRoleName"
        ) from error
    except BotoCoreError as error:
        raise AwsThrottled(f"STS AssumeRole failed: {error}") from error
    credentials = answer["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=target.region,
    )


@dataclass
class TargetClients:
    """A handler invocation's Lambda and CloudWatch adapters, for one deployment's function."""

    target: Target | None
    deployment_id: str
    sts: Any = None
    _session: boto3.Session | None = field(default=None, init=False, repr=False)

    def session(self) -> boto3.Session | None:
        """The assumed session (AssumeRole on first use, then reused); None: no target."""
        if self.target is not None and self._session is None:
            self._session = assume(self.target, self.deployment_id, self.sts)
        return self._session

    @cached_property
    def lambda_api(self) -> LambdaApi:
        session = self.session()
        if session is None:
            return LambdaApi()
        client: LambdaClient = session.client("lambda", config=_STANDARD)
        return LambdaApi(client)

    @cached_property
    def cloudwatch(self) -> CloudWatchApi:
        session = self.session()
        if session is None:
            return CloudWatchApi()
        client: CloudWatchClient = session.client("cloudwatch", config=_STANDARD)
        return CloudWatchApi(client)

    @cached_property
    def invoker(self) -> LambdaInvoker:
        """Lifecycle hooks are invoked in the function's account (the target role's grant)."""
        session = self.session()
        if session is None:
            return LambdaInvoker()
        client: LambdaClient = session.client("lambda", config=_INVOKE)
        return LambdaInvoker(client)


def clients_for(target: Target | None, deployment_id: str, sts: Any = None) -> TargetClients:
    """One per handler invocation: a target's role is assumed at most once, on first use."""
    return TargetClients(target, deployment_id, sts)


def clients_of(deployment: Deployment) -> TargetClients:
    """A step handler's: the deployment's function's account (its ``target``), or coalmine's."""
    return clients_for(deployment.target, deployment.deployment_id)


def for_request(
    raw: Any, deployment_id: str, invoked_function_arn: str, sts: Any = None
) -> TargetClients:
    """Prepare's clients: the input's target resolved (coalmine/targets.py) and its role assumed
    at once, so a role that cannot be assumed is InvalidInput naming targetRoleArn, before
    anything is read or changed."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""
    account, own_region = targets.own_place(invoked_function_arn, region)
    target = targets.resolve(targets.fields_of(raw), account, own_region)
    clients = clients_for(target, deployment_id, sts)
    try:
        clients.session()
    except TargetRoleUnavailable as error:
        raise InvalidInput(targets.ROLE_FIELD, str(error)) from error
    return clients


def lambda_api_of(deployment: Deployment, own: LambdaApi) -> LambdaApi:
    """Cleanup's: ``own`` for a deployment in coalmine's account, else its target's (assumed)."""
    return own if deployment.target is None else clients_of(deployment).lambda_api
