"""What Lambda's control plane refuses and moto accepts: an alias update with a stale RevisionId
or an invalid RoutingConfig, a PublishVersion whose CodeSha256 is not $LATEST's, any change while
the last update is still InProgress (ResourceConflictException), an UpdateFunctionCode of a
missing bucket, key, object version or a package that is not a zip; and a PublishVersion of
unchanged code and configuration returns the latest version instead of a new one."""

from __future__ import annotations

import base64
import io
import json
import uuid
import zipfile
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

from ..aws.awslambda import routing
from . import lambda_provisioned
from .hooks import active, installed
from .internals import module

UPDATE_IN_PROGRESS = timedelta(seconds=2)  # LastUpdateStatus InProgress after an update
NOT_A_ZIP = "Could not unzip uploaded file. Please check your file, then try to upload again."
_BUSY = "_coalmine_busy_until"


def _alias_update(original: Any) -> Any:
    def update(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.revision_id = str(uuid.uuid4())
        lambda_provisioned.routed(self)  # its provisioned concurrency follows the routing

    return update


def _validated_alias(original: Any, updating: bool) -> Any:
    def handle(self: Any) -> Any:
        params = json.loads(self.body or "{}")
        function_name = unquote(self.path.rsplit("/")[-3 if updating else -2])
        version = params.get("FunctionVersion")
        if updating:
            alias = self.backend.get_alias(unquote(self.path.rsplit("/", 2)[-1]), function_name)
            revision = params.get("RevisionId")
            if revision and revision != alias.revision_id:
                raise _exc().PreconditionFailedException(
                    "The Revision Id provided does not match the latest Revision Id. "
                    "Call the GetAlias API to retrieve the latest Revision Id"
                )
            version = version or alias.function_version
        routing_config = params.get("RoutingConfig")
        problem = routing.routing_problem(version, routing_config)
        if problem is not None:
            raise _exc().LambdaClientError(problem.code, problem.message)
        for extra in routing.additional_weights(routing_config):
            self.backend.get_function(function_name, extra)  # 404 for a missing version
        return original(self)

    return handle


def _publish_response(original: Any) -> Any:
    def publish(self: Any) -> Any:
        function_name = unquote(self.path.split("/")[-2])
        params = json.loads(self.body or "{}")
        latest = self.backend.get_function(function_name)
        _refuse_if_busy(latest)
        expected = params.get("CodeSha256")
        if expected and expected != latest.code_sha_256:
            raise _exc().InvalidParameterValueException(
                f"CodeSHA256 ({expected}) is different from current CodeSHA256 in $LATEST "
                f"({latest.code_sha_256}). Please try again with the CodeSHA256 in $LATEST."
            )
        return original(self)

    return publish


def _refusing_when_busy(original: Any) -> Any:
    def handle(self: Any) -> Any:
        function_name = unquote(self.path.rsplit("/", 2)[-2])
        _refuse_if_busy(self.backend.get_function(function_name))
        return original(self)

    return handle


def _refuse_if_busy(fn: Any) -> None:
    busy_until = getattr(fn, _BUSY, None)
    if busy_until is not None and active().sim_now() < busy_until:
        raise _conflict(
            "The operation cannot be performed at this time. An update is in progress for "
            f"resource: {fn.function_arn}"
        )


def _conflict(message: str) -> Exception:
    error = _exc().LambdaClientError("ResourceConflictException", message)
    error.code = 409
    return error


def _marking_busy(original: Any) -> Any:
    def update(self: Any, *args: Any, **kwargs: Any) -> Any:
        setattr(self, _BUSY, active().sim_now() + UPDATE_IN_PROGRESS)
        return original(self, *args, **kwargs)

    return update


def _configuration(original: Any) -> Any:
    def get(self: Any, on_create: bool = False) -> dict[str, Any]:
        config = original(self, on_create)
        busy_until = getattr(self, _BUSY, None)
        hooks = installed()
        if (
            not on_create
            and str(self.version) == "$LATEST"
            and busy_until is not None
            and hooks is not None
            and hooks.sim_now() < busy_until
        ):
            config["LastUpdateStatus"] = "InProgress"
        return config

    return get


def _publish_storage(original: Any) -> Any:
    def publish(self: Any, name_or_arn: str, description: str = "") -> Any:
        latest = self.get_function_by_name_or_arn_forbid_qualifier(name_or_arn)
        versions = self._functions[latest.function_name]["versions"]
        if versions and _same_config(versions[-1], latest):
            latest.code_or_config_updated = False
            return versions[-1]
        return original(self, name_or_arn, description)

    return publish


def _same_config(version: Any, latest: Any) -> bool:
    fields = ("code_sha_256", "handler", "run_time", "role", "memory_size", "timeout")
    return all(getattr(version, f) == getattr(latest, f) for f in fields) and (
        version.environment_vars == latest.environment_vars and version.layers == latest.layers
    )


def _checked_code(original: Any) -> Any:
    """UpdateFunctionCode refuses what AWS refuses (moto accepts any bytes, and raises a bare
    ValueError for a missing bucket), with AWS's messages; then the busy check."""
    refuse_busy = _refusing_when_busy(original)

    def handle(self: Any) -> Any:
        params = json.loads(self.body or "{}")
        if "ZipFile" in params:
            data = base64.b64decode(params["ZipFile"])
        elif "S3Bucket" in params and "S3Key" in params:
            data = _s3_object(
                active().account_id,
                params["S3Bucket"],
                params["S3Key"],
                params.get("S3ObjectVersion"),
            )
        else:
            return refuse_busy(self)
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise _exc().InvalidParameterValueException(NOT_A_ZIP)
        if params.get("S3ObjectVersion"):
            # moto reads the key's newest object whatever the version asked for; AWS deploys
            # exactly that version: hand moto the bytes of that version instead.
            for name in ("S3Bucket", "S3Key", "S3ObjectVersion"):
                params.pop(name)
            params["ZipFile"] = base64.b64encode(data).decode()
            self.body = json.dumps(params)
        return refuse_busy(self)

    return handle


def _s3_object(account_id: str, bucket: str, key: str, version: str | None) -> bytes:
    s3 = module("moto.s3.models").s3_backends[account_id]["aws"]
    prefix = "Error occurred while GetObject. S3 Error Code: "
    try:
        s3.get_bucket(bucket)
    except Exception:
        raise _exc().InvalidParameterValueException(
            f"{prefix}NoSuchBucket. S3 Error Message: The specified bucket does not exist"
        ) from None
    try:
        found = s3.get_object(bucket, key, version_id=version)
    except Exception:
        found = None
    if found is None:
        what, code = ("version", "NoSuchVersion") if version else ("key", "NoSuchKey")
        raise _exc().InvalidParameterValueException(
            f"{prefix}{code}. S3 Error Message: The specified {what} does not exist."
        )
    return bytes(found.value)


def _exc() -> Any:
    return module("moto.awslambda.exceptions")


FACTORIES: dict[str, Callable[[Any], Any]] = {
    "LambdaFunction.get_configuration": _configuration,
    "LambdaFunction.update_configuration": _marking_busy,
    "LambdaFunction.update_function_code": _marking_busy,
    "LambdaAlias.update": _alias_update,
    "LambdaStorage.publish_version": _publish_storage,
    "LambdaResponse.create_alias": lambda o: _validated_alias(o, updating=False),
    "LambdaResponse.update_alias": lambda o: _validated_alias(o, updating=True),
    "LambdaResponse.publish_version": _publish_response,
    "LambdaResponse.update_function_configuration": _refusing_when_busy,
    "LambdaResponse.update_function_code": _checked_code,
}
