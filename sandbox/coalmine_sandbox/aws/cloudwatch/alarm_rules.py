"""How CloudWatch turns an alarm's recent datapoints into a state -- pure, no AWS.

Follows "How alarm state is evaluated when data is missing" (CloudWatch User Guide):
- CloudWatch reads an *evaluation range* longer than EvaluationPeriods (N); here N + 2 periods
  (the guide's example: N = 3 -> 5; the exact extra is not documented).
- >= N real datapoints in the range: the N most recent real ones are judged; TreatMissingData is
  not used. ALARM when >= M (DatapointsToAlarm) of them breach, else OK.
- No real datapoint: missing -> INSUFFICIENT_DATA, ignore -> keep the state, breaching -> ALARM,
  notBreaching -> OK.
- Some but < N: every real datapoint in the range counts; breaching/notBreaching fill the
  N - real gap; missing/ignore judge the real ones, with the "premature alarm" rule: if every real
  datapoint in the range breaches and the oldest breaching one among the last N periods is at
  least M periods old, missing -> ALARM and ignore -> keep the state.
These rules reproduce both tables of the guide (tests/sandbox/test_alarms.py).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

EXTRA_PERIODS = 2

COMPARISONS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanThreshold": (operator.gt, "greater than"),
    "GreaterThanOrEqualToThreshold": (operator.ge, "greater than or equal to"),
    "LessThanThreshold": (operator.lt, "less than"),
    "LessThanOrEqualToThreshold": (operator.le, "less than or equal to"),
}


@dataclass(frozen=True, slots=True)
class Point:
    timestamp: datetime
    value: float | None  # None = missing


@dataclass(frozen=True, slots=True)
class Decision:
    state: str | None  # OK | ALARM | INSUFFICIENT_DATA; None = keep the current state
    reason: str
    evaluated: tuple[Point, ...] = ()


def decide(
    points: Sequence[Point],
    *,
    evaluation_periods: int,
    datapoints_to_alarm: int,
    treat_missing: str,
    comparison: str,
    threshold: float,
) -> Decision:
    """The new state from the evaluation range `points` (oldest first, one per period)."""
    n, m = evaluation_periods, datapoints_to_alarm
    compare, words = COMPARISONS[comparison]
    judge = _Judge(n, m, lambda v: compare(v, threshold), words, threshold)
    real = [p for p in points if p.value is not None]
    if len(real) >= n:
        return judge.crossed(real[-n:])
    if not real:
        return _all_missing(n, treat_missing)
    fill = n - len(real)
    if treat_missing in ("breaching", "notBreaching"):
        extra = fill if treat_missing == "breaching" else 0
        decision = judge.crossed(real, extra)
        label = "Breaching" if extra else "NonBreaching"
        note = f" {fill} missing datapoint{'s were' if fill > 1 else ' was'} treated as [{label}]."
        return Decision(decision.state, decision.reason + note, decision.evaluated)
    breaching = sum(judge.breaches(p) for p in real)
    if breaching < m and breaching == len(real) and judge.oldest_breach_age(points[-n:]) >= m:
        if treat_missing == "ignore":
            return Decision(None, "premature alarm: state kept (missing data ignored)")
        return judge.crossed(real, premature=True)
    return judge.crossed(real)


def _all_missing(n: int, treat_missing: str) -> Decision:
    plural = "s were" if n > 1 else " was"
    if treat_missing == "ignore":
        return Decision(None, "no datapoints: state kept (missing data ignored)")
    if treat_missing in ("breaching", "notBreaching"):
        label = "Breaching" if treat_missing == "breaching" else "NonBreaching"
        reason = (
            f"Threshold Crossed: no datapoints were received for {n} period{'s' if n > 1 else ''}"
            f" and {n} missing datapoint{plural} treated as [{label}]."
        )
        return Decision("ALARM" if treat_missing == "breaching" else "OK", reason)
    return Decision("INSUFFICIENT_DATA", f"Insufficient Data: {n} datapoint{plural} unknown.")


@dataclass(frozen=True, slots=True)
class _Judge:
    n: int
    m: int
    compare: Callable[[float], bool]
    words: str
    threshold: float

    def breaches(self, p: Point) -> bool:
        return p.value is not None and self.compare(p.value)

    def oldest_breach_age(self, window: Sequence[Point]) -> int:
        """Periods since the oldest breaching datapoint of the window (1 = the newest)."""
        for i, p in enumerate(window):
            if self.breaches(p):
                return len(window) - i
        return 0

    def crossed(self, used: Sequence[Point], extra: int = 0, premature: bool = False) -> Decision:
        """Judge `used` (real datapoints, oldest first) plus `extra` filled breaching ones."""
        n, m = self.n, self.m
        alarm = premature or sum(map(self.breaches, used)) + extra >= m
        shown = [p for p in reversed(used) if self.breaches(p) == alarm]
        listed = ", ".join(f"{_num(p.value)} ({p.timestamp:%d/%m/%y %H:%M:%S})" for p in shown)
        verb = ("was" if len(shown) == 1 else "were") + ("" if alarm else " not")
        state = "ALARM" if alarm else "OK"
        thr = _num(self.threshold)
        if n == 1:
            reason = f"Threshold Crossed: 1 datapoint [{listed}] {verb} {self.words} the threshold"
            return Decision(state, f"{reason} ({thr}).", tuple(used))
        need, transition = (m, "OK -> ALARM") if alarm else (n - m + 1, "ALARM -> OK")
        reason = (
            f"Threshold Crossed: {len(shown)} out of the last {n} datapoints [{listed}] {verb} "
            f"{self.words} the threshold ({thr}) (minimum {need} datapoint"
            f"{'s' if need > 1 else ''} for {transition} transition)."
        )
        return Decision(state, reason, tuple(used))


def _num(x: float | None) -> str:
    return repr(float(x)) if x is not None else "null"
