"""Synthetic traffic (traffic.py): a seeded Poisson process driven by the clock."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from coalmine_sandbox.world.traffic import TrafficGenerator, api_gateway_event, brand_api_events

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def run(gen: TrafficGenerator, seconds: int, step: float = 1.0, start: datetime = T0) -> None:
    """Drive the generator the way the clock does: contiguous steps of at most `step` seconds."""
    t = start
    end = start + timedelta(seconds=seconds)
    while t < end:
        nxt = min(t + timedelta(seconds=step), end)
        gen.on_clock(t, nxt)
        t = nxt


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.times: list[datetime] = []
        self.gen: TrafficGenerator | None = None

    def __call__(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        assert self.gen is not None
        self.times.append(self.gen.current_arrival)  # type: ignore[arg-type]


def generator(rps: float, seed: int = 7) -> tuple[TrafficGenerator, Recorder]:
    rec = Recorder()
    gen = TrafficGenerator(rec, rps, random.Random(seed), lambda rng: {"n": rng.random()})
    rec.gen = gen
    return gen, rec


def test_poisson_count_over_10000_seconds_at_20_rps() -> None:
    gen, rec = generator(20.0)
    run(gen, 10_000)
    expected = 20.0 * 10_000
    # Poisson: sd = sqrt(200,000) ~ 447; 4 sd leaves a fixed-seed run no room to pass by luck
    assert abs(len(rec.events) - expected) < 4 * math.sqrt(expected)
    assert gen.sent == len(rec.events)
    # Poisson, not merely the right mean: per-second counts have variance ~ mean (dispersion 1);
    # a regular 20-per-second stream would have 0, a bursty one far more than 1.
    per_second = [0] * 10_000
    for t in rec.times:
        per_second[int((t - T0).total_seconds())] += 1
    mean = sum(per_second) / len(per_second)
    variance = sum((c - mean) ** 2 for c in per_second) / (len(per_second) - 1)
    assert 0.95 < variance / mean < 1.05


def test_arrivals_are_in_order_and_inside_each_step() -> None:
    gen, _ = generator(50.0)
    t = T0
    last = None
    for step_ms in [1000, 250, 1, 999, 1000, 1000, 3]:
        nxt = t + timedelta(milliseconds=step_ms)
        times = gen.arrivals(t, nxt)
        assert times == sorted(times)
        assert all(t.timestamp() <= a < nxt.timestamp() for a in times)
        if last is not None and times:
            assert times[0] > last
        last = times[-1] if times else last
        t = nxt


def test_invoke_is_called_in_arrival_order_with_the_arrival_time_exposed() -> None:
    gen, rec = generator(30.0)
    run(gen, 60)
    assert rec.times == sorted(rec.times)
    assert all(T0 <= t < T0 + timedelta(seconds=60) for t in rec.times)
    assert gen.current_arrival is None  # only set while a request is being sent


def test_the_same_seed_gives_the_same_traffic_whatever_the_step() -> None:
    a, rec_a = generator(20.0, seed=3)
    b, rec_b = generator(20.0, seed=3)
    c, rec_c = generator(20.0, seed=4)
    run(a, 120, step=1.0)
    run(b, 120, step=0.25)
    run(c, 120)
    assert rec_a.times == rec_b.times
    assert rec_a.events == rec_b.events
    assert rec_a.times != rec_c.times


def test_set_rps_changes_the_rate_and_zero_stops_it() -> None:
    gen, rec = generator(5.0)
    run(gen, 1000)
    first = len(rec.events)
    gen.set_rps(50.0)
    run(gen, 1000, start=T0 + timedelta(seconds=1000))
    second = len(rec.events) - first
    gen.set_rps(0)
    run(gen, 100, start=T0 + timedelta(seconds=2000))
    assert abs(first - 5_000) < 4 * math.sqrt(5_000)
    assert abs(second - 50_000) < 4 * math.sqrt(50_000)
    assert len(rec.events) == first + second
    with pytest.raises(ValueError, match="rps"):
        gen.set_rps(-1)


def test_a_gap_in_clock_calls_sends_nothing_for_the_gap() -> None:
    gen, rec = generator(20.0)
    run(gen, 10)
    run(gen, 10, start=T0 + timedelta(seconds=3600))
    assert all(
        t < T0 + timedelta(seconds=10) or t >= T0 + timedelta(seconds=3600) for t in rec.times
    )


def test_brand_api_events_pick_known_ids_and_a_share_of_unknown_ones() -> None:
    ids = ["acme", "globex", "initech"]
    factory = brand_api_events(ids, unknown_share=0.2, now=lambda: T0)
    rng = random.Random(11)
    events = [factory(rng) for _ in range(10_000)]
    brand_ids = [e["pathParameters"]["brandId"] for e in events]
    unknown = sum(b not in ids for b in brand_ids)
    # binomial(10,000, 0.2): sd = 40
    assert abs(unknown - 2_000) < 160
    assert {b for b in brand_ids if b in ids} == set(ids)
    e = events[0]
    assert e["httpMethod"] == "GET"
    assert e["resource"] == "/brands/{brandId}"
    assert e["path"] == f"/brands/{e['pathParameters']['brandId']}"
    assert e["requestContext"]["requestTimeEpoch"] == int(T0.timestamp() * 1000)
    assert e["requestContext"]["stage"] == "prod"
    assert len({ev["requestContext"]["requestId"] for ev in events}) == len(events)


def test_api_gateway_event_is_a_rest_api_proxy_event_powertools_accepts() -> None:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

    app = APIGatewayRestResolver()

    @app.get("/brands/<brand_id>")
    def get_brand(brand_id: str) -> dict[str, str]:
        return {"brandId": brand_id}

    class Context:
        function_name = "brand-api"
        memory_limit_in_mb = 128
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:brand-api:prod"
        aws_request_id = "req"

    event = api_gateway_event(
        "GET", "/brands/acme", resource="/brands/{brandId}", path_parameters={"brandId": "acme"}
    )
    response = app.resolve(event, Context())
    assert response["statusCode"] == 200
    assert response["body"] == '{"brandId":"acme"}'
