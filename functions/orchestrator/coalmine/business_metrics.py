"""Pure: business metrics per version (``analysis.metrics``): what a definition is, and what makes
one impossible to judge (refused in Prepare, naming the field; validation.parse_request).

A definition names a CloudWatch metric the function emits itself (e.g. with Powertools Metrics,
one dimension holding ``context.function_version``), so each version's datapoints can be read
apart: one dimension value is the placeholder ``{version}``, filled with the old and the new
version's number in the tick's one GetMetricData request (metric_queries.py). Its ``kind`` says
how it is judged (gates.py's tests, business_gates.py):

- ``failures-of``: a count of bad events (Sum per minute), each at most one per request: its
  share of the version's invocations (or of ``denominator``, a count metric of the same
  namespace) is compared new vs old like the errors gate (the exact odds-ratio test);
- ``latency``: one value per request (e.g. milliseconds spent in a dependency): the share of
  values over each threshold of the 20 ms-30 s ladder (``PR(:t)`` over ``SampleCount``) is
  compared new vs old like the latency gate;
- ``rate``: events per invocation, any number per request (Sum per minute over the version's
  invocations), compared new vs old as Poisson rates (the ratio test).

Higher is worse for every kind. Each gate takes one share of the false-rollback rate (gates.py).
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic.alias_generators import to_camel

from coalmine.exceptions import InvalidInput

#: The placeholder a dimension value holds for "the version" (filled per version).
VERSION_PLACEHOLDER = "{version}"
#: At most this many business metrics per deployment (each adds a gate to every tick, up to 24
#: GetMetricData queries and its definition to the document, which stays under 32 KiB).
MAX_METRICS = 5
#: The definitions' JSON size, at most: the document carries them through every state.
MAX_DEFINITIONS_BYTES = 4096
#: CloudWatch's own bounds: 30 dimensions per metric, names <= 255, dimension values <= 1024.
MAX_DIMENSIONS = 30
#: The gate a business metric is recorded as: ``metric:<name>``.
GATE_PREFIX = "metric:"
KINDS = ("failures-of", "latency", "rate")
_BRACES = re.compile(r"\{[^{}]*\}")

MetricName = Annotated[str, StringConstraints(min_length=1, max_length=255)]
DimensionName = Annotated[str, StringConstraints(min_length=1, max_length=255)]
DimensionValue = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class _Strict(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", strict=True
    )


class Denominator(_Strict):
    """``failures-of`` only: what the bad events are a share of, instead of the invocations: a
    count metric in the same namespace (its dimensions default to the metric's own)."""

    metric_name: MetricName
    dimensions: dict[DimensionName, DimensionValue] | None = Field(default=None, max_length=30)


class BusinessMetric(_Strict):
    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
    namespace: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    metric_name: MetricName
    dimensions: dict[DimensionName, DimensionValue] = Field(min_length=1, max_length=30)
    kind: Literal["failures-of", "latency", "rate"]
    # relative increase tolerated (0.5 = up to 1.5x the old version's); None: the kind's default
    # (0 for failures-of and rate, like the errors gate; 0.25 for latency, like latencyGate)
    tolerated_increase: float | None = Field(default=None, ge=0, le=10)
    denominator: Denominator | None = None

    @field_validator("namespace")
    @classmethod
    def _not_an_aws_namespace(cls, value: str) -> str:
        if value.startswith("AWS/"):
            raise ValueError(
                f"{value!r} is an AWS namespace: AWS's metrics carry no dimension with your "
                "version (Lambda's own per-version metrics are the errors and latency gates); "
                "name the namespace your function emits to"
            )
        return value

    @property
    def gate(self) -> str:
        return f"{GATE_PREFIX}{self.name}"

    def tolerance(self) -> float:
        if self.tolerated_increase is not None:
            return self.tolerated_increase
        return 0.25 if self.kind == "latency" else 0.0

    def dimensions_for(
        self, version: str, dims: dict[str, str] | None = None
    ) -> list[dict[str, str]]:
        """The dimensions (GetMetricData's shape) with ``{version}`` filled for ``version``."""
        given = self.dimensions if dims is None else dims
        return [
            {"Name": name, "Value": value.replace(VERSION_PLACEHOLDER, version)}
            for name, value in given.items()
        ]


def check(metrics: list[BusinessMetric]) -> None:
    """What the model alone cannot say: every definition can be judged per version, the names
    are unique, the definitions fit the document."""
    seen: set[str] = set()
    for i, metric in enumerate(metrics):
        where = f"analysis.metrics[{i}]"
        if metric.name in seen:
            raise InvalidInput(f"{where}.name", f"{metric.name!r} names two metrics")
        seen.add(metric.name)
        _check_placeholders(f"{where}.dimensions", metric.dimensions, required=True)
        if metric.denominator is not None:
            if metric.kind != "failures-of":
                raise InvalidInput(
                    f"{where}.denominator",
                    f"only a failures-of metric has a denominator ({metric.kind}: per invocation)",
                )
            if metric.denominator.dimensions is not None:
                _check_placeholders(
                    f"{where}.denominator.dimensions", metric.denominator.dimensions, required=True
                )
    size = len(json.dumps([m.model_dump(mode="json", by_alias=True) for m in metrics]))
    if size > MAX_DEFINITIONS_BYTES:
        raise InvalidInput(
            "analysis.metrics",
            f"the definitions take {size:,} bytes as JSON, more than {MAX_DEFINITIONS_BYTES:,} "
            "(the deployment document carries them through every state)",
        )


def _check_placeholders(where: str, dims: dict[str, str], *, required: bool) -> None:
    holders = [name for name, value in dims.items() if VERSION_PLACEHOLDER in value]
    for name, value in dims.items():
        if VERSION_PLACEHOLDER in name:
            raise InvalidInput(
                where, f"dimension name {name!r}: {VERSION_PLACEHOLDER} fills values only"
            )
        others = [b for b in _BRACES.findall(value) if b != VERSION_PLACEHOLDER]
        if others:
            raise InvalidInput(
                f"{where}.{name}",
                f"{others[0]!r} is not a placeholder coalmine fills (only {VERSION_PLACEHOLDER})",
            )
    if required and not holders:
        raise InvalidInput(
            where,
            f"no dimension value holds {VERSION_PLACEHOLDER}, so the versions' datapoints cannot "
            'be told apart: emit the version as a dimension (e.g. "FunctionVersion": '
            f'"{VERSION_PLACEHOLDER}", Powertools Metrics with context.function_version)',
        )
