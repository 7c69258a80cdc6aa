"""The sample applications a rehearsal can deploy, and what the world around each looks like:
the data its table holds and the requests that reach it (API Gateway for brand-api, object
uploads to the assets bucket for the asynchronous brand-asset-processor)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..resources import EVENTS
from ..sandbox import Sandbox
from .scenario import Traffic
from .traffic import EventFactory, asset_uploads, brand_api_events

BRAND_SEED = EVENTS / "brand-api-seed.json"


@dataclass(frozen=True)
class Sample:
    function_name: str
    alias: str
    prepare: Callable[[Sandbox], None]
    events: Callable[..., EventFactory]  # (sandbox, scenario Traffic or None)
    # asynchronous samples: `send` delivers one generated event (an upload), the queues are the
    # OnSuccess / OnFailure destinations (logical ids), and the drain lets every retry play out
    send: Callable[[Sandbox, dict[str, Any]], None] | None = None
    success_queue: str | None = None
    failure_queue: str | None = None
    drain_seconds: int = 60

    @property
    def asynchronous(self) -> bool:
        return self.send is not None


def _brand_items() -> list[dict]:
    return json.loads(BRAND_SEED.read_text())["items"]


def _seed_brands(sb: Sandbox) -> None:
    table = sb.stack["BrandsTable"]
    dynamodb = sb.client("dynamodb")
    for item in _brand_items():
        dynamodb.put_item(TableName=table, Item=_to_attribute_values(item))


def _to_attribute_values(item: dict) -> dict:
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    return {key: serializer.serialize(value) for key, value in item.items()}


def _brand_events(sb: Sandbox, traffic: Traffic | None = None) -> EventFactory:
    return brand_api_events([item["brandId"] for item in _brand_items()], now=sb.clock.now)


def _asset_events(sb: Sandbox, traffic: Traffic | None = None) -> EventFactory:
    return asset_uploads(traffic.poison_rate if traffic is not None else 0.0)


def _upload(sb: Sandbox, upload: dict[str, Any]) -> None:
    """PutObject: S3 notifies brand-asset-processor:prod asynchronously (the Lambda queue)."""
    sb.client("s3").put_object(
        Bucket=sb.stack["AssetsBucket"], Key=upload["key"], Body=upload["body"]
    )


def _nothing(sb: Sandbox) -> None:
    return None


SAMPLES: dict[str, Sample] = {
    "brand-api": Sample("brand-api", "prod", _seed_brands, _brand_events),
    # Retries take 1 + 2 simulated minutes; the rehearsal also settles the queue before the
    # drain, so the 4 minutes cover CloudWatch's publishing delay with room to spare.
    "asset-processor": Sample(
        "brand-asset-processor",
        "prod",
        _nothing,
        _asset_events,
        send=_upload,
        success_queue="AssetsProcessedQueue",
        failure_queue="AssetsDeadLetterQueue",
        drain_seconds=240,
    ),
}
