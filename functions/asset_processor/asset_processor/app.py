"""brand-asset-processor handler: S3 ``ObjectCreated`` -> validate the manifest -> result item.

Invoked asynchronously (S3 -> the ``prod`` alias): a bad manifest raises, so Lambda retries it
(``MaximumRetryAttempts``) and then sends the event to the OnFailure queue; a good one is stored
in the results table and its summary returned (the OnSuccess record's ``responsePayload``).

S3 delivers at least once: the result is written under Powertools Idempotency, keyed on
bucket + key + versionId + sequencer (one upload), so a duplicate delivery returns the stored
result without writing again; a failed attempt leaves no idempotency record, so retries run.
Validation (read + check the bytes, no side effect) runs before, on every attempt.
"""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from sample_faults import inject, read_knobs

from asset_processor import manifest

RESULTS_TABLE_ENV = "RESULTS_TABLE_NAME"
IDEMPOTENCY_TABLE_ENV = "IDEMPOTENCY_TABLE_NAME"
METRICS_NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "coalmine-samples"
# One day: S3's duplicate deliveries come within minutes; Lambda's retries within MaximumEventAge.
IDEMPOTENCY = IdempotencyConfig(expires_after_seconds=24 * 3600)

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE)


@functools.lru_cache(maxsize=4)
def _persistence(table_name: str) -> DynamoDBPersistenceLayer:
    """Created on first use (never at import, so moto can start later)."""
    return DynamoDBPersistenceLayer(table_name=table_name)


@functools.lru_cache(maxsize=4)
def _clients() -> tuple[Any, Any]:
    return boto3.client("s3"), boto3.resource("dynamodb")


@tracer.capture_method
def validate(upload: dict[str, Any]) -> dict[str, Any]:
    """Read and validate one uploaded manifest (no side effect); InvalidAsset on a bad one."""
    s3, _ = _clients()
    extra = {"VersionId": upload["versionId"]} if upload.get("versionId") else {}
    body = s3.get_object(Bucket=upload["bucket"], Key=upload["key"], **extra)["Body"].read()
    try:
        return manifest.validate(body)
    except manifest.InvalidAsset:
        metrics.add_metric(name="AssetsRejected", unit=MetricUnit.Count, value=1)
        raise


@tracer.capture_method
def store(upload: dict[str, Any], summary: dict[str, Any], request_id: str) -> dict[str, Any]:
    """Write the result item (the side effect idempotency guards); return the summary."""
    _, dynamodb = _clients()
    asset_key = f"{upload['bucket']}/{upload['key']}"
    item = {
        "assetKey": asset_key,
        "status": "VALID",
        **summary,
        "versionId": upload.get("versionId") or "null",
        "sequencer": upload.get("sequencer") or "",
        "executedVersion": os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        "requestId": request_id,  # the invocation that wrote it (a duplicate writes nothing)
        "processedAt": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }
    dynamodb.Table(os.environ[RESULTS_TABLE_ENV]).put_item(Item=item)
    metrics.add_metric(name="AssetsProcessed", unit=MetricUnit.Count, value=1)
    logger.info("asset processed", extra={"asset_key": asset_key, "brand_id": summary["brandId"]})
    return {"assetKey": asset_key, "status": "VALID", "brandId": summary["brandId"]}


def uploads(event: dict[str, Any]) -> list[dict[str, Any]]:
    """One idempotency payload per S3 record: what identifies an upload, nothing else."""
    found = []
    for record in event.get("Records", []):
        s3 = record["s3"]
        found.append(
            {
                "bucket": s3["bucket"]["name"],
                "key": unquote_plus(s3["object"]["key"]),
                "versionId": s3["object"].get("versionId"),
                "sequencer": s3["object"].get("sequencer"),
            }
        )
    return found


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(function_version=context.function_version)
    metrics.add_dimension(name="FunctionVersion", value=context.function_version)
    # Knobs are read per request: each published version carries its own environment.
    inject(read_knobs())
    IDEMPOTENCY.register_lambda_context(context)
    once = idempotent_function(
        data_keyword_argument="upload",
        persistence_store=_persistence(os.environ[IDEMPOTENCY_TABLE_ENV]),
        config=IDEMPOTENCY,
    )(store)
    # Validate first (pure, retried freely), then write at most once per upload.
    results = []
    for upload in uploads(event):
        summary = validate(upload)
        results.append(once(upload=upload, summary=summary, request_id=context.aws_request_id))
    return {"processed": results}
