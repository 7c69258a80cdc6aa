"""The brand asset manifest: a JSON document describing one brand's logo and palette.

    {"brandId": "acme", "name": "Acme Corp",
     "logo": {"format": "svg", "width": 512, "height": 512},
     "colors": ["#FF6600", "#1A1A1A"]}

``validate(data)`` checks the bytes (UTF-8 JSON object, required fields, types and ranges) and
returns the normalised summary the processor stores; anything else raises ``InvalidAsset``, whose
message names the first offending field.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

MAX_BYTES = 256 * 1024
BRAND_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
FORMATS = frozenset({"svg", "png"})
MIN_SIDE, MAX_SIDE = 16, 8192
MAX_COLORS = 16


class InvalidAsset(ValueError):
    """The object is not a valid brand asset manifest (Lambda retries it, then the DLQ)."""


def validate(data: bytes) -> dict[str, Any]:
    if len(data) > MAX_BYTES:
        raise InvalidAsset(f"manifest is {len(data)} bytes; at most {MAX_BYTES}")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidAsset(f"not a UTF-8 JSON document: {error}") from error
    if not isinstance(doc, dict):
        raise InvalidAsset("manifest must be a JSON object")
    brand_id = _string(doc, "brandId", 63)
    if not BRAND_ID.match(brand_id):
        raise InvalidAsset(f"brandId: {brand_id!r} is not lowercase letters, digits and '-'")
    name = _string(doc, "name", 200)
    logo = doc.get("logo")
    if not isinstance(logo, dict):
        raise InvalidAsset("logo: required object {format, width, height}")
    if logo.get("format") not in FORMATS:
        raise InvalidAsset(f"logo.format: one of {sorted(FORMATS)}")
    sides = [logo.get("width"), logo.get("height")]
    for side, value in zip(("width", "height"), sides, strict=True):
        if type(value) is not int or not MIN_SIDE <= value <= MAX_SIDE:
            raise InvalidAsset(f"logo.{side}: an integer {MIN_SIDE}..{MAX_SIDE}")
    colors = doc.get("colors")
    if not isinstance(colors, list) or not 1 <= len(colors) <= MAX_COLORS:
        raise InvalidAsset(f"colors: a list of 1..{MAX_COLORS} colours")
    for index, color in enumerate(colors):
        if not isinstance(color, str) or not COLOR.match(color):
            raise InvalidAsset(f"colors[{index}]: {color!r} is not #RRGGBB")
    return {
        "brandId": brand_id,
        "name": name,
        "logoFormat": logo["format"],
        "logoWidth": logo["width"],
        "logoHeight": logo["height"],
        "colors": [c.upper() for c in colors],
        "sizeBytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def _string(doc: dict[str, Any], field: str, max_length: int) -> str:
    value = doc.get(field)
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= max_length:
        raise InvalidAsset(f"{field}: required string of 1..{max_length} characters")
    return value.strip()
