"""brand-asset-processor's handler against moto S3 and DynamoDB: a valid manifest is stored, a
bad one raises (so Lambda retries it), a duplicate S3 delivery of one upload writes once."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from asset_processor import app, manifest
from events import EVENTS, FakeLambdaContext, load_event

BUCKET = "brand-assets-test"
RESULTS = "asset-results-test"
IDEMPOTENCY = "asset-idempotency-test"
# A request that raises flushes no metric: Powertools warns about that, which is expected here.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv(app.RESULTS_TABLE_ENV, RESULTS)
    monkeypatch.setenv(app.IDEMPOTENCY_TABLE_ENV, IDEMPOTENCY)
    monkeypatch.setenv("FAULT_ERROR_RATE", "0")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_VERSION", "4")
    with mock_aws():
        app._clients.cache_clear()
        app._persistence.cache_clear()
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        dynamodb = boto3.client("dynamodb")
        for table, key in ((RESULTS, "assetKey"), (IDEMPOTENCY, "id")):
            dynamodb.create_table(
                TableName=table,
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            )
        yield s3
        app._clients.cache_clear()
        app._persistence.cache_clear()


def upload(s3: Any, key: str, body: bytes, sequencer: str) -> dict[str, Any]:
    """Put the object; the S3 notification event Lambda would receive for it."""
    version = s3.put_object(Bucket=BUCKET, Key=key, Body=body)["VersionId"]
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": BUCKET, "arn": f"arn:aws:s3:::{BUCKET}"},
                    "object": {
                        "key": key.replace(" ", "+"),
                        "size": len(body),
                        "versionId": version,
                        "sequencer": sequencer,
                    },
                },
            }
        ]
    }


def results() -> list[dict[str, Any]]:
    return boto3.resource("dynamodb").Table(RESULTS).scan()["Items"]


GOOD = (EVENTS / "asset-processor-manifest.json").read_bytes()


def test_a_valid_manifest_is_stored(world: Any) -> None:
    # Given an uploaded manifest (a key with a space, URL-encoded in the event as S3 does)
    event = upload(world, "manifests/acme logo.json", GOOD, "0055AED6DCD90281E5")
    # When the processor handles its notification
    response = app.handler(event, FakeLambdaContext())
    # Then the result is returned and stored, with the version that processed it
    key = f"{BUCKET}/manifests/acme logo.json"
    assert response == {"processed": [{"assetKey": key, "status": "VALID", "brandId": "acme"}]}
    [item] = results()
    assert item["assetKey"] == key
    assert item["brandId"] == "acme"
    assert item["colors"] == ["#FF6600", "#1A1A1A"]
    assert item["executedVersion"] == "4"
    assert item["requestId"] == FakeLambdaContext.aws_request_id


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"\x89PNG\r\n\x1a\n", "UTF-8 JSON"),
        (b"[]", "JSON object"),
        (json.dumps({**json.loads(GOOD), "brandId": "Acme!"}).encode(), "brandId"),
        (json.dumps({**json.loads(GOOD), "colors": ["orange"]}).encode(), "colors[0]"),
        (json.dumps({**json.loads(GOOD), "logo": {"format": "gif"}}).encode(), "logo.format"),
    ],
)
def test_a_bad_manifest_raises_and_stores_nothing(world: Any, body: bytes, field: str) -> None:
    event = upload(world, "manifests/bad.json", body, "0055AED6DCD90281E6")
    with pytest.raises(manifest.InvalidAsset, match=re.escape(field)):
        app.handler(event, FakeLambdaContext())
    assert results() == []


def test_a_failed_attempt_can_be_retried(world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an attempt that failed (an injected fault)
    event = upload(world, "manifests/acme.json", GOOD, "0055AED6DCD90281E7")
    monkeypatch.setenv("FAULT_ERROR_RATE", "1")
    with pytest.raises(RuntimeError, match="injected fault"):
        app.handler(event, FakeLambdaContext())
    # When Lambda retries it with the fault gone
    monkeypatch.setenv("FAULT_ERROR_RATE", "0")
    app.handler(event, FakeLambdaContext(aws_request_id="retry"))
    # Then the retry processed it
    assert [item["requestId"] for item in results()] == ["retry"]


def test_a_duplicate_delivery_writes_one_result(world: Any) -> None:
    # Given one upload delivered twice by S3 (same bucket, key, versionId and sequencer)
    event = upload(world, "manifests/acme.json", GOOD, "0055AED6DCD90281E8")
    first = app.handler(event, FakeLambdaContext(aws_request_id="first"))
    second = app.handler(json.loads(json.dumps(event)), FakeLambdaContext(aws_request_id="dup"))
    # Then the second delivery returns the stored result and writes nothing
    assert second == first
    assert [item["requestId"] for item in results()] == ["first"]


def test_a_new_upload_of_the_same_key_is_processed_again(world: Any) -> None:
    first = upload(world, "manifests/acme.json", GOOD, "0055AED6DCD90281E9")
    app.handler(first, FakeLambdaContext(aws_request_id="first"))
    again = upload(world, "manifests/acme.json", GOOD, "0055AED6DCD90281EA")
    app.handler(again, FakeLambdaContext(aws_request_id="again"))
    assert [item["requestId"] for item in results()] == ["again"]


def test_the_sam_local_invoke_event_is_processed(world: Any) -> None:
    # Given the manifest at the bucket and key events/asset-processor-s3-put.json names
    event = load_event("asset-processor-s3-put")
    s3 = event["Records"][0]["s3"]
    bucket, key = s3["bucket"]["name"], s3["object"]["key"]
    world.create_bucket(Bucket=bucket)
    world.put_object(Bucket=bucket, Key=key, Body=GOOD)
    # When the processor handles the sample event as `sam local invoke -e` would pass it
    response = app.handler(event, FakeLambdaContext())
    # Then the manifest is valid and stored
    assert response == {
        "processed": [{"assetKey": f"{bucket}/{key}", "status": "VALID", "brandId": "acme"}]
    }
    assert s3["object"]["size"] == len(GOOD)
