"""The metric gates' settings: fields meant for the execution input's ``analysis`` object.

``AnalysisConfig`` (models.py) can take them by inheriting ``GatesConfig``; every default is on,
so a deployment with no ``analysis`` field is still judged version against version.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from coalmine.business_metrics import MAX_METRICS, BusinessMetric

# Latency thresholds (ms) at which the versions' shares of slower requests are compared, each
# read as CloudWatch's percentile rank ``PR(:t)`` of Duration: a fixed 1-2-5 ladder, so the one
# GetMetricData query needs no knowledge of the function's usual latency.
LATENCY_LADDER_MS: tuple[float, ...] = (
    20.0,
    50.0,
    100.0,
    200.0,
    500.0,
    1000.0,
    2000.0,
    5000.0,
    10000.0,
    30000.0,
)


class GatesConfig(BaseModel):
    """camelCase on the wire (``minInvocations``); no import of models.py, which builds
    ``AnalysisConfig`` on top of this class."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    false_rollback_rate: float = Field(default=0.01, gt=0, lt=0.5)
    tolerated_increase: float = Field(default=0.0, ge=0, le=10)
    latency_tolerated_increase: float = Field(default=0.25, ge=0, le=10)
    min_invocations: int = Field(default=100, ge=0, le=10_000_000)
    max_bake_extension_seconds: int = Field(default=1800, ge=0, le=24 * 3600)
    low_traffic_policy: Literal["rollback", "promote", "ask"] = "rollback"
    compare_errors: bool = True
    compare_latency: bool = True
    latency_limit_ms: float | None = Field(default=None, gt=0, le=900_000)
    latency_percentile: float = Field(default=99.0, gt=0, lt=100)
    max_error_rate: float | None = Field(default=None, gt=0, lt=1)
    max_throttles: int | None = Field(default=None, ge=0)
    # business metrics per version (business_metrics.py), each judged by its own gate
    metrics: list[BusinessMetric] = Field(default_factory=list, max_length=MAX_METRICS)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    def latency_thresholds(self) -> tuple[float, ...]:
        """Every ``PR(:t)`` the metric query must ask for (ladder plus the absolute limit)."""
        extra = () if self.latency_limit_ms is None else (self.latency_limit_ms,)
        return tuple(sorted({*LATENCY_LADDER_MS, *extra}))
