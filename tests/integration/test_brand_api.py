"""brand-api handler against a moto DynamoDB table: lookups, the two fault knobs, the cache."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import sample_faults as faults
import time_machine
from moto import mock_aws

from brand_api import app, cache
from events import FakeLambdaContext, load_event

TABLE = "brands-test"
# A request that raises flushes no metric: Powertools warns about that, which is expected here.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


def get_event(brand_id: str) -> dict[str, Any]:
    event = load_event("brand-api-get")
    event["path"] = f"/brands/{brand_id}"
    event["pathParameters"] = {"brandId": brand_id}
    return event


@pytest.fixture(autouse=True)
def fresh_brand_cache() -> Iterator[None]:
    """`app.brand_cache` lives as long as the module: no test may see another's lookups."""
    app.brand_cache.clear()
    yield
    app.brand_cache.clear()


@pytest.fixture
def brand_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "POWERTOOLS_SERVICE_NAME": "brand-api",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "TABLE_NAME": TABLE,
        "FAULT_ERROR_RATE": "0",
        "FAULT_LATENCY_MS": "0",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def table(brand_env: None) -> Iterator[Any]:
    """The brands table, seeded from events/brand-api-seed.json."""
    app.brands_table.cache_clear()
    with mock_aws():
        created = boto3.resource("dynamodb").create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "brandId", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "brandId", "KeyType": "HASH"}],
        )
        for item in load_event("brand-api-seed")["items"]:
            created.put_item(Item=item)
        yield created
    app.brands_table.cache_clear()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record time.sleep calls instead of sleeping."""
    calls: list[float] = []
    monkeypatch.setattr(time, "sleep", calls.append)
    return calls


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """The JSON log lines the handler writes (Powertools binds its stream at import)."""
    stream = io.StringIO()
    monkeypatch.setattr(app.logger.registered_handler, "stream", stream)
    return stream


def log_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


def invoke(brand_id: str, version: str = "7") -> dict[str, Any]:
    return app.handler(get_event(brand_id), FakeLambdaContext(function_version=version))


def test_known_brand_returns_200_with_the_brand(table: Any) -> None:
    response = invoke("acme")

    assert response["statusCode"] == 200
    # The REST event carries multiValueHeaders, so the response answers in kind.
    assert response["multiValueHeaders"]["Content-Type"] == ["application/json"]
    body = json.loads(response["body"])
    assert body["brandId"] == "acme"
    assert body["name"] == "Acme Corporation"
    assert body["founded"] == 1949  # a DynamoDB number comes back as a JSON int


def test_unknown_brand_returns_404_json(table: Any) -> None:
    response = invoke("no-such-brand")

    assert response["statusCode"] == 404
    assert json.loads(response["body"]) == {
        "message": "brand not found",
        "brandId": "no-such-brand",
    }


def test_every_seed_brand_is_served(table: Any) -> None:
    for item in load_event("brand-api-seed")["items"]:
        assert invoke(item["brandId"])["statusCode"] == 200


def test_logs_and_metrics_carry_the_executed_version(
    table: Any, logs: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    invoke("acme", version="12")

    lookups = [line for line in log_lines(logs) if line["message"] == "brand lookup"]
    assert len(lookups) == 1
    assert lookups[0]["function_version"] == "12"
    assert lookups[0]["outcome"] == "found"
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    emf = [line for line in printed if "_aws" in line]
    assert len(emf) == 1, printed
    assert emf[0]["BrandLookup"] in (1.0, [1.0])
    assert emf[0]["FunctionVersion"] == "12"
    assert emf[0]["Outcome"] == "found"


def test_the_not_found_knob_answers_an_existing_brand_not_found_and_counts_it(
    table: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A business regression: no error, no latency, only the BrandLookup{Outcome=not_found} count
    monkeypatch.setenv("FAULT_NOT_FOUND_RATE", "1")
    response = invoke("acme", version="9")
    assert response["statusCode"] == 404
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    (emf,) = [line for line in printed if "_aws" in line]
    assert (emf["FunctionVersion"], emf["Outcome"]) == ("9", "not_found")
    monkeypatch.setenv("FAULT_NOT_FOUND_RATE", "0")
    assert invoke("acme")["statusCode"] == 200


def test_error_rate_one_raises_an_unhandled_error(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAULT_ERROR_RATE", "1.0")

    with pytest.raises(faults.InjectedFault):
        invoke("acme")


@pytest.mark.parametrize(("draw", "fails"), [(0.29, True), (0.31, False)])
def test_error_rate_is_a_share_of_requests(
    table: Any, monkeypatch: pytest.MonkeyPatch, draw: float, fails: bool
) -> None:
    monkeypatch.setenv("FAULT_ERROR_RATE", "0.3")
    monkeypatch.setattr(faults.random, "random", lambda: draw)

    if fails:
        with pytest.raises(faults.InjectedFault):
            invoke("acme")
    else:
        assert invoke("acme")["statusCode"] == 200


def test_latency_knob_sleeps_the_given_milliseconds(
    table: Any, monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    monkeypatch.setenv("FAULT_LATENCY_MS", "250")

    response = invoke("acme")

    assert response["statusCode"] == 200
    assert sleeps == [pytest.approx(0.25)]


def test_knobs_are_read_on_every_request(
    table: Any, monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    invoke("acme")
    monkeypatch.setenv("FAULT_LATENCY_MS", "1500")
    invoke("acme")
    monkeypatch.setenv("FAULT_ERROR_RATE", "1")

    with pytest.raises(faults.InjectedFault):
        invoke("acme")
    assert sleeps == [pytest.approx(1.5), pytest.approx(1.5)]


@pytest.mark.parametrize(
    ("knob", "value"),
    [
        ("FAULT_ERROR_RATE", "lots"),
        ("FAULT_ERROR_RATE", "1.5"),
        ("FAULT_ERROR_RATE", "-0.1"),
        ("FAULT_ERROR_RATE", "nan"),
        ("FAULT_LATENCY_MS", "-5"),
        ("FAULT_LATENCY_MS", "slow"),
    ],
)
def test_invalid_knob_is_warned_about_and_ignored(
    table: Any,
    monkeypatch: pytest.MonkeyPatch,
    sleeps: list[float],
    logs: io.StringIO,
    knob: str,
    value: str,
) -> None:
    monkeypatch.setenv(knob, value)

    response = invoke("acme")

    assert response["statusCode"] == 200
    assert sleeps == []
    warnings = [
        line for line in log_lines(logs) if line["message"] == "ignoring invalid fault knob"
    ]
    assert len(warnings) == 1
    assert warnings[0]["level"] == "WARNING"
    assert warnings[0]["knob"] == knob


# The cache (brand_api/cache.py) is documented to serve what it read for BRAND_CACHE_TTL_SECONDS:
# a change in the table shows up only once the entry has expired, misses included.
@pytest.mark.parametrize(
    ("brand_id", "change", "before", "after"),
    [
        (
            "acme",
            {"brandId": "acme", "name": "Acme Rebranded"},
            (200, "Acme Corporation"),
            (200, "Acme Rebranded"),
        ),
        ("newco", {"brandId": "newco", "name": "New Co"}, (404, None), (200, "New Co")),
    ],
    ids=["updated item", "item created after a 404"],
)
def test_a_change_is_served_stale_within_the_ttl_and_fresh_after(
    table: Any,
    monkeypatch: pytest.MonkeyPatch,
    brand_id: str,
    change: dict[str, Any],
    before: tuple[int, str | None],
    after: tuple[int, str | None],
) -> None:
    monkeypatch.setenv(cache.TTL_ENV, "60")

    def served() -> tuple[int, str | None]:
        response = invoke(brand_id)
        return response["statusCode"], json.loads(response["body"]).get("name")

    with time_machine.travel(1_700_000_000, tick=False) as clock:
        # Given the brand was read once
        assert served() == before
        # When the table changes
        table.put_item(Item=change)
        # Then the cached answer is served until the TTL runs out
        clock.shift(59)
        assert served() == before
        # And the table's answer after it
        clock.shift(1)
        assert served() == after


def test_ttl_zero_serves_every_change_at_once(table: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.TTL_ENV, "0")
    assert json.loads(invoke("acme")["body"])["name"] == "Acme Corporation"
    table.put_item(Item={"brandId": "acme", "name": "Acme Rebranded"})
    assert json.loads(invoke("acme")["body"])["name"] == "Acme Rebranded"
