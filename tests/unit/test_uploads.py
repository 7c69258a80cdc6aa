"""An upload (the S3 Object Created event, passed whole by the upload rule) -> `code`: the key is
data, never JSON; keys outside deployments/<function>/ and other buckets are refused, naming the
field (coalmine/uploads.py through validation.parse_request)."""

from __future__ import annotations

from typing import Any

import pytest

from coalmine.exceptions import InvalidInput
from coalmine.validation import parse_request

BUCKET = "coalmine-artifacts"


def _event(key: str, bucket: str = BUCKET, version: str | None = "v1") -> dict[str, Any]:
    obj: dict[str, Any] = {"key": key, "size": 10}
    if version is not None:
        obj["version-id"] = version
    return {
        "version": "0",
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": bucket}, "object": obj},
    }


@pytest.mark.parametrize(
    "key",
    [
        "deployments/brand-api/build-42.zip",
        'deployments/brand-api/x.zip", "strategy": "AllAtOnce", "z": "',
        'deployments/brand-api/x"}, "analysis": {"dryRun": true}}',
        "deployments/brand-api/back\\slash\\.zip",
        "deployments/brand-api/x\\",
        "deployments/brand-api/ünïcødé-☃-build.zip",
        "deployments/brand-api/nested/dir/build.zip",
    ],
)
def test_an_upload_becomes_code_and_nothing_else(key: str) -> None:
    # When the upload rule's input names an upload whose key holds quotes, backslashes, unicode
    parsed = parse_request({"upload": _event(key)}, BUCKET)
    # Then the key is the object's key, verbatim, and nothing else was injected
    assert parsed.function_name == "brand-api"
    assert parsed.code is not None
    assert (parsed.code.s3_bucket, parsed.code.s3_key) == (BUCKET, key)
    assert parsed.code.s3_object_version == "v1"
    assert parsed.strategy == "Canary10Percent5Minutes"
    assert parsed.analysis.dry_run is False


def test_the_rules_own_fields_are_kept() -> None:
    request = {"functionName": "brand-api", "analysis": {"alarms": ["a"]}}
    parsed = parse_request({**request, "upload": _event("deployments/brand-api/b.zip")}, BUCKET)
    assert parsed.analysis.alarms == ["a"]
    assert parsed.function_name == "brand-api"


def test_an_unversioned_bucket_gives_no_version() -> None:
    parsed = parse_request({"upload": _event("deployments/f/b.zip", version=None)}, BUCKET)
    assert parsed.code is not None
    assert parsed.code.s3_object_version is None


@pytest.mark.parametrize(
    ("request_", "field", "words"),
    [
        ({"upload": _event("other/brand-api/b.zip")}, "upload.detail.object.key", "deployments/"),
        ({"upload": _event("deployments/b.zip")}, "upload.detail.object.key", "deployments/"),
        ({"upload": _event("deployments/brand-api/")}, "upload.detail.object.key", "deployments/"),
        (
            {"upload": _event('deployments/a"b/x.zip')},
            "upload.detail.object.key",
            "not a Lambda function name",
        ),
        (
            {"upload": _event("deployments/é/x.zip")},
            "upload.detail.object.key",
            "not a Lambda function name",
        ),
        (
            {"functionName": "brand-api", "upload": _event("deployments/other/b.zip")},
            "upload.detail.object.key",
            "not under deployments/brand-api/",
        ),
        (
            {"upload": _event("deployments/f/b.zip", bucket="someone-elses")},
            "upload.detail.bucket.name",
            "artifact bucket",
        ),
        (
            {"upload": _event("deployments/f/b.zip"), "code": {"s3Bucket": BUCKET, "s3Key": "k"}},
            "upload",
            "not several",
        ),
        ({"upload": {**_event("deployments/f/b.zip"), "source": "me"}}, "upload", "aws.s3"),
        ({"upload": "deployments/f/b.zip"}, "upload", "an object"),
        ({"upload": {**_event("deployments/f/b.zip"), "detail": {}}}, "upload.detail", "missing"),
    ],
    ids=[
        "outside deployments",
        "no function",
        "no name",
        "quote in the function",
        "unicode function",
        "another function",
        "another bucket",
        "upload and code",
        "not S3",
        "not an event",
        "no detail",
    ],
)
def test_a_bad_upload_fails_naming_the_field(
    request_: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_request(request_, BUCKET)
    assert raised.value.field.startswith(field), raised.value
    assert words in raised.value.problem


@pytest.mark.parametrize(
    ("code", "field", "words"),
    [
        ({"s3Bucket": "someone-elses", "s3Key": "deployments/brand-api/b.zip"}, "code.s3Bucket",
         "artifact bucket"),
        ({"s3Bucket": BUCKET, "s3Key": "staging/brand-api.zip"}, "code.s3Key", "deployments/"),
        ({"s3Bucket": BUCKET, "s3Key": "deployments/other/b.zip"}, "code.s3Key",
         "not under deployments/brand-api/"),
    ],
    ids=["another bucket", "outside deployments", "another function's prefix"],
)  # fmt: skip
def test_code_given_directly_is_held_to_the_same_rules(
    code: dict[str, str], field: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_request({"functionName": "brand-api", "code": code}, BUCKET)
    assert raised.value.field == field, raised.value
    assert words in raised.value.problem


def test_code_under_its_functions_prefix_is_accepted() -> None:
    code = {"s3Bucket": BUCKET, "s3Key": "deployments/brand-api/build-7"}
    parsed = parse_request({"functionName": "brand-api", "code": code}, BUCKET)
    assert parsed.code is not None
    assert parsed.code.s3_key == "deployments/brand-api/build-7"


class _Reader:
    def __init__(self, metadata: dict[str, str], tags: dict[str, str]) -> None:
        self.read: list[tuple[str, str, str | None]] = []
        self._metadata, self._tags = metadata, tags

    def metadata(self, bucket: str, key: str, version: str | None) -> dict[str, str]:
        self.read.append((bucket, key, version))
        return self._metadata

    def text(self, bucket: str, key: str) -> str | None:
        self.read.append((bucket, key, "text"))
        return self.document

    document: str | None = None

    def tags(self, function_name: str) -> dict[str, str]:
        assert function_name == "brand-api"
        return {"coalmine:managed": "true", **self._tags}


def test_an_uploads_policy_is_read_from_its_object_and_its_functions_tags() -> None:
    reader = _Reader({"coalmine-strategy": "AllAtOnce"}, {"coalmine:alarms": "tagged"})
    key = "deployments/brand-api/b.zip"
    request = {"upload": _event(key), "analysis": {"alarms": ["rule"]}}
    parsed = parse_request(request, BUCKET, reader)
    assert reader.read == [
        (BUCKET, key, "v1"),
        (BUCKET, "deployments/brand-api/coalmine.json", "text"),
    ]
    assert parsed.strategy == "AllAtOnce"
    assert parsed.analysis.alarms == ["rule", "tagged"]


def test_a_bad_policy_fails_naming_the_field_and_the_object() -> None:
    reader = _Reader({"coalmine-strategy": "Yolo"}, {})
    with pytest.raises(InvalidInput) as raised:
        parse_request({"upload": _event("deployments/brand-api/b.zip")}, BUCKET, reader)
    assert raised.value.field == (
        f"coalmine-strategy (metadata of s3://{BUCKET}/deployments/brand-api/b.zip)"
    )


def test_code_given_directly_reads_no_policy() -> None:
    reader = _Reader({"coalmine-strategy": "AllAtOnce"}, {})
    code = {"s3Bucket": BUCKET, "s3Key": "deployments/brand-api/b.zip"}
    parsed = parse_request({"functionName": "brand-api", "code": code}, BUCKET, reader)
    assert reader.read == []
    assert parsed.strategy == "Canary10Percent5Minutes"


def test_an_upload_for_a_function_that_is_not_opted_in_is_refused_before_its_policy_is_read() -> (
    None
):
    reader = _Reader({"coalmine-strategy": "Yolo"}, {})
    reader.tags = lambda function_name: {"team": "b"}  # type: ignore[method-assign]
    with pytest.raises(InvalidInput) as raised:
        parse_request({"upload": _event("deployments/brand-api/b.zip")}, BUCKET, reader)
    assert raised.value.field == "functionName"
    assert "not opted in" in raised.value.problem
    assert reader.read == []  # (its metadata was never read)


def test_the_policy_object_next_to_the_zip_comes_after_the_metadata_and_before_the_tags() -> None:
    reader = _Reader({"coalmine-alarms": "meta"}, {"coalmine:strategy": "Canary10Percent5Minutes"})
    reader.document = (
        '{"strategy": "AllAtOnce", "alias": "live", '
        '"analysis": {"alarms": ["doc"], "watchSeconds": 60}}'
    )
    parsed = parse_request({"upload": _event("deployments/brand-api/b.zip")}, BUCKET, reader)
    assert parsed.strategy == "AllAtOnce"
    assert parsed.alias == "live"
    assert parsed.analysis.alarms == ["meta", "doc"]
    assert parsed.analysis.watch_seconds == 60


def test_a_policy_object_that_is_not_json_fails_naming_the_object() -> None:
    reader = _Reader({}, {})
    reader.document = "strategy: AllAtOnce"
    with pytest.raises(InvalidInput) as raised:
        parse_request({"upload": _event("deployments/brand-api/b.zip")}, BUCKET, reader)
    assert (
        raised.value.field == f"coalmine.json (s3://{BUCKET}/deployments/brand-api/coalmine.json)"
    )
    assert raised.value.problem.startswith("not JSON")
