"""Lambda: aliases, function configuration, code updates and versions.

Errors are translated by ``errors.lambda_translated`` (adapters/errors.py); nothing else is caught.
Invoking a hook is in lambda_invoke.py, the alias's asynchronous settings in lambda_async.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from coalmine.adapters.errors import error_code, lambda_translated
from coalmine.exceptions import (
    CoalmineError,
    CodeShaMismatch,
    FunctionNotReady,
    InvalidInput,
    ResourceNotFound,
    TargetVersionInvalid,
)
from coalmine.models import AliasState, CodeLocation, FunctionState
from coalmine.provisioned_concurrency import ProvisionedConfig

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

#: How often a code update in progress is polled (GetFunctionConfiguration).
POLL_SECONDS = 2.0


@cache
def default_client() -> LambdaClient:
    """The Lambda client the handlers use, created on first use (so tests can mock first)."""
    return boto3.client("lambda", config=Config(retries={"mode": "standard"}))


class LambdaApi:
    def __init__(self, client: LambdaClient | None = None) -> None:
        self.client = client if client is not None else default_client()

    def get_alias(self, function_name: str, alias: str) -> AliasState:
        with lambda_translated(f"alias {function_name}:{alias}"):
            response = self.client.get_alias(FunctionName=function_name, Name=alias)
        return alias_state(response)

    def update_alias(
        self,
        function_name: str,
        alias: str,
        version: str,
        weights: Mapping[str, float],
        revision_id: str,
    ) -> AliasState:
        """Conditional on ``revision_id``: a stale one means someone else changed the alias."""
        with lambda_translated(f"alias {function_name}:{alias}"):
            response = self.client.update_alias(
                FunctionName=function_name,
                Name=alias,
                FunctionVersion=version,
                RoutingConfig={"AdditionalVersionWeights": dict(weights)},
                RevisionId=revision_id,
            )
        return alias_state(response)

    def put_alias(self, function_name: str, alias: str, version: str, description: str) -> None:
        """Point ``alias`` wholly at ``version``, creating it if missing. An existing alias is
        updated conditionally on the RevisionId read just before: if someone changes it in
        between, AliasChangedOutOfBand and their change stands. Already there: nothing written."""
        try:
            current = self.get_alias(function_name, alias)
        except ResourceNotFound:
            with lambda_translated(f"alias {function_name}:{alias}"):
                self.client.create_alias(
                    FunctionName=function_name,
                    Name=alias,
                    FunctionVersion=version,
                    Description=description,
                )
            return
        if current.function_version == version and not current.weights:
            return
        with lambda_translated(f"alias {function_name}:{alias}"):
            self.client.update_alias(
                FunctionName=function_name,
                Name=alias,
                FunctionVersion=version,
                RoutingConfig={"AdditionalVersionWeights": {}},
                Description=description,
                RevisionId=current.revision_id,
            )

    def get_provisioned_concurrency(
        self, function_name: str, qualifier: str
    ) -> ProvisionedConfig | None:
        """GetProvisionedConcurrencyConfig of the alias (or version) ``qualifier``; None when it
        has none (ProvisionedConcurrencyConfigNotFoundException)."""
        try:
            with lambda_translated(f"provisioned concurrency of {function_name}:{qualifier}"):
                response = self.client.get_provisioned_concurrency_config(
                    FunctionName=function_name, Qualifier=qualifier
                )
        except ClientError as error:
            if error_code(error) == "ProvisionedConcurrencyConfigNotFoundException":
                return None
            raise
        return provisioned_config(response)

    def get_function(self, function_name: str, qualifier: str | None = None) -> FunctionState:
        what = f"function {function_name}" + (f" version {qualifier}" if qualifier else "")
        kwargs = {"Qualifier": qualifier} if qualifier else {}
        with lambda_translated(what):
            response = self.client.get_function_configuration(FunctionName=function_name, **kwargs)
        return function_state(response)

    def list_tags(self, function_name: str) -> dict[str, str]:
        """The function's tags (the opt-in tag lives here)."""
        arn = self.get_function(function_name).arn
        with lambda_translated(f"function {function_name} tags"):
            return dict(self.client.list_tags(Resource=arn).get("Tags") or {})

    def update_code(
        self, function_name: str, bucket: str, key: str, object_version: str | None
    ) -> FunctionState:
        kwargs: dict[str, Any] = {"S3ObjectVersion": object_version} if object_version else {}
        source = f"s3://{bucket}/{key}" + (f"?versionId={object_version}" if object_version else "")
        what = f"function {function_name} code {source}"
        with lambda_translated(what, invalid=_not_a_deployable_zip):
            response = self.client.update_function_code(
                FunctionName=function_name, S3Bucket=bucket, S3Key=key, **kwargs
            )
        return function_state(response)

    def deploy_code(
        self,
        function_name: str,
        code: CodeLocation,
        max_wait_seconds: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> FunctionState:
        """UpdateFunctionCode from ``code``, then wait until the update is done. An update
        already in progress is not interrupted: FunctionNotReady (the state machine retries)."""
        if self.get_function(function_name).last_update_status == "InProgress":
            raise FunctionNotReady(f"{function_name} is still applying an earlier update")
        updated = self.update_code(
            function_name, code.s3_bucket, code.s3_key, code.s3_object_version
        )
        self.wait_until_updated(function_name, updated.last_update_status, max_wait_seconds, sleep)
        return updated

    def wait_until_updated(
        self,
        function_name: str,
        status: str | None,
        max_wait_seconds: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Poll while ``LastUpdateStatus`` is InProgress, for at most ``max_wait_seconds``: still
        InProgress -> FunctionNotReady (retried), Failed -> TargetVersionInvalid (saying why)."""
        waited = 0.0
        reason: str | None = None
        while status == "InProgress" and waited < max_wait_seconds:
            sleep(POLL_SECONDS)
            waited += POLL_SECONDS
            state = self.get_function(function_name)
            status, reason = state.last_update_status, state.last_update_status_reason
        if status == "InProgress":
            raise FunctionNotReady(f"{function_name} is still updating after {waited:g} s")
        if status == "Failed":
            raise TargetVersionInvalid(f"updating {function_name}'s code failed: {reason}")

    def publish_version(self, function_name: str, code_sha256: str, description: str) -> str:
        """Publish ``$LATEST`` only if its code is still ``code_sha256``; returns the version."""
        with lambda_translated(
            f"function {function_name}", precondition=CodeShaMismatch, invalid=CodeShaMismatch
        ):
            response = self.client.publish_version(
                FunctionName=function_name, CodeSha256=code_sha256, Description=description
            )
        published = response.get("CodeSha256")
        if published and published != code_sha256:
            raise CodeShaMismatch(
                f"function {function_name} version {response['Version']} has CodeSha256 "
                f"{published}, not the uploaded artifact's {code_sha256}"
            )
        return str(response["Version"])


def alias_state(response: Mapping[str, Any]) -> AliasState:
    """A GetAlias/UpdateAlias answer as (version, weights, RevisionId)."""
    routing = response.get("RoutingConfig") or {}
    weights = routing.get("AdditionalVersionWeights") or {}
    return AliasState(
        function_version=str(response["FunctionVersion"]),
        weights={str(v): float(w) for v, w in weights.items()},
        revision_id=str(response.get("RevisionId", "")),
    )


def provisioned_config(response: Mapping[str, Any]) -> ProvisionedConfig:
    """A GetProvisionedConcurrencyConfig answer (counts absent: 0)."""
    return ProvisionedConfig(
        requested=int(response.get("RequestedProvisionedConcurrentExecutions") or 0),
        allocated=int(response.get("AllocatedProvisionedConcurrentExecutions") or 0),
        available=int(response.get("AvailableProvisionedConcurrentExecutions") or 0),
        status=str(response.get("Status") or ""),
        status_reason=response.get("StatusReason") or None,
    )


def function_state(response: Mapping[str, Any]) -> FunctionState:
    """A GetFunctionConfiguration/UpdateFunctionCode answer, as far as coalmine judges it."""
    return FunctionState(
        version=str(response.get("Version", "$LATEST")),
        code_sha256=str(response.get("CodeSha256", "")),
        last_update_status=response.get("LastUpdateStatus"),
        last_update_status_reason=response.get("LastUpdateStatusReason"),
        package_type=str(response.get("PackageType", "Zip")),
        state=response.get("State"),
        role=str(response.get("Role", "")),
        dead_letter_target=(response.get("DeadLetterConfig") or {}).get("TargetArn") or None,
        arn=_unqualified(str(response.get("FunctionArn", ""))),
    )


def _not_a_deployable_zip(message: str) -> CoalmineError:
    """UpdateFunctionCode refused the object (not a zip, too big, no such key): bad input."""
    return InvalidInput("code.s3Key", message)


def _unqualified(arn: str) -> str:
    """arn:aws:lambda:r:a:function:name[:qualifier] -> without the qualifier."""
    return ":".join(arn.split(":")[:7])
