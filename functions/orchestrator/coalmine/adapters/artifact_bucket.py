"""The artifact bucket (ARTIFACT_BUCKET_NAME, set by template.yaml on Prepare): an upload's bucket
must be it (coalmine/uploads.py), and an upload's policy is read from its object's metadata
(HeadObject) and its function's tags (coalmine/upload_policy.py). No name set: no bucket check."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from coalmine.exceptions import InvalidInput, ResourceNotFound
from coalmine.upload_policy import MAX_POLICY_BYTES, POLICY_OBJECT

BUCKET_ENV = "ARTIFACT_BUCKET_NAME"


class LambdaReader(Protocol):
    def list_tags(self, function_name: str) -> dict[str, str]: ...


def artifact_bucket_name() -> str | None:
    return os.environ.get(BUCKET_ENV) or None


@cache
def default_client() -> Any:  # no mypy-boto3-s3 stubs in the dev set
    return boto3.client("s3", config=Config(retries={"mode": "standard"}))


class UploadPolicyReader:
    """What coalmine/uploads.py's PolicyReader reads: object metadata and function tags."""

    def __init__(self, lambda_api: LambdaReader, client: Any = None) -> None:
        self.lambda_api = lambda_api
        self.client = client if client is not None else default_client()

    def metadata(self, bucket: str, key: str, version: str | None) -> Mapping[str, str]:
        kwargs = {"Bucket": bucket, "Key": key} | ({"VersionId": version} if version else {})
        try:
            return dict(self.client.head_object(**kwargs).get("Metadata") or {})
        except ClientError as error:
            problem = error.response.get("Error", {}).get("Code", "error")
            raise InvalidInput(
                "upload.detail.object.key", f"s3://{bucket}/{key} cannot be read ({problem})"
            ) from None

    def text(self, bucket: str, key: str) -> str | None:
        """A policy object's text (coalmine.json); None if there is none."""
        try:
            answer = self.client.get_object(Bucket=bucket, Key=key)
        except ClientError as error:
            problem = error.response.get("Error", {}).get("Code", "error")
            if problem in ("NoSuchKey", "404"):
                return None
            raise InvalidInput(
                f"{POLICY_OBJECT} (s3://{bucket}/{key})", f"cannot be read ({problem})"
            ) from None
        body = answer["Body"].read(MAX_POLICY_BYTES + 1)
        if len(body) > MAX_POLICY_BYTES:
            raise InvalidInput(
                f"{POLICY_OBJECT} (s3://{bucket}/{key})",
                f"larger than {MAX_POLICY_BYTES} bytes",
            )
        try:
            return str(body.decode("utf-8"))
        except UnicodeDecodeError:
            raise InvalidInput(
                f"{POLICY_OBJECT} (s3://{bucket}/{key})", "not JSON: not UTF-8 text"
            ) from None

    def tags(self, function_name: str) -> Mapping[str, str]:
        try:
            return self.lambda_api.list_tags(function_name)
        except ResourceNotFound:
            raise InvalidInput(
                "functionName",
                f"no Lambda function named {function_name!r} (the function its key names: "
                f"deployments/{function_name}/)",
            ) from None


def upload_context(lambda_api: LambdaReader) -> tuple[str | None, UploadPolicyReader]:
    """validation.parse_request's artifact bucket and policy reader."""
    return artifact_bucket_name(), UploadPolicyReader(lambda_api)
