"""The sample applications a rehearsal can deploy, and what the world around each looks like:
the data its table holds and the requests that reach it (API Gateway for brand-api)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .traffic import EventFactory, brand_api_events

if TYPE_CHECKING:
    from .sandbox import Sandbox

REPO = Path(__file__).resolve().parents[2]
BRAND_SEED = REPO / "events" / "brand-api-seed.json"


@dataclass(frozen=True)
class Sample:
    function_name: str
    alias: str
    prepare: Callable[[Sandbox], None]
    events: Callable[[Sandbox], EventFactory]


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


def _brand_events(sb: Sandbox) -> EventFactory:
    return brand_api_events([item["brandId"] for item in _brand_items()], now=sb.clock.now)


SAMPLES: dict[str, Sample] = {
    "brand-api": Sample("brand-api", "prod", _seed_brands, _brand_events),
}
