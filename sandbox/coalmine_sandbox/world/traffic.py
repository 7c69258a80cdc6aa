"""Synthetic traffic: a seeded Poisson process of requests hitting an alias, driven by the clock.

`TrafficGenerator.on_clock(t_from, t_to)` is a clock listener: it draws the arrivals in
[t_from, t_to) (exponential gaps at `rps` from a stream seeded by the given `random.Random`, so a
seed gives the same arrivals every run, whatever the clock's step) and calls `invoke(event)` once
per arrival, in order. The arrival time of the request being sent is `current_arrival` (the clock
itself moves in steps of at most 1 s). Counters here are for progress output only; tests count
what the emulated services saw.

`brand_api_events(...)` builds the event factory for brand-api: API Gateway REST API (proxy
integration, payload v1) `GET /brands/{brandId}` requests, a share of them for unknown ids.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

EventFactory = Callable[[random.Random], dict[str, Any]]


class TrafficGenerator:
    def __init__(
        self,
        invoke: Callable[[dict[str, Any]], Any],
        rps: float,
        rng: random.Random,
        event_factory: EventFactory,
    ) -> None:
        if rps < 0:
            raise ValueError(f"rps must be >= 0: {rps}")
        self.invoke = invoke
        self.rps = rps
        self.rng = rng  # for the events
        # arrivals get their own stream (seeded from rng), so they do not depend on how many
        # numbers the event factory draws nor on the clock's step size
        self._arrival_rng = random.Random(rng.getrandbits(64))
        self.event_factory = event_factory
        self.sent = 0
        self.current_arrival: datetime | None = None
        self._next: float | None = None  # epoch seconds of the next arrival, once drawn

    def set_rps(self, rps: float) -> None:
        """Change the rate; the next arrival is redrawn (exact, the process is memoryless)."""
        if rps < 0:
            raise ValueError(f"rps must be >= 0: {rps}")
        self.rps = rps
        self._next = None

    def arrivals(self, t_from: datetime, t_to: datetime) -> list[float]:
        """Draw the arrival times (epoch seconds) in [t_from, t_to), advancing the process."""
        start, end = _ts(t_from), _ts(t_to)
        if self.rps <= 0 or end <= start:
            return []
        if self._next is None or self._next < start:  # first call, new rate, or a gap
            self._next = start + self._arrival_rng.expovariate(self.rps)
        out = []
        while self._next < end:
            out.append(self._next)
            self._next += self._arrival_rng.expovariate(self.rps)
        return out

    def on_clock(self, t_from: datetime, t_to: datetime) -> None:
        for t in self.arrivals(t_from, t_to):
            self.current_arrival = datetime.fromtimestamp(t, UTC)
            self.invoke(self.event_factory(self.rng))
            self.sent += 1
        self.current_arrival = None


def _ts(t: datetime) -> float:
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()


def brand_api_events(
    brand_ids: Sequence[str],
    *,
    unknown_share: float = 0.05,
    unknown_pool: int = 20,
    now: Callable[[], datetime] | None = None,
    stage: str = "prod",
) -> EventFactory:
    """A factory of `GET /brands/{brandId}` events: a known id with probability
    1 - unknown_share, else an id no table holds (the API answers 404)."""
    if not brand_ids:
        raise ValueError("brand_ids must not be empty")
    if not 0 <= unknown_share <= 1:
        raise ValueError(f"unknown_share must be within 0..1: {unknown_share}")

    def factory(rng: random.Random) -> dict[str, Any]:
        if rng.random() < unknown_share:
            # Clients that ask for a missing brand ask again: a small pool of unknown ids.
            brand_id = f"unknown-{rng.randrange(unknown_pool):03d}"
        else:
            brand_id = brand_ids[rng.randrange(len(brand_ids))]
        return api_gateway_event(
            "GET",
            f"/brands/{brand_id}",
            resource="/brands/{brandId}",
            path_parameters={"brandId": brand_id},
            request_id=f"{rng.getrandbits(128):032x}",
            time=(now() if now else datetime.now(UTC)),
            stage=stage,
        )

    return factory


def api_gateway_event(
    method: str,
    path: str,
    *,
    resource: str,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: str | None = None,
    request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    time: datetime | None = None,
    stage: str = "prod",
) -> dict[str, Any]:
    """An API Gateway REST API proxy-integration event (payload format 1.0)."""
    t = time or datetime.now(UTC)
    rid = request_id
    if len(rid) == 32:
        rid = f"{rid[:8]}-{rid[8:12]}-{rid[12:16]}-{rid[16:20]}-{rid[20:]}"
    headers = {
        "Accept": "application/json",
        "Host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "coalmine-sandbox-traffic",
        "X-Forwarded-For": "198.51.100.7",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "resourceId": "a1b2c3",
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "protocol": "HTTP/1.1",
            "domainName": headers["Host"],
            "domainPrefix": "abcdef1234",
            "extendedRequestId": rid[:16],
            "requestId": rid,
            "requestTime": t.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(t.timestamp() * 1000),
            "identity": {
                "sourceIp": "198.51.100.7",
                "userAgent": headers["User-Agent"],
                "accountId": None,
                "caller": None,
                "user": None,
                "userArn": None,
                "apiKey": None,
                "accessKey": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
            },
            "authorizer": None,
        },
        "body": body,
        "isBase64Encoded": False,
    }


GOOD_MANIFEST = {
    "brandId": "acme",
    "name": "Acme Corp",
    "logo": {"format": "svg", "width": 512, "height": 512},
    "colors": ["#FF6600", "#1A1A1A"],
}
POISON = (  # bad objects the asset processor must reject (each fails every attempt)
    b'{"brandId": "acme", "name": "Acme',  # truncated JSON
    b'{"name": "No Brand", "logo": {"format": "svg", "width": 64, "height": 64}}',
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",  # an image where a manifest belongs
)


def asset_uploads(poison_rate: float) -> Callable[[random.Random], dict[str, Any]]:
    """A factory of uploads `{"key", "body"}` to manifests/: a bad object with probability
    `poison_rate`, else a valid brand asset manifest (a random brand and palette)."""
    if not 0 <= poison_rate <= 1:
        raise ValueError(f"poison_rate must be within 0..1: {poison_rate}")
    import json

    def factory(rng: random.Random) -> dict[str, Any]:
        key = f"manifests/{rng.getrandbits(64):016x}.json"
        if rng.random() < poison_rate:
            return {"key": key, "body": POISON[rng.randrange(len(POISON))], "poison": True}
        doc = {
            **GOOD_MANIFEST,
            "brandId": f"brand-{rng.randrange(500):03d}",
            "colors": [f"#{rng.getrandbits(24):06X}" for _ in range(1 + rng.randrange(4))],
        }
        return {"key": key, "body": json.dumps(doc).encode(), "poison": False}

    return factory
