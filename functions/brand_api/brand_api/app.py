"""brand-api handler: ``GET /brands/{brandId}`` reads one brand from the DynamoDB table.

Every log line carries ``function_version`` (``context.function_version``), so a canary's logs
show which version served each request; the ``BrandLookup`` metric (EMF) carries it as the
``FunctionVersion`` dimension next to ``Outcome`` (found / not_found), so a deployment can judge
brands not found per version (``analysis.metrics``, docs/business-metrics.md).
"""

from __future__ import annotations

import functools
import os
from decimal import Decimal
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from sample_faults import FaultKnobs, inject, read_knobs

from brand_api import cache

TABLE_NAME_ENV = "TABLE_NAME"
# The template sets POWERTOOLS_METRICS_NAMESPACE; the fallback keeps a flush from failing when the
# module is imported before the function's environment is in place (tests, the sandbox).
METRICS_NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "coalmine-samples"

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE)
app = APIGatewayRestResolver()
brand_cache = cache.TtlCache()


@functools.lru_cache(maxsize=8)
def brands_table(table_name: str) -> Any:
    """The DynamoDB Table, created on first use (never at import, so moto can start later)."""
    return boto3.resource("dynamodb").Table(table_name)


@tracer.capture_method
def get_brand(brand_id: str) -> dict[str, Any] | None:
    table_name = os.environ[TABLE_NAME_ENV]
    return brand_cache.get_or_load(
        (table_name, brand_id), cache.ttl_seconds(), lambda: _read_brand(table_name, brand_id)
    )


def _read_brand(table_name: str, brand_id: str) -> dict[str, Any] | None:
    found = brands_table(table_name).get_item(Key={"brandId": brand_id}).get("Item")
    return None if found is None else _plain(found)


@app.get("/brands/<brand_id>")
def read_brand(brand_id: str) -> Response:
    knobs = app.context.get("knobs")
    missed = isinstance(knobs, FaultKnobs) and knobs.misses()
    brand = None if missed else get_brand(brand_id)
    outcome = "found" if brand is not None else "not_found"
    metrics.add_dimension(name="Outcome", value=outcome)
    metrics.add_metric(name="BrandLookup", unit=MetricUnit.Count, value=1)
    logger.info("brand lookup", extra={"brand_id": brand_id, "outcome": outcome})
    if brand is None:
        return _json(404, {"message": "brand not found", "brandId": brand_id})
    return _json(200, brand)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(function_version=context.function_version)
    metrics.add_dimension(name="FunctionVersion", value=context.function_version)
    # Knobs are read per request: each published version carries its own environment.
    knobs = read_knobs()
    inject(knobs)
    app.append_context(knobs=knobs)
    return app.resolve(event, context)


def _json(status_code: int, body: dict[str, Any]) -> Response:
    return Response(status_code=status_code, content_type=content_types.APPLICATION_JSON, body=body)


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal: make them JSON ints/floats."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
