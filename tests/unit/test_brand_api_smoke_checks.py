"""brand-api-smoke's checks (pure): the requests it sends and how brand-api's answers are judged."""

from __future__ import annotations

import json
from typing import Any

import pytest

from brand_api_smoke import checks
from events import load_event

FOUND = checks.Check("acme", 200)
MISSING = checks.Check(checks.MISSING_BRAND, 404)


def _answer(status: int, body: Any, version: str = "3", error: str | None = None) -> checks.Answer:
    response = {"statusCode": status, "body": body if isinstance(body, str) else json.dumps(body)}
    return checks.Answer(json.dumps(response), error, version)


def test_the_checks_find_a_known_brand_and_miss_a_made_up_one() -> None:
    assert checks.checks("acme") == [FOUND, MISSING]
    assert checks.checks(None) == [MISSING]


def test_a_request_has_the_shape_of_the_shared_api_gateway_event() -> None:
    shared = load_event("brand-api-get")

    request = checks.request("acme", "req-1")

    assert set(request) == set(shared)
    for field in ("resource", "path", "httpMethod", "pathParameters", "body", "isBase64Encoded"):
        assert request[field] == shared[field], field
    assert set(request["requestContext"]) <= set(shared["requestContext"])


@pytest.mark.parametrize(
    ("check", "answer", "problem"),
    [
        (FOUND, _answer(200, {"brandId": "acme", "name": "Acme"}), None),
        (MISSING, _answer(404, {"message": "brand not found", "brandId": MISSING.brand_id}), None),
        (FOUND, _answer(404, {"brandId": "acme"}), "GET /brands/acme on brand-api:3 answered 404"),
        (MISSING, _answer(200, {"brandId": MISSING.brand_id}), "answered 200, expected 404"),
        (FOUND, _answer(200, "<html>"), "answered a body without brandId 'acme'"),
        (FOUND, _answer(200, {"brandId": "globex"}), "without brandId 'acme'"),
        (FOUND, _answer(200, {"brandId": "acme"}, version="2"), "ran version 2, not 3"),
        (FOUND, checks.Answer("[]", None, "3"), "answered without a statusCode"),
        (FOUND, checks.Answer("oops", None, "3"), "answered without a statusCode"),
        (
            FOUND,
            checks.Answer('{"errorType": "InjectedFault", "errorMessage": "boom"}', "Unhandled"),
            "GET /brands/acme on brand-api:3 raised InjectedFault: boom",
        ),
        (FOUND, checks.Answer("Task timed out", "Unhandled"), "raised an error: 'Task timed out'"),
    ],
)
def test_an_answer_keeps_or_breaks_the_contract(
    check: checks.Check, answer: checks.Answer, problem: str | None
) -> None:
    found = checks.problem(check, "brand-api", "3", answer)

    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found
