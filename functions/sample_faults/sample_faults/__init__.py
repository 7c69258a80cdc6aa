"""Fault knobs: make a published version slow or failing on purpose (docs/DESIGN.md).

Shared by both samples (brand-api, brand-asset-processor) as the ``SampleFaultsLayer`` Lambda
layer (template.yaml); locally the package is installed in the virtualenv, as the dependencies
layer's packages are.

Both are environment variables of the version, read on every request (the sandbox and the demo
publish versions with different values):

- ``FAULT_ERROR_RATE``: 0..1, the share of requests that raise ``InjectedFault`` - an unhandled
  exception, so Lambda counts the invocation in its ``Errors`` metric.
- ``FAULT_LATENCY_MS``: extra milliseconds slept with ``time.sleep`` before the request is
  served (the sandbox turns it into simulated time).
- ``FAULT_NOT_FOUND_RATE``: 0..1, the share of lookups a sample answers "not found" although the
  item exists (a business regression: no error, no latency; brand-api's ``BrandLookup`` metric
  with ``Outcome`` ``not_found`` counts it, per version).

An invalid value is logged as a warning and ignored: a typo in a knob must not break prod.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass

from aws_lambda_powertools import Logger

ERROR_RATE_ENV = "FAULT_ERROR_RATE"
LATENCY_ENV = "FAULT_LATENCY_MS"
NOT_FOUND_ENV = "FAULT_NOT_FOUND_RATE"

logger = Logger(child=True)


class InjectedFault(RuntimeError):
    """Raised on purpose by the ``FAULT_ERROR_RATE`` knob."""


@dataclass(frozen=True)
class FaultKnobs:
    error_rate: float = 0.0
    latency_ms: float = 0.0
    not_found_rate: float = 0.0

    def misses(self) -> bool:
        """This lookup is answered "not found" on purpose (``not_found_rate`` of them)."""
        return self.not_found_rate > 0 and random.random() < self.not_found_rate


def read_knobs(environ: Mapping[str, str] | None = None) -> FaultKnobs:
    """The knobs as set now; invalid values are warned about and read as 0."""
    env = os.environ if environ is None else environ
    return FaultKnobs(
        error_rate=_read(env, ERROR_RATE_ENV, upper=1.0),
        latency_ms=_read(env, LATENCY_ENV, upper=math.inf),
        not_found_rate=_read(env, NOT_FOUND_ENV, upper=1.0),
    )


def inject(knobs: FaultKnobs) -> None:
    """Sleep ``latency_ms``, then raise ``InjectedFault`` for ``error_rate`` of the requests."""
    if knobs.latency_ms > 0:
        time.sleep(knobs.latency_ms / 1000)
    if knobs.error_rate > 0 and random.random() < knobs.error_rate:
        raise InjectedFault(f"injected fault ({ERROR_RATE_ENV}={knobs.error_rate})")


def _read(env: Mapping[str, str], name: str, *, upper: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if math.isnan(value) or not 0 <= value <= upper:
        logger.warning(
            "ignoring invalid fault knob", extra={"knob": name, "value": raw, "max": upper}
        )
        return 0.0
    return value
