"""The smoke test's requests and what brand-api's answers must be (pure: app.py invokes).

Each check is one API Gateway REST proxy request (the shape of events/brand-api-get.json) sent
straight to the version under test, and the answer brand-api's contract promises:

    GET /brands/<SMOKE_BRAND_ID>   200, a JSON brand with that brandId (skipped if unset)
    GET /brands/<MISSING_BRAND>    404, JSON {"message", "brandId"}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MISSING_BRAND = "coalmine-smoke-no-such-brand"


@dataclass(frozen=True)
class Check:
    brand_id: str
    status: int

    @property
    def name(self) -> str:
        return f"GET /brands/{self.brand_id}"


@dataclass(frozen=True)
class Answer:
    """What Invoke returned: the payload text, FunctionError and the version that ran."""

    payload: str
    function_error: str | None = None
    executed_version: str | None = None


def checks(found_brand: str | None) -> list[Check]:
    """A brand the table holds (if one is named) must be found; a made-up one must not."""
    found = [Check(found_brand, 200)] if found_brand else []
    return [*found, Check(MISSING_BRAND, 404)]


def request(brand_id: str, request_id: str) -> dict[str, Any]:
    """``GET /brands/{brandId}`` as API Gateway's REST proxy integration sends it."""
    headers = {"Accept": "application/json", "User-Agent": "brand-api-smoke"}
    return {
        "resource": "/brands/{brandId}",
        "path": f"/brands/{brand_id}",
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"brandId": brand_id},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/brands/{brandId}",
            "httpMethod": "GET",
            "path": f"/Prod/brands/{brand_id}",
            "stage": "Prod",
            "requestId": request_id,
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "brand-api-smoke"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


def problem(check: Check, target: str, version: str, answer: Answer) -> str | None:
    """Why ``answer`` breaks brand-api's contract for ``check`` (None: it keeps it)."""
    where = f"{check.name} on {target}:{version}"
    if answer.function_error:
        return f"{where} raised {_error(answer.payload)}"
    if answer.executed_version not in (None, version):
        return f"{where} ran version {answer.executed_version}, not {version}"
    response = _json(answer.payload)
    if not isinstance(response, dict) or "statusCode" not in response:
        return f"{where} answered without a statusCode: {answer.payload[:200]!r}"
    if response["statusCode"] != check.status:
        return f"{where} answered {response['statusCode']}, expected {check.status}"
    body = _json(response.get("body") or "")
    if not isinstance(body, dict) or body.get("brandId") != check.brand_id:
        return f"{where} answered a body without brandId {check.brand_id!r}"
    return None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _error(payload: str) -> str:
    error = _json(payload)
    if isinstance(error, dict):
        return f"{error.get('errorType', 'an error')}: {error.get('errorMessage', '(no message)')}"
    return f"an error: {payload[:200]!r}"
