"""Lambda: aliases, function configuration, code updates and versions.

Error translation (nothing else is caught):
  Throttling / TooManyRequestsException / ThrottlingException -> AwsThrottled
  ResourceConflictException                                   -> FunctionNotReady
  PreconditionFailedException  -> AliasChangedOutOfBand (alias updates) / CodeShaMismatch (publish)
  ResourceNotFoundException                                   -> ResourceNotFound
  InvalidParameterValueException  -> InvalidInput(code.s3Key) (UpdateFunctionCode: not a zip,
                                     no such object) / CodeShaMismatch (publish)
Invoke (a lifecycle hook): ResourceNotFoundException, AccessDeniedException and no answer within
  INVOKE_TIMEOUT_SECONDS -> InvokeFailed; the function's own error is returned, not raised.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

from coalmine.exceptions import (
    AliasChangedOutOfBand,
    AwsThrottled,
    CoalmineError,
    CodeShaMismatch,
    FunctionNotReady,
    InvalidInput,
    InvokeFailed,
    ResourceNotFound,
)
from coalmine.models import AliasState, FunctionState, Invoked

THROTTLING_CODES = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException"})
#: How long coalmine waits for a hook's answer: ShiftTraffic and Promote (Timeout 180 s) may run
#: two hooks and their own calls (template.yaml); a hook should finish well within it.
INVOKE_TIMEOUT_SECONDS = 60


@cache
def default_client() -> Any:
    """The Lambda client the handlers use, created on first use (so tests can mock first)."""
    return boto3.client("lambda", config=Config(retries={"mode": "standard"}))


@cache
def invoke_client() -> Any:
    """For Invoke: waits INVOKE_TIMEOUT_SECONDS for the answer and never retries by itself (a
    retry would run the hook again and outlast the handler's timeout); throttling is retried by
    the state machine (AwsThrottled)."""
    config = Config(
        read_timeout=INVOKE_TIMEOUT_SECONDS,
        connect_timeout=10,
        retries={"mode": "standard", "total_max_attempts": 1},
    )
    return boto3.client("lambda", config=config)


class LambdaApi:
    def __init__(self, client: Any | None = None) -> None:
        self.client = client if client is not None else default_client()
        self._invoker = client  # None: invoke_client(), created on the first invoke

    def get_alias(self, function_name: str, alias: str) -> AliasState:
        with _translated(f"alias {function_name}:{alias}"):
            response = self.client.get_alias(FunctionName=function_name, Name=alias)
        return _alias_state(response)

    def update_alias(
        self,
        function_name: str,
        alias: str,
        version: str,
        weights: Mapping[str, float],
        revision_id: str,
    ) -> AliasState:
        """Conditional on ``revision_id``: a stale one means someone else changed the alias."""
        with _translated(f"alias {function_name}:{alias}", precondition=AliasChangedOutOfBand):
            response = self.client.update_alias(
                FunctionName=function_name,
                Name=alias,
                FunctionVersion=version,
                RoutingConfig={"AdditionalVersionWeights": dict(weights)},
                RevisionId=revision_id,
            )
        return _alias_state(response)

    def put_alias(self, function_name: str, alias: str, version: str, description: str) -> None:
        """Point ``alias`` wholly at ``version``, creating it if missing (unconditional)."""
        try:
            with _translated(f"alias {function_name}:{alias}"):
                self.client.update_alias(
                    FunctionName=function_name,
                    Name=alias,
                    FunctionVersion=version,
                    RoutingConfig={"AdditionalVersionWeights": {}},
                    Description=description,
                )
        except ResourceNotFound:
            with _translated(f"alias {function_name}:{alias}"):
                self.client.create_alias(
                    FunctionName=function_name,
                    Name=alias,
                    FunctionVersion=version,
                    Description=description,
                )

    def get_function(self, function_name: str, qualifier: str | None = None) -> FunctionState:
        what = f"function {function_name}" + (f" version {qualifier}" if qualifier else "")
        kwargs = {"Qualifier": qualifier} if qualifier else {}
        with _translated(what):
            response = self.client.get_function_configuration(FunctionName=function_name, **kwargs)
        return _function_state(response)

    def event_invoke_config(self, function_name: str, qualifier: str) -> dict[str, Any] | None:
        """GetFunctionEventInvokeConfig of ``function_name:qualifier`` (the alias's own
        asynchronous settings), or None if it has none (Lambda's defaults then apply to it)."""
        try:
            with _translated(f"event invoke config of {function_name}:{qualifier}"):
                response = self.client.get_function_event_invoke_config(
                    FunctionName=function_name, Qualifier=qualifier
                )
        except ResourceNotFound:
            return None
        return {k: v for k, v in response.items() if k != "ResponseMetadata"}

    def list_tags(self, function_name: str) -> dict[str, str]:
        """The function's tags (the opt-in tag lives here)."""
        arn = self.get_function(function_name).arn
        with _translated(f"function {function_name} tags"):
            return dict(self.client.list_tags(Resource=arn).get("Tags") or {})

    def update_code(
        self, function_name: str, bucket: str, key: str, object_version: str | None
    ) -> FunctionState:
        kwargs = {"S3ObjectVersion": object_version} if object_version else {}
        source = f"s3://{bucket}/{key}" + (f"?versionId={object_version}" if object_version else "")
        what = f"function {function_name} code {source}"
        with _translated(what, invalid=_not_a_deployable_zip):
            response = self.client.update_function_code(
                FunctionName=function_name, S3Bucket=bucket, S3Key=key, **kwargs
            )
        return _function_state(response)

    def publish_version(self, function_name: str, code_sha256: str, description: str) -> str:
        """Publish ``$LATEST`` only if its code is still ``code_sha256``; returns the version."""
        with _translated(
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

    def invoke(self, function: str, payload: Mapping[str, Any]) -> Invoked:
        """Invoke ``function`` (``name`` or ``name:qualifier``) synchronously with ``payload``.

        A function that raised is an answer (``function_error`` set), not an exception.
        """
        name, _, qualifier = function.partition(":")
        kwargs = {"Qualifier": qualifier} if qualifier else {}
        try:
            with _translated(f"function {function}"):
                response = (self._invoker or invoke_client()).invoke(
                    FunctionName=name,
                    InvocationType="RequestResponse",
                    Payload=json.dumps(payload).encode(),
                    **kwargs,
                )
                body = response["Payload"].read()
        except ResourceNotFound as error:
            raise InvokeFailed(f"no Lambda function {function}: {error}") from error
        except (ReadTimeoutError, ConnectTimeoutError) as error:
            raise InvokeFailed(
                f"function {function} did not answer within {INVOKE_TIMEOUT_SECONDS} s"
            ) from error
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "AccessDeniedException":
                raise
            raise InvokeFailed(
                f"coalmine may not invoke {function}: {error} (it may invoke only functions "
                "named with its ManagedFunctionPrefix and tagged coalmine:managed=true)"
            ) from error
        return Invoked(
            payload=body.decode("utf-8", errors="replace"),
            function_error=response.get("FunctionError"),
            executed_version=response.get("ExecutedVersion"),
        )


def _not_a_deployable_zip(message: str) -> CoalmineError:
    """UpdateFunctionCode refused the object (not a zip, too big, no such key): bad input."""
    return InvalidInput("code.s3Key", message)


@contextmanager
def _translated(
    what: str,
    precondition: type[CoalmineError] = AliasChangedOutOfBand,
    invalid: Callable[[str], CoalmineError] | None = None,
) -> Iterator[None]:
    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", str(error))
        if code in THROTTLING_CODES:
            raise AwsThrottled(f"Lambda throttled a request on {what}: {message}") from error
        if code == "ResourceConflictException":
            raise FunctionNotReady(f"{what} is being updated: {message}") from error
        if code == "PreconditionFailedException":
            raise precondition(f"{what} changed since coalmine last read it: {message}") from error
        if code == "ResourceNotFoundException":
            raise ResourceNotFound(what, f"{what} not found: {message}") from error
        if code == "InvalidParameterValueException" and invalid is CodeShaMismatch:
            # publish: the expected hash no longer matches $LATEST. AWS spells it "CodeSHA256"
            # in this message ("CodeSHA256 (x) is different from current CodeSHA256 in $LATEST")
            if "codesha256" in message.lower():
                raise CodeShaMismatch(f"{what}: {message}") from error
        elif code == "InvalidParameterValueException" and invalid is not None:
            raise invalid(f"{what}: {message}") from error
        raise


def _alias_state(response: Mapping[str, Any]) -> AliasState:
    routing = response.get("RoutingConfig") or {}
    weights = routing.get("AdditionalVersionWeights") or {}
    return AliasState(
        function_version=str(response["FunctionVersion"]),
        weights={str(v): float(w) for v, w in weights.items()},
        revision_id=str(response.get("RevisionId", "")),
    )


def _function_state(response: Mapping[str, Any]) -> FunctionState:
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


def _unqualified(arn: str) -> str:
    """arn:aws:lambda:r:a:function:name[:qualifier] -> without the qualifier."""
    return ":".join(arn.split(":")[:7])
