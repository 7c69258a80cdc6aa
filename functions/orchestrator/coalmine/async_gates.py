"""Pure: what an asynchronous target adds to the analysis (no boto3).

An alias invoked asynchronously (S3, SNS, EventBridge, ``InvocationType=Event``) has Lambda's
queue in front of it: each attempt of an event is a fresh invocation routed by the alias's
weights, a failed attempt is retried (``MaximumRetryAttempts`` 0-2: 1 min, then 2 min later),
and an event whose attempts all failed, or that waited longer than ``MaximumEventAgeInSeconds``,
is dropped (sent to the OnFailure destination / DLQ first, if there is one).

What coalmine watches, besides the version gates (gates.py):

- **Failures that only show after retries**: the ``errors`` gate counts every attempt under the
  version that ran it (Invocations/Errors by ``ExecutedVersion``), so a candidate whose failures
  a retry on the old version hides is still compared attempt by attempt. Every DLQ / OnFailure
  record's last attempt is an Errors datapoint of the version that ran it, so DLQ arrivals
  attributable to the new version are in that comparison too (per-version DLQ counts are not a
  CloudWatch metric, and coalmine never reads the team's DLQ).
- **The last bake** before promotion lasts at least ``retry_window_seconds``: the events the new
  version failed at the start of the step have had every retry, and their metrics are readable,
  before the step can pass.
- The alias's queue (CloudWatch has no per-version async metrics, so these are limits on the
  alias, read with the same single GetMetricData request, ``metric_queries.async_queries``):
  ``event-age`` (AsyncEventAge maximum <= ``maxEventAgeSeconds``, default half the alias's
  MaximumEventAgeInSeconds: events backing up will soon expire), ``dropped-events``
  (AsyncEventsDropped / AsyncEventsReceived <= ``maxDroppedEventRate``, anytime-valid; off unless
  set: a poison rate is the team's to know) and ``destination-delivery``
  (DestinationDeliveryFailures + DeadLetterErrors <= ``maxDestinationDeliveryFailures``, default
  0: records that cannot be delivered are events lost).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from coalmine.models import AnalysisConfig, AsyncTarget, GateResult, Verdict
from coalmine.sequential import RateTest, threshold

#: Lambda's waits before the retries of a failed asynchronous invocation (AWS Lambda Developer
#: Guide, "Error handling and automatic retries": one minute, then two).
RETRY_DELAYS_SECONDS: tuple[int, ...] = (60, 120)
#: From an attempt to its datapoint being readable: the minute it falls in must end (<= 60 s)
#: and CloudWatch publishes Lambda's minute about a minute later (the lag the sandbox models).
METRICS_LAG_SECONDS = 120
#: The share of ``falseRollbackRate`` the ``dropped-events`` test gets when it is on (the version
#: gates split the rest): Bonferroni holds for any split.
DROPPED_EVENTS_ALPHA_SHARE = 0.1
DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 2
DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 21_600


@dataclass(frozen=True)
class AsyncPeriod:
    """The alias's queue in one metric period (a minute starting ``at``): events received and
    dropped, the oldest event's age at its attempt (ms, None without a datapoint), records not
    delivered."""

    at: datetime | None = None
    received: float = 0
    dropped: float = 0
    max_age_ms: float | None = None
    delivery_failures: float = 0  # DestinationDeliveryFailures
    dead_letter_errors: float = 0  # DeadLetterErrors (a DeadLetterConfig queue)


# ----------------------------------------------------------------------------- the target
def target_from_config(config: Mapping[str, Any] | None) -> AsyncTarget:
    """An ``AsyncTarget`` from a GetFunctionEventInvokeConfig response; None: the alias has no
    config of its own, so Lambda's defaults (2 retries, 6 hours, no destinations) apply."""
    if config is None:
        return AsyncTarget(configured=False)
    destinations = config.get("DestinationConfig") or {}
    return AsyncTarget(
        maximum_retry_attempts=int(
            config.get("MaximumRetryAttempts", DEFAULT_MAXIMUM_RETRY_ATTEMPTS)
        ),
        maximum_event_age_in_seconds=int(
            config.get("MaximumEventAgeInSeconds", DEFAULT_MAXIMUM_EVENT_AGE_SECONDS)
        ),
        on_success=(destinations.get("OnSuccess") or {}).get("Destination") or None,
        on_failure=(destinations.get("OnFailure") or {}).get("Destination") or None,
    )


def retry_window_seconds(maximum_retry_attempts: int) -> int:
    """How long after an event's first attempt its last retry has run and its metrics (the
    attempt's Errors, the drop) are readable: the retry delays plus ``METRICS_LAG_SECONDS``.

    ``MaximumEventAgeInSeconds`` (>= 60 s) cannot end it sooner: an event too old for its next
    attempt is dropped when that attempt comes due, within the same delays. Retries of throttled
    events (up to the maximum age, with back-off) are not waited for: ``event-age`` watches them.
    """
    retries = max(0, min(maximum_retry_attempts, len(RETRY_DELAYS_SECONDS)))
    return sum(RETRY_DELAYS_SECONDS[:retries]) + METRICS_LAG_SECONDS


def event_age_limit_seconds(cfg: AnalysisConfig, target: AsyncTarget) -> int:
    """``maxEventAgeSeconds``, or half the alias's MaximumEventAgeInSeconds."""
    if cfg.max_event_age_seconds is not None:
        return cfg.max_event_age_seconds
    return target.maximum_event_age_in_seconds // 2


def split_false_rollback_rate(cfg: AnalysisConfig) -> tuple[AnalysisConfig, float]:
    """(the config the version gates run with, the ``dropped-events`` test's alpha): with
    ``maxDroppedEventRate`` set, that test takes ``DROPPED_EVENTS_ALPHA_SHARE`` of the
    false-rollback rate and the version gates split the rest, so the total stays within it. The
    share is kept whether or not the target turns out to be asynchronous."""
    if cfg.max_dropped_event_rate is None:
        return cfg, 0.0
    share = cfg.false_rollback_rate * DROPPED_EVENTS_ALPHA_SHARE
    rest = cfg.model_copy(update={"false_rollback_rate": cfg.false_rollback_rate - share})
    return rest, share


# ----------------------------------------------------------------------------- gates
def _result(gate: str, verdict: Verdict, reason: str, **evidence: Any) -> GateResult:
    return GateResult(gate=gate, verdict=verdict, reason=reason, evidence=evidence)


def _sum(periods: Sequence[AsyncPeriod], field: str) -> float:
    return float(sum(getattr(p, field) for p in periods))


def event_age_gate(
    periods: Sequence[AsyncPeriod], cfg: AnalysisConfig, target: AsyncTarget
) -> GateResult:
    """FAIL once an event waited in the queue longer than the limit before an attempt."""
    limit = event_age_limit_seconds(cfg, target)
    oldest = max((p.max_age_ms for p in periods if p.max_age_ms is not None), default=None)
    received, dropped = _sum(periods, "received"), _sum(periods, "dropped")
    ev = {"maxEventAgeMs": oldest, "limitSeconds": limit, "asyncEventsReceived": received,
          "asyncEventsDropped": dropped}  # fmt: skip
    if oldest is None:
        return _result("event-age", Verdict.PASS, "no asynchronous event attempted yet", **ev)
    age = f"{oldest / 1000:g} s"
    if oldest > limit * 1000:
        why = (f"an event waited {age} in the async queue (limit {limit} s): events are backing "
               f"up and expire after {target.maximum_event_age_in_seconds} s")  # fmt: skip
        return _result("event-age", Verdict.FAIL, why, **ev)
    return _result("event-age", Verdict.PASS, f"oldest event {age} (limit {limit} s)", **ev)


def aligned_drops(periods: Sequence[AsyncPeriod], retries: int) -> tuple[float, float]:
    """(events received, events dropped) over the same events, as far as the step shows them.

    An event received at time t is dropped once its retries are exhausted, at t + D (D: the
    retry delays) plus the time its attempts took. So the receptions of the minutes from the
    first to D before the last are compared with the drops of the minutes from D after the first
    to the last: the same span, D later. Drops of events received before the step are left out,
    and so are those still to come. Long attempts move a few drops across the edges of the span
    (in at the start, out at the end): approximately the same events under steady traffic."""
    dated = [(p.at, p) for p in periods if p.at is not None]
    if not dated:
        return 0.0, 0.0
    first, last = min(at for at, _ in dated), max(at for at, _ in dated)
    delay = timedelta(seconds=sum(RETRY_DELAYS_SECONDS[: max(0, retries)]))
    received = sum(p.received for at, p in dated if at <= last - delay)
    dropped = sum(p.dropped for at, p in dated if at >= first + delay)
    return float(received), float(dropped)


def dropped_events_gate(
    periods: Sequence[AsyncPeriod], cfg: AnalysisConfig, target: AsyncTarget, alpha: float
) -> GateResult | None:
    """The share of the alias's events that are dropped <= ``maxDroppedEventRate`` (one-sample
    anytime-valid test, ``RateTest``, on ``aligned_drops``); None when no limit is set."""
    limit = cfg.max_dropped_event_rate
    if limit is None:
        return None
    received, dropped = aligned_drops(periods, target.maximum_retry_attempts)
    test = RateTest(limit)
    test.update(received, min(dropped, received))
    rate = round(dropped / received, 6) if received else None
    ev = {"eventsCompared": received, "droppedCompared": dropped, "droppedRate": rate,
          "asyncEventsReceived": _sum(periods, "received"),
          "asyncEventsDropped": _sum(periods, "dropped"), "maxDroppedEventRate": limit,
          "eValue": round(math.exp(min(test.log_e, 700.0)), 3),
          "rejectAt": round(1 / alpha, 3)}  # fmt: skip
    shown = "n/a" if rate is None else f"{rate:.2%}"
    what = f"{dropped:g} of {received:g} events whose retries have played out were dropped"
    if test.log_e >= threshold(alpha):
        return _result("dropped-events", Verdict.FAIL,
                       f"{what} ({shown}), above the limit {limit:.2%}", **ev)  # fmt: skip
    return _result("dropped-events", Verdict.PASS, f"{what} ({shown}; limit {limit:.2%})", **ev)


def destination_delivery_gate(
    periods: Sequence[AsyncPeriod], cfg: AnalysisConfig, target: AsyncTarget
) -> GateResult | None:
    """Invocation records Lambda could not deliver (OnSuccess/OnFailure destination, or the
    dead-letter queue) <= ``maxDestinationDeliveryFailures``; None when switched off."""
    limit = cfg.max_destination_delivery_failures
    if limit is None:
        return None
    failures = _sum(periods, "delivery_failures")
    dead_letter = _sum(periods, "dead_letter_errors")
    lost = failures + dead_letter
    ev = {"destinationDeliveryFailures": failures, "deadLetterErrors": dead_letter,
          "maxDestinationDeliveryFailures": limit, "onSuccess": target.on_success,
          "onFailure": target.on_failure}  # fmt: skip
    if lost > limit:
        why = (f"{lost:g} invocation record(s) could not be delivered to the destination or "
               f"dead-letter queue (limit {limit}): events are being lost")  # fmt: skip
        return _result("destination-delivery", Verdict.FAIL, why, **ev)
    why = f"{lost:g} undelivered invocation record(s) (limit {limit})"
    return _result("destination-delivery", Verdict.PASS, why, **ev)


def evaluate(
    periods: Sequence[AsyncPeriod], cfg: AnalysisConfig, target: AsyncTarget, alpha: float
) -> list[GateResult]:
    """Every async gate that is on; ``alpha``: the ``dropped-events`` test's share
    (``split_false_rollback_rate``)."""
    results = [
        event_age_gate(periods, cfg, target),
        dropped_events_gate(periods, cfg, target, alpha) if alpha > 0 else None,
        destination_delivery_gate(periods, cfg, target),
    ]
    return [r for r in results if r is not None]
