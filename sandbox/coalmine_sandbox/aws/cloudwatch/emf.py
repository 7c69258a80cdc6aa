"""CloudWatch Logs' embedded metric format (EMF): the metrics a function's log lines carry.

A Lambda function's output goes to CloudWatch Logs; a log event that is an EMF document becomes
metrics, as AWS extracts them (CloudWatch User Guide, "Specification: Embedded metric format"):
the event is one JSON object with ``_aws: {Timestamp (epoch ms), CloudWatchMetrics: [directive,
...]}``, each directive ``{Namespace, Dimensions: [[dimension name, ...], ...], Metrics: [{Name,
Unit?}, ...]}``; every dimension name and metric name is a member of the root object (dimension
values strings, a metric's value a number or an array of up to 100 numbers). Each metric is
recorded once per dimension set, under exactly that set, at ``Timestamp``'s minute. An event
that breaks these rules yields no metric (AWS keeps it as a plain log event). Powertools Metrics
writes one such line per flush (``@metrics.log_metrics``), its ``service`` dimension included.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAX_DIMENSIONS = 30
MAX_VALUES = 100
MAX_METRICS = 100


@dataclass(frozen=True)
class Sample:
    namespace: str
    metric: str
    dimensions: dict[str, str]
    timestamp: datetime
    values: tuple[float, ...]
    unit: str


def samples(text: str) -> Iterator[Sample]:
    """Every metric sample the log lines in ``text`` carry (one line = one log event)."""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{") and '"_aws"' in line:
            yield from _event(line)


def _event(line: str) -> list[Sample]:
    try:
        root = json.loads(line)
        meta = root["_aws"]
        when = datetime.fromtimestamp(float(meta["Timestamp"]) / 1000, UTC)
        directives = meta["CloudWatchMetrics"]
        if not isinstance(directives, list):
            return []
        out: list[Sample] = []
        for directive in directives:
            out.extend(_directive(root, directive, when))
        return out
    except (ValueError, KeyError, TypeError, OverflowError):
        return []


def _directive(root: dict[str, Any], directive: dict[str, Any], when: datetime) -> list[Sample]:
    namespace = directive["Namespace"]
    sets = directive["Dimensions"]
    metrics = directive["Metrics"]
    if not isinstance(namespace, str) or not namespace or len(metrics) > MAX_METRICS:
        return []
    dimension_sets: list[dict[str, str]] = []
    for names in sets:
        if len(names) > MAX_DIMENSIONS or not all(isinstance(root.get(n), str) for n in names):
            return []
        dimension_sets.append({n: root[n] for n in names})
    out = []
    for definition in metrics:
        name = definition["Name"]
        values = _values(root.get(name))
        if values is None:
            return []
        unit = definition.get("Unit") or "None"
        for dims in dimension_sets:  # none: no metric ([[]]: one with no dimensions)
            out.append(Sample(namespace, name, dims, when, values, unit))
    return out


def _values(raw: Any) -> tuple[float, ...] | None:
    items = raw if isinstance(raw, list) else [raw]
    if not items or len(items) > MAX_VALUES:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in items):
        return None
    values = tuple(float(v) for v in items)
    return values if all(math.isfinite(v) for v in values) else None
