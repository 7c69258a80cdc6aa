"""Pure: the async target's retry window, its settings and the async gates (async_gates.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from coalmine import async_gates
from coalmine.async_gates import AsyncPeriod
from coalmine.models import AnalysisConfig, AsyncTarget, Verdict

DLQ = "arn:aws:sqs:us-east-1:123456789012:assets-dlq"
DONE = "arn:aws:sqs:us-east-1:123456789012:assets-done"
TARGET = AsyncTarget(maximum_event_age_in_seconds=3600, on_success=DONE, on_failure=DLQ)


@pytest.mark.parametrize(
    ("retries", "window"),
    [
        (0, 120),  # no retry: the attempt's own minute closes and is published
        (1, 60 + 120),  # one retry a minute later
        (2, 60 + 120 + 120),  # the default: retries 1 and 2 minutes apart
    ],
)
def test_the_retry_window_is_the_retry_delays_plus_the_metrics_lag(
    retries: int, window: int
) -> None:
    assert async_gates.retry_window_seconds(retries) == window


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (None, AsyncTarget(configured=False)),  # no config on the alias: Lambda's defaults
        ({}, AsyncTarget()),
        (
            {
                "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:f:prod",
                "MaximumRetryAttempts": 1,
                "MaximumEventAgeInSeconds": 600,
                "DestinationConfig": {
                    "OnSuccess": {"Destination": DONE},
                    "OnFailure": {"Destination": DLQ},
                },
            },
            AsyncTarget(
                maximum_retry_attempts=1,
                maximum_event_age_in_seconds=600,
                on_success=DONE,
                on_failure=DLQ,
            ),
        ),
        (
            {"MaximumRetryAttempts": 0, "DestinationConfig": {"OnSuccess": {}, "OnFailure": {}}},
            AsyncTarget(maximum_retry_attempts=0),
        ),
    ],
)
def test_the_target_from_get_function_event_invoke_config(
    config: dict[str, Any] | None, expected: AsyncTarget
) -> None:
    assert async_gates.target_from_config(config) == expected


def _cfg(**fields: Any) -> AnalysisConfig:
    return AnalysisConfig.model_validate(fields)


# ----------------------------------------------------------------------------- event-age
@pytest.mark.parametrize(
    ("ages_ms", "cfg", "verdict", "limit"),
    [
        ([], {}, Verdict.PASS, 1800),  # nothing attempted yet
        ([None, 61_000.0, 181_000.0], {}, Verdict.PASS, 1800),  # retries: 1 and 3 minutes old
        ([181_000.0, 1_800_000.0], {}, Verdict.PASS, 1800),  # at the limit is not over it
        ([181_000.0, 1_800_001.0], {}, Verdict.FAIL, 1800),  # default: half of 3600 s
        ([200_000.0], {"maxEventAgeSeconds": 190}, Verdict.FAIL, 190),
        ([200_000.0], {"maxEventAgeSeconds": 3000}, Verdict.PASS, 3000),
    ],
)
def test_event_age(
    ages_ms: list[float | None], cfg: dict[str, Any], verdict: Verdict, limit: int
) -> None:
    periods = [AsyncPeriod(received=10, dropped=1, max_age_ms=age) for age in ages_ms]

    result = async_gates.event_age_gate(periods, _cfg(**cfg), TARGET)

    assert (result.gate, result.verdict) == ("event-age", verdict)
    assert result.evidence["limitSeconds"] == limit
    assert result.evidence["asyncEventsReceived"] == 10 * len(ages_ms)
    assert result.evidence["maxEventAgeMs"] == max((a for a in ages_ms if a), default=None)


def test_event_age_defaults_to_half_the_maximum_event_age_of_lambdas_defaults() -> None:
    assert async_gates.event_age_limit_seconds(_cfg(), AsyncTarget(configured=False)) == 10_800


def test_a_failing_event_age_says_why() -> None:
    periods = [AsyncPeriod(received=5, max_age_ms=2_000_000.0)]
    result = async_gates.event_age_gate(periods, _cfg(), TARGET)
    assert result.reason == (
        "an event waited 2000 s in the async queue (limit 1800 s): events are backing up and "
        "expire after 3600 s"
    )


# ----------------------------------------------------------------------------- dropped-events
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def _minutes(received: list[float], dropped: list[float]) -> list[AsyncPeriod]:
    """One period per minute from T0 (drops trail receptions by the retry delays)."""
    return [
        AsyncPeriod(at=T0 + timedelta(minutes=i), received=r, dropped=d)
        for i, (r, d) in enumerate(zip(received, dropped, strict=True))
    ]


@pytest.mark.parametrize(
    ("retries", "received", "dropped", "compared"),
    [
        (2, [], [], (0, 0)),
        # 2 retries (D = 3 min): receptions of minutes 0..2 of 6, drops of minutes 3..5
        (2, [10, 10, 10, 10, 10, 10], [9, 9, 9, 3, 3, 3], (30, 9)),
        # drops of minutes 0..2 are of events received before the step: left out
        (2, [10, 10, 10, 10, 10], [50, 50, 50, 1, 1], (20, 2)),
        # 1 retry (D = 1 min): receptions of minutes 0..4, drops of minutes 1..5
        (1, [10, 10, 10, 10, 10, 10], [1, 2, 3, 4, 5, 6], (50, 20)),
        # no retry: the same minutes
        (0, [10, 10, 10], [1, 2, 3], (30, 6)),
    ],
)
def test_drops_are_compared_with_the_events_they_can_come_from(
    retries: int, received: list[float], dropped: list[float], compared: tuple[float, float]
) -> None:
    assert async_gates.aligned_drops(_minutes(received, dropped), retries) == compared


def test_dropped_events_is_off_without_a_limit() -> None:
    periods = _minutes([100] * 6, [90] * 6)
    assert async_gates.dropped_events_gate(periods, _cfg(), TARGET, 0.001) is None


@pytest.mark.parametrize(
    ("per_minute", "dropped", "verdict"),
    [
        (0, 0, Verdict.PASS),  # no events: no evidence
        (100, 30, Verdict.PASS),  # the poison rate the limit allows for
        (100, 33, Verdict.PASS),  # a little above it: not proven
        (100, 45, Verdict.FAIL),  # far above it
        (1, 1, Verdict.PASS),  # every event dropped, but too few to prove it at alpha 0.001
        (100, 150, Verdict.FAIL),  # more drops than receptions compared: capped at them
    ],
)
def test_dropped_events_against_the_limit(
    per_minute: float, dropped: float, verdict: Verdict
) -> None:
    # 10 minutes: receptions of minutes 0..6 compared with drops of minutes 3..9
    periods = _minutes([per_minute] * 10, [dropped] * 10)

    result = async_gates.dropped_events_gate(periods, _cfg(maxDroppedEventRate=0.3), TARGET, 0.001)

    assert result is not None
    assert (result.gate, result.verdict) == ("dropped-events", verdict)
    assert result.evidence["eventsCompared"] == per_minute * 7
    assert result.evidence["rejectAt"] == 1000


# ----------------------------------------------------------------------------- destination-delivery
@pytest.mark.parametrize(
    ("failures", "dead_letter", "cfg", "verdict"),
    [
        (0, 0, {}, Verdict.PASS),
        (1, 0, {}, Verdict.FAIL),  # default 0: any undelivered record is an event lost
        (0, 2, {}, Verdict.FAIL),  # DeadLetterErrors count too
        (3, 0, {"maxDestinationDeliveryFailures": 3}, Verdict.PASS),
        (3, 1, {"maxDestinationDeliveryFailures": 3}, Verdict.FAIL),
    ],
)
def test_destination_delivery(
    failures: int, dead_letter: int, cfg: dict[str, Any], verdict: Verdict
) -> None:
    periods = [AsyncPeriod(delivery_failures=failures, dead_letter_errors=dead_letter)]

    result = async_gates.destination_delivery_gate(periods, _cfg(**cfg), TARGET)

    assert result is not None
    assert (result.gate, result.verdict) == ("destination-delivery", verdict)
    assert result.evidence["onFailure"] == DLQ


def test_destination_delivery_can_be_switched_off() -> None:
    periods = [AsyncPeriod(delivery_failures=5)]
    cfg = _cfg(maxDestinationDeliveryFailures=None)
    assert async_gates.destination_delivery_gate(periods, cfg, TARGET) is None


# ----------------------------------------------------------------------------- together
def test_evaluate_runs_the_gates_that_are_on() -> None:
    periods = [AsyncPeriod(at=T0, received=100, dropped=30, max_age_ms=181_000.0)]

    default = async_gates.evaluate(periods, _cfg(), TARGET, 0.0)
    everything = async_gates.evaluate(periods, _cfg(maxDroppedEventRate=0.5), TARGET, 0.001)

    assert [g.gate for g in default] == ["event-age", "destination-delivery"]
    assert [g.gate for g in everything] == ["event-age", "dropped-events", "destination-delivery"]
    assert all(g.verdict == Verdict.PASS for g in everything)


@pytest.mark.parametrize(
    ("fields", "version_rate", "dropped_alpha"),
    [
        ({}, 0.01, 0.0),  # dropped-events off: the version gates keep the whole rate
        ({"maxDroppedEventRate": 0.3}, 0.009, 0.001),
        ({"maxDroppedEventRate": 0.3, "falseRollbackRate": 0.05}, 0.045, 0.005),
    ],
)
def test_the_dropped_events_test_takes_a_share_of_the_false_rollback_rate(
    fields: dict[str, Any], version_rate: float, dropped_alpha: float
) -> None:
    cfg = _cfg(**fields)

    version_cfg, alpha = async_gates.split_false_rollback_rate(cfg)

    assert version_cfg.false_rollback_rate == pytest.approx(version_rate)
    assert alpha == pytest.approx(dropped_alpha)
    assert version_cfg.false_rollback_rate + alpha == pytest.approx(cfg.false_rollback_rate)
