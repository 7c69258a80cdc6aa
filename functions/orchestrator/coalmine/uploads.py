"""Pure: an upload (S3 "Object Created" event as EventBridge delivers it) -> the deployment's
`code`, or InvalidInput naming the problem.

The upload rule passes the event whole (`"upload": <aws.events.event.json>`): EventBridge does
not escape a value it inserts into a JSON string, so splicing the key into the input template
would let a key holding a double quote inject fields (say `strategy`) and a backslash make the
input invalid JSON. Here the key is read as data: bucket, key and version come from the event's
detail; the key must be `deployments/<function>/<name>` with `<function>` the deployment's
function (given as `functionName`, else taken from the key) and the bucket the artifact bucket.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from coalmine import preflight, upload_policy
from coalmine.exceptions import InvalidInput

UPLOAD_FIELD = "upload"
PREFIX = "deployments/"
EVENT_SOURCE = "aws.s3"
EVENT_TYPE = "Object Created"


class PolicyReader(Protocol):
    """Where an upload's policy is read (adapters/artifact_bucket.UploadPolicyReader)."""

    def metadata(self, bucket: str, key: str, version: str | None) -> Mapping[str, str]: ...
    def tags(self, function_name: str) -> Mapping[str, str]: ...
    def text(self, bucket: str, key: str) -> str | None:
        """The object's text (its latest version), None if there is none."""
        ...


def with_upload_as_code(
    request: dict[str, Any], artifact_bucket: str | None, policy: PolicyReader | None = None
) -> dict[str, Any]:
    """The request with its `upload` replaced by `code` (and `functionName` from the key if it
    has none) and, given a reader, the upload's policy (coalmine/upload_policy.py) filled in; a
    request without `upload` is returned as it is."""
    if UPLOAD_FIELD not in request:
        return request
    out = {k: v for k, v in request.items() if k != UPLOAD_FIELD}
    if "code" in out or "targetVersion" in out:
        raise InvalidInput(UPLOAD_FIELD, "give an upload, code or targetVersion, not several")
    bucket, key, version = _object(request[UPLOAD_FIELD])
    function = function_of_key(key, f"{UPLOAD_FIELD}.detail.object.key")
    named = out.setdefault("functionName", function)
    if named != function:
        raise InvalidInput(
            f"{UPLOAD_FIELD}.detail.object.key",
            f"{key!r} is not under {PREFIX}{named}/: an upload deploys the function its key names",
        )
    if artifact_bucket is not None and bucket != artifact_bucket:
        raise InvalidInput(
            f"{UPLOAD_FIELD}.detail.bucket.name",
            f"{bucket!r} is not coalmine's artifact bucket ({artifact_bucket})",
        )
    code = {"s3Bucket": bucket, "s3Key": key}
    out["code"] = code | ({"s3ObjectVersion": version} if version is not None else {})
    if policy is None:
        return out
    tags = policy.tags(function)  # (an untagged function is refused before its upload is read)
    preflight.check_opted_in(function, tags)
    metadata = policy.metadata(bucket, key, version)
    document_key = upload_policy.policy_key(key)
    document_url = f"s3://{bucket}/{document_key}"
    text = policy.text(bucket, document_key)
    document = None if text is None else upload_policy.parse_policy_object(text, document_url)
    return upload_policy.with_policy(
        out, metadata, tags, f"s3://{bucket}/{key}", function, document, document_url
    )


def check_code(function_name: str, bucket: str, key: str, artifact_bucket: str | None) -> None:
    """`code` given to StartExecution directly is held to the upload's rules: the artifact
    bucket, a key under deployments/<functionName>/ (write access to that prefix is the right to
    deploy the function). No artifact bucket known (no ARTIFACT_BUCKET_NAME): no check."""
    if artifact_bucket is None:
        return
    if bucket != artifact_bucket:
        raise InvalidInput(
            "code.s3Bucket", f"{bucket!r} is not coalmine's artifact bucket ({artifact_bucket})"
        )
    if function_of_key(key, "code.s3Key") != function_name:
        raise InvalidInput(
            "code.s3Key",
            f"{key!r} is not under {PREFIX}{function_name}/: code deploys from its function's "
            "prefix only",
        )


def function_of_key(key: str, field: str) -> str:
    """`deployments/<function>/<name>` -> `<function>` (a Lambda function name), else
    InvalidInput(field)."""
    parts = key.split("/", 2)
    if len(parts) != 3 or parts[0] + "/" != PREFIX or not parts[2]:
        raise InvalidInput(field, f"{key!r} is not {PREFIX}<function>/<name>")
    function = parts[1]
    if not function or len(function) > 64 or not all(_name_char(c) for c in function):
        raise InvalidInput(field, f"{function!r} in {key!r} is not a Lambda function name")
    return function


def _name_char(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char in "-_")


def _object(event: Any) -> tuple[str, str, str | None]:
    """(bucket, key, version id or None) of an S3 Object Created event."""
    if not isinstance(event, dict):
        raise InvalidInput(UPLOAD_FIELD, "must be an S3 Object Created event (an object)")
    if event.get("source") != EVENT_SOURCE or event.get("detail-type") != EVENT_TYPE:
        raise InvalidInput(
            UPLOAD_FIELD,
            f"must be an S3 {EVENT_TYPE!r} event (source {EVENT_SOURCE!r}), "
            f"not {event.get('source')!r} / {event.get('detail-type')!r}",
        )
    detail = event.get("detail")
    detail = detail if isinstance(detail, dict) else {}
    bucket = (detail.get("bucket") if isinstance(detail.get("bucket"), dict) else {}) or {}
    obj = (detail.get("object") if isinstance(detail.get("object"), dict) else {}) or {}
    name, key, version = bucket.get("name"), obj.get("key"), obj.get("version-id")
    if not isinstance(name, str) or not name:
        raise InvalidInput(f"{UPLOAD_FIELD}.detail.bucket.name", "missing: not an S3 event")
    if not isinstance(key, str) or not key:
        raise InvalidInput(f"{UPLOAD_FIELD}.detail.object.key", "missing: not an S3 event")
    if version is not None and (not isinstance(version, str) or not version):
        raise InvalidInput(f"{UPLOAD_FIELD}.detail.object.version-id", "must be a string")
    return name, key, version
