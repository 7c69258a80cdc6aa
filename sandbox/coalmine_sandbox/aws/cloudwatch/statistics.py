"""CloudWatch statistics over one datapoint's samples, in pure Python (no numpy/scipy).

Supported `Stat` strings (case-insensitive where CloudWatch is):
- `SampleCount`, `Sum`, `Average`, `Minimum`, `Maximum`
- `pNN` / `pNN.N` (percentile, 0..100)
- `PR(a:b)`, `PR(:b)`, `PR(a:)` (percentile rank: share 0..100 of samples in the range; the lower
  bound is exclusive, the upper inclusive, as CloudWatch documents)
- `TM`, `TC`, `TS` with `(a:b)` bounds (absolute values, lower exclusive / upper inclusive) or
  `(a%:b%)` bounds (shares of the sorted samples), the `tmNN`/`tcNN`/`tsNN` short forms (= `(:NN%)`)
  and `IQM` (= `TM(25%:75%)`).

Percentile method: **nearest rank** -- `pNN` is the smallest sample with at least NN% of the
samples at or below it (`sorted[ceil(NN/100 * n) - 1]`, `p0` = minimum). CloudWatch documents
`p95` as "95% of the data is lower than this value" and always answers with a value of the data
set, which nearest rank matches; it never interpolates between two samples. Trimmed statistics
with percentage bounds keep `sorted[round(n*a/100):round(n*b/100)]` (no fractional counts).
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

PLAIN_STATS = ("SampleCount", "Sum", "Average", "Minimum", "Maximum")
_PLAIN = {s.lower(): s for s in PLAIN_STATS}
_PERCENTILE = re.compile(r"^p(\d{1,3}(?:\.\d+)?)$", re.IGNORECASE)
_SHORT_TRIM = re.compile(r"^(tm|tc|ts)(\d{1,2}(?:\.\d+)?)$", re.IGNORECASE)
_RANGE = re.compile(r"^(PR|TM|TC|TS)\(([^:()]*):([^:()]*)\)$", re.IGNORECASE)
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Summary:
    """One datapoint's samples: the cheap aggregates plus the sorted samples on demand."""

    count: int
    total: float
    minimum: float
    maximum: float
    sorted_values: Callable[[], Sequence[float]]


@dataclass(frozen=True, slots=True)
class Stat:
    """A parsed statistic. kind: plain | p | PR | TM | TC | TS."""

    kind: str
    name: str = ""
    percent: float = 0.0
    low: float | None = None
    high: float | None = None
    relative: bool = False  # bounds are percentages of the sorted samples


def parse_stat(text: str) -> Stat:
    """Parse a CloudWatch `Stat` / `ExtendedStatistic`; ValueError when it is not one."""
    s = text.strip()
    if s.lower() in _PLAIN:
        return Stat("plain", name=_PLAIN[s.lower()])
    if s.upper() == "IQM":
        return Stat("TM", low=25.0, high=75.0, relative=True)
    if m := _PERCENTILE.match(s):
        p = float(m.group(1))
        if p > 100:
            raise ValueError(f"percentile out of range: {text}")
        return Stat("p", percent=p)
    if m := _SHORT_TRIM.match(s):
        return Stat(m.group(1).upper(), low=None, high=float(m.group(2)), relative=True)
    if m := _RANGE.match(s):
        kind = m.group(1).upper()
        low_s, high_s = m.group(2).strip(), m.group(3).strip()
        rel = low_s.endswith("%") or high_s.endswith("%")
        if rel and kind == "PR":
            raise ValueError(f"PR takes absolute bounds: {text}")
        if rel and not all(b == "" or b.endswith("%") for b in (low_s, high_s)):
            raise ValueError(f"mixed absolute and percentage bounds: {text}")
        low = float(low_s.rstrip("%")) if low_s else None
        high = float(high_s.rstrip("%")) if high_s else None
        if low is None and high is None:
            raise ValueError(f"a range needs at least one bound: {text}")
        return Stat(kind, low=low, high=high, relative=rel)
    raise ValueError(f"unsupported statistic: {text}")


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of ascending samples (see module docstring)."""
    n = len(sorted_values)
    if n == 0:
        raise ValueError("percentile of no samples")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile out of range: {p}")
    rank = math.ceil(p * n / 100 - _EPS)
    return sorted_values[min(max(rank, 1), n) - 1]


def percentile_rank(sorted_values: Sequence[float], low: float | None, high: float | None) -> float:
    """Share (0..100) of samples v with low < v <= high (a missing bound is unbounded)."""
    n = len(sorted_values)
    if n == 0:
        raise ValueError("percentile rank of no samples")
    upper = n if high is None else bisect.bisect_right(sorted_values, high)
    lower = 0 if low is None else bisect.bisect_right(sorted_values, low)
    return 100.0 * max(upper - lower, 0) / n


def trimmed(sorted_values: Sequence[float], stat: Stat) -> Sequence[float]:
    """The samples a TM/TC/TS statistic keeps."""
    n = len(sorted_values)
    if stat.relative:
        i0 = round(n * (stat.low or 0.0) / 100)
        i1 = round(n * (100.0 if stat.high is None else stat.high) / 100)
        return sorted_values[i0:i1]
    i0 = 0 if stat.low is None else bisect.bisect_right(sorted_values, stat.low)
    i1 = n if stat.high is None else bisect.bisect_right(sorted_values, stat.high)
    return sorted_values[i0:i1]


def compute(stat: Stat, summary: Summary) -> float | None:
    """The statistic's value for one datapoint; None where CloudWatch has no value (e.g. TM of
    an empty trimmed range)."""
    if summary.count == 0:
        return None
    if stat.kind == "plain":
        return {
            "SampleCount": float(summary.count),
            "Sum": summary.total,
            "Average": summary.total / summary.count,
            "Minimum": summary.minimum,
            "Maximum": summary.maximum,
        }[stat.name]
    values = summary.sorted_values()
    if stat.kind == "p":
        return percentile(values, stat.percent)
    if stat.kind == "PR":
        return percentile_rank(values, stat.low, stat.high)
    kept = trimmed(values, stat)
    if stat.kind == "TC":
        return float(len(kept))
    if stat.kind == "TS":
        return float(math.fsum(kept))
    return math.fsum(kept) / len(kept) if kept else None


def binary_summary(count: int, ones: int) -> Summary:
    """Samples that are each 0 or 1 (Lambda's Invocations/Errors/Throttles: one per attempt)."""
    return Summary(
        count=count,
        total=float(ones),
        minimum=0.0 if ones < count else 1.0,
        maximum=1.0 if ones > 0 else 0.0,
        sorted_values=lambda: [0.0] * (count - ones) + [1.0] * ones,
    )


def values_summary(sorted_values: Sequence[float]) -> Summary:
    """Samples given as an ascending list."""
    return Summary(
        count=len(sorted_values),
        total=math.fsum(sorted_values),
        minimum=sorted_values[0],
        maximum=sorted_values[-1],
        sorted_values=lambda: sorted_values,
    )
