"""brand-api-smoke's handler with a stubbed Lambda client: it invokes brand-api:<toVersion>
directly, once per check, and answers SUCCEEDED or FAILED naming the broken check. (The sandbox
runs it against real brand-api versions: tests/sandbox/test_e2e_hooks.py.)"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from brand_api_smoke import app, checks
from events import load_event


@pytest.fixture
def stubber(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    monkeypatch.setenv("TARGET_FUNCTION_NAME", "brand-api")
    monkeypatch.setenv("SMOKE_BRAND_ID", "acme")
    client = boto3.client("lambda", region_name="us-east-1")
    monkeypatch.setattr(app, "lambda_client", lambda: client)
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


def _expect(stub: Stubber, brand_id: str, status: int, error: str | None = None) -> None:
    body = {"statusCode": status, "body": json.dumps({"brandId": brand_id})}
    text = json.dumps({"errorType": "InjectedFault", "errorMessage": "boom"} if error else body)
    response: dict[str, Any] = {
        "StatusCode": 200,
        "ExecutedVersion": "2",
        "Payload": StreamingBody(io.BytesIO(text.encode()), len(text.encode())),
    }
    if error:
        response["FunctionError"] = error
    stub.add_response(
        "invoke", response, {"FunctionName": "brand-api", "Qualifier": "2", "Payload": ANY}
    )


def test_a_healthy_version_passes_both_checks(stubber: Stubber, lambda_context: Any) -> None:
    _expect(stubber, "acme", 200)
    _expect(stubber, checks.MISSING_BRAND, 404)

    answer = app.handler(load_event("brand-api-smoke"), lambda_context)

    assert answer == {
        "status": "SUCCEEDED",
        "checked": ["GET /brands/acme", f"GET /brands/{checks.MISSING_BRAND}"],
    }


def test_a_failing_version_fails_at_the_first_broken_check(
    stubber: Stubber, lambda_context: Any
) -> None:
    _expect(stubber, "acme", 200, error="Unhandled")

    answer = app.handler(load_event("brand-api-smoke"), lambda_context)

    assert answer == {
        "status": "FAILED",
        "reason": "GET /brands/acme on brand-api:2 raised InjectedFault: boom",
    }


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"functionName": "brand-asset-processor"}, "tests brand-api, not 'brand-asset-processor'"),
        ({"toVersion": "$LATEST"}, "toVersion '$LATEST' is not a published version number"),
        ({"toVersion": None}, "toVersion '' is not a published version number"),
    ],
)
def test_it_refuses_to_test_anything_but_a_brand_api_version(
    stubber: Stubber, lambda_context: Any, fields: dict[str, Any], reason: str
) -> None:
    answer = app.handler(load_event("brand-api-smoke") | fields, lambda_context)

    assert answer["status"] == "FAILED"
    assert reason in answer["reason"]
