"""brand-orders: the team's function (any code; coalmine only moves its alias)."""

from __future__ import annotations

from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": f"orders, version {context.function_version}"}
