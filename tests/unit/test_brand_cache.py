"""brand-api's per-environment TTL cache: hits, expiry, ttl 0, the LRU bound, cached misses."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import time_machine

from brand_api import cache
from brand_api.cache import DEFAULT_TTL_SECONDS, TTL_ENV, TtlCache

T0 = 1_700_000_000.0


@dataclass(frozen=True)
class Get:
    """Look ``key`` up; ``loads`` says whether the loader had to run (a miss) or not (a hit)."""

    key: str
    loads: bool


@dataclass(frozen=True)
class Wait:
    seconds: float


@dataclass(frozen=True)
class Case:
    id: str
    ttl: float
    steps: list[Get | Wait]
    max_entries: int = cache.MAX_ENTRIES


CASES = [
    Case("hit within the TTL", 60, [Get("acme", True), Wait(59.9), Get("acme", False)]),
    Case("expired at the TTL", 60, [Get("acme", True), Wait(60), Get("acme", True)]),
    Case(
        "expired after the TTL, then cached again",
        60,
        [Get("acme", True), Wait(61), Get("acme", True), Wait(30), Get("acme", False)],
    ),
    Case(
        "a hit does not extend the TTL",
        10,
        [Get("a", True), Wait(9), Get("a", False), Wait(1), Get("a", True)],
    ),
    Case("ttl 0 disables the cache", 0, [Get("acme", True), Get("acme", True)]),
    Case("keys are cached independently", 60, [Get("a", True), Get("b", True), Get("a", False)]),
    Case(
        "the least recently used entry goes first",
        60,
        # a is read again after b, so c evicts b, not a
        [
            Get("a", True),
            Get("b", True),
            Get("a", False),
            Get("c", True),
            Get("a", False),
            Get("c", False),
            Get("b", True),
        ],
        max_entries=2,
    ),
    Case("a miss (None) is cached", 60, [Get("missing", True), Get("missing", False)]),
    Case(
        "a cached miss expires too",
        60,
        [Get("missing", True), Wait(60), Get("missing", True)],
    ),
]


@dataclass
class Loader:
    """Loads ``key`` as ``"key#n"`` (n-th load of it), or None for keys starting with 'missing'."""

    loads: list[str] = field(default_factory=list)

    def __call__(self, key: str) -> Any:
        self.loads.append(key)
        if key.startswith("missing"):
            return None
        return f"{key}#{self.loads.count(key)}"


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_cache(case: Case, clock: Any) -> None:
    ttl_cache = TtlCache(max_entries=case.max_entries)
    loader = Loader()
    served: dict[str, Any] = {}
    for number, step in enumerate(case.steps):
        if isinstance(step, Wait):
            clock.shift(step.seconds)
            continue
        loaded_before = len(loader.loads)
        value = ttl_cache.get_or_load(step.key, case.ttl, lambda key=step.key: loader(key))
        loaded = len(loader.loads) > loaded_before
        assert loaded == step.loads, f"step {number} ({step}): loaded={loaded}"
        if not loaded:  # a hit serves exactly what the last load returned
            assert value == served[step.key], f"step {number} ({step})"
        served[step.key] = value


def test_the_bound_holds(clock: Any) -> None:
    ttl_cache = TtlCache(max_entries=3)
    for key in range(10):
        ttl_cache.get_or_load(key, 60, lambda key=key: key)
    assert len(ttl_cache._entries) == 3
    assert list(ttl_cache._entries) == [7, 8, 9]


def test_clear_forgets_everything(clock: Any) -> None:
    ttl_cache, loader = TtlCache(), Loader()
    ttl_cache.get_or_load("a", 60, lambda: loader("a"))
    ttl_cache.clear()
    ttl_cache.get_or_load("a", 60, lambda: loader("a"))
    assert loader.loads == ["a", "a"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, DEFAULT_TTL_SECONDS),
        ("", DEFAULT_TTL_SECONDS),
        ("30", 30.0),
        ("0.5", 0.5),
        ("0", 0.0),
        ("soon", DEFAULT_TTL_SECONDS),
        ("-5", DEFAULT_TTL_SECONDS),
        ("nan", DEFAULT_TTL_SECONDS),
        ("inf", DEFAULT_TTL_SECONDS),
    ],
)
def test_ttl_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, raw: str | None, expected: float
) -> None:
    if raw is None:
        monkeypatch.delenv(TTL_ENV, raising=False)
    else:
        monkeypatch.setenv(TTL_ENV, raw)
    assert cache.ttl_seconds() == expected
    assert DEFAULT_TTL_SECONDS == 60
