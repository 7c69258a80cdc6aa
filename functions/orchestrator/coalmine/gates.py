"""Pure: per-version CloudWatch counts -> metric gate results (the statistics of a tick).

Input is one ``Period`` per metric period (a minute) since the step began, each holding the new
and the old version's counts (``VersionSample``) as one GetMetricData call returns them with the
``ExecutedVersion`` dimension; gates are recomputed from the whole series at every tick.

Gates (each -> ``GateResult`` PASS / FAIL / INCONCLUSIVE with its numbers):
- ``errors``: new error rate vs old, anytime-valid exact ``RatioTest`` (sequential.py);
- ``latency``: share of requests slower than each ladder threshold, new vs old, the average
  of one ``RatioTest`` e-process per threshold (an average of e-processes is one);
- ``latency-limit``: new version's ``latency_percentile`` <= ``latency_limit_ms`` (``RateTest``
  on the share over the limit); ``error-rate-limit``: new error rate <= ``max_error_rate``;
- ``throttles``: new version's throttles <= ``max_throttles`` (a plain count);
- ``metric:<name>``: a business metric per version (``analysis.metrics``, business_metrics.py),
  new vs old by its kind: ``failures-of`` as the errors gate (exact odds-ratio test on the bad
  events' share of the invocations or of its denominator), ``latency`` as the latency gate (the
  shares of values over each ladder threshold), ``rate`` as Poisson rates per invocation.
The false-rollback rate is split over the statistical gates by weight (Bonferroni; the errors
comparison gets 9 shares, every other gate 1), so a healthy version is rolled back with
probability <= ``false_rollback_rate`` overall. A test may FAIL at
any sample size (it is valid at every size); it only PASSes once the new version has served
``min_invocations`` -- until then it is INCONCLUSIVE: never promote blind.

What a tick does with these results (and the alarms gate) is analysis.py's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from coalmine.business_metrics import BusinessMetric
from coalmine.gates_config import LATENCY_LADDER_MS, GatesConfig
from coalmine.models import GateResult, Verdict
from coalmine.sequential import RateTest, RatioTest, threshold

_Gate = Callable[[Sequence["Period"], GatesConfig, float], GateResult]


@dataclass(frozen=True)
class MetricSample:
    """One version's business metric in one period: its Sum (``total``), its denominator's Sum
    (None: the invocations are), its SampleCount (``count``) and ``PR(:t)`` at the ladder."""

    total: float = 0
    denominator: float | None = None
    count: float = 0
    pr: Mapping[float, float] = field(default_factory=dict)

    def over(self, t: float) -> float | None:
        """Values above ``t`` (``count * (1 - PR/100)``), None without a datapoint."""
        if t not in self.pr or self.count <= 0:
            return None
        return float(round(self.count * min(1.0, max(0.0, 1 - self.pr[t] / 100))))


_NO_METRIC = MetricSample()


@dataclass(frozen=True)
class VersionSample:
    """One version's counts in one period. ``pr`` maps t (ms) -> ``PR(:t)`` (percent <= t);
    ``metrics`` maps a business metric's name to its sample."""

    invocations: float = 0
    errors: float = 0
    throttles: float = 0
    pr: Mapping[float, float] = field(default_factory=dict)
    p99_ms: float | None = None
    metrics: Mapping[str, MetricSample] = field(default_factory=dict)

    def metric(self, name: str) -> MetricSample:
        return self.metrics.get(name, _NO_METRIC)

    def over(self, t: float) -> float | None:
        """Requests slower than ``t`` ms (``n * (1 - PR/100)``), None without a datapoint."""
        if t not in self.pr or self.invocations <= 0:
            return None
        return float(round(self.invocations * min(1.0, max(0.0, 1 - self.pr[t] / 100))))


@dataclass(frozen=True)
class Period:
    new: VersionSample
    old: VersionSample


def _result(gate: str, verdict: Verdict, reason: str, **evidence: Any) -> GateResult:
    return GateResult(gate=gate, verdict=verdict, reason=reason, evidence=evidence)


def _judge(gate: str, log_e: float, alpha: float, n_new: float, cfg: GatesConfig, fail: str,
           ok: str, evidence: dict[str, Any]) -> GateResult:  # fmt: skip
    evidence |= {"eValue": round(math.exp(min(log_e, 700.0)), 3), "rejectAt": round(1 / alpha, 3)}
    if log_e >= threshold(alpha):
        return _result(gate, Verdict.FAIL, fail, **evidence)
    if n_new < cfg.min_invocations:
        why = f"new version served {n_new:g} of the {cfg.min_invocations} invocations needed"
        return _result(gate, Verdict.INCONCLUSIVE, why, **evidence)
    return _result(gate, Verdict.PASS, ok, **evidence)


def _rate(x: float, n: float) -> float | None:
    return None if n == 0 else round(x / n, 6)


def _pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.2%}"


def errors_test(cfg: GatesConfig) -> RatioTest:
    """The errors gate's test: exact (valid and sharp at any error rate), its prior adapted to
    the traffic (sequential.HIGH_TRAFFIC_REQUESTS)."""
    return RatioTest(cfg.tolerated_increase, exact=True, adaptive=True)


def errors_gate(periods: Sequence[Period], cfg: GatesConfig, alpha: float) -> GateResult:
    test = errors_test(cfg)
    for p in periods:
        new, old = p.new, p.old
        test.update(new.invocations, min(new.errors, new.invocations),
                    old.invocations, min(old.errors, old.invocations))  # fmt: skip
    n1, x1, n0, x0 = test.totals
    r1, r0 = _rate(x1, n1), _rate(x0, n0)
    ev = {"newInvocations": n1, "newErrors": x1, "oldInvocations": n0, "oldErrors": x0,
          "newErrorRate": r1, "oldErrorRate": r0}  # fmt: skip
    shown_new, shown_old = _pct(r1), _pct(r0)
    above = f"more than {cfg.tolerated_increase:.0%} above" if cfg.tolerated_increase else "above"
    fail = f"new version's error rate {shown_new} is {above} the old version's {shown_old}"
    ok = f"no error regression ({shown_new} vs {shown_old})"
    return _judge("errors", test.log_e, alpha, n1, cfg, fail, ok, ev)


def latency_gate(periods: Sequence[Period], cfg: GatesConfig, alpha: float) -> GateResult:
    tests = {t: RatioTest(cfg.latency_tolerated_increase) for t in LATENCY_LADDER_MS}
    for p in periods:
        for t, test in tests.items():
            x1, x0 = p.new.over(t), p.old.over(t)
            if x1 is not None and x0 is not None:
                test.update(p.new.invocations, x1, p.old.invocations, x0)
    log_e = math.log(sum(math.exp(min(tst.log_e, 700.0)) for tst in tests.values()) / len(tests))
    t, worst = max(tests.items(), key=lambda kv: kv[1].log_e)
    n1, x1, n0, x0 = worst.totals
    s1, s0 = _rate(x1, n1) or 0.0, _rate(x0, n0) or 0.0
    p99s = {"newP99Ms": _last_p99(periods, new=True), "oldP99Ms": _last_p99(periods, new=False)}
    ev = {"thresholdMs": t, "newShareOver": s1, "oldShareOver": s0, **p99s}
    fail = f"{s1:.1%} of the new version's requests are slower than {t:g} ms vs {s0:.1%} of old"
    n_new = sum(p.new.invocations for p in periods)
    return _judge("latency", log_e, alpha, n_new, cfg, fail, "no latency regression", ev)


def _last_p99(periods: Sequence[Period], *, new: bool) -> float | None:
    values = [(p.new if new else p.old).p99_ms for p in periods]
    return next((v for v in reversed(values) if v is not None), None)


def latency_limit_gate(periods: Sequence[Period], cfg: GatesConfig, alpha: float) -> GateResult:
    limit = cfg.latency_limit_ms
    assert limit is not None
    test = RateTest(1 - cfg.latency_percentile / 100)
    for p in periods:
        x = p.new.over(limit)
        if x is not None:
            test.update(p.new.invocations, x)
    share = _rate(test.x, test.n) or 0.0
    name = f"p{cfg.latency_percentile:g}"
    ev = {"limitMs": limit, "newShareOver": share, "newP99Ms": _last_p99(periods, new=True)}
    fail = f"new version's {name} is over {limit:g} ms ({share:.2%} of requests slower)"
    return _judge("latency-limit", test.log_e, alpha, test.n, cfg, fail,
                  f"{name} within {limit:g} ms", ev)  # fmt: skip


def error_rate_limit_gate(periods: Sequence[Period], cfg: GatesConfig, alpha: float) -> GateResult:
    limit = cfg.max_error_rate
    assert limit is not None
    test = RateTest(limit)
    for p in periods:
        test.update(p.new.invocations, min(p.new.errors, p.new.invocations))
    rate = _rate(test.x, test.n) or 0.0
    ev = {"maxErrorRate": limit, "newErrorRate": rate, "newInvocations": test.n}
    fail = f"new version's error rate {rate:.2%} is above the limit {limit:.2%}"
    return _judge("error-rate-limit", test.log_e, alpha, test.n, cfg, fail,
                  f"error rate within {limit:.2%}", ev)  # fmt: skip


def throttles_gate(periods: Sequence[Period], cfg: GatesConfig) -> GateResult:
    limit = cfg.max_throttles
    assert limit is not None
    total = sum(p.new.throttles for p in periods)
    ev = {"maxThrottles": limit, "newThrottles": total}
    if total > limit:
        return _result("throttles", Verdict.FAIL, f"{total:g} throttles > {limit}", **ev)
    return _result("throttles", Verdict.PASS, f"{total:g} throttles <= {limit}", **ev)


def business_gate(metric: BusinessMetric) -> _Gate:
    """The gate judging one business metric, by its kind."""

    def judge(periods: Sequence[Period], cfg: GatesConfig, alpha: float) -> GateResult:
        if metric.kind == "latency":
            return _business_latency(metric, periods, cfg, alpha)
        return _business_count(metric, periods, cfg, alpha)

    return judge


def _business_count(metric: BusinessMetric, periods: Sequence[Period], cfg: GatesConfig,
                    alpha: float) -> GateResult:  # fmt: skip
    """failures-of: bad events (at most one per unit of the denominator) as a share, exact test;
    rate: events per invocation, any number each, Poisson ratio test."""
    share = metric.kind == "failures-of"
    test = RatioTest(metric.tolerance(), exact=share, bounded=share)
    for p in periods:
        new, old = p.new.metric(metric.name), p.old.metric(metric.name)
        n1 = new.denominator if new.denominator is not None else p.new.invocations
        n0 = old.denominator if old.denominator is not None else p.old.invocations
        x1, x0 = new.total, old.total
        if share:  # an event past its minute's denominator (a minute boundary) is clamped
            x1, x0 = min(x1, n1), min(x0, n0)
        elif (n1 == 0 and x1 > 0) or (n0 == 0 and x0 > 0):
            continue  # events with no invocation in that minute: nothing to divide by
        test.update(n1, x1, n0, x0)
    n1, x1, n0, x0 = test.totals
    r1, r0 = _rate(x1, n1), _rate(x0, n0)
    per = "of " + (metric.denominator.metric_name if metric.denominator else "invocations")
    ev = {"kind": metric.kind, "metricName": metric.metric_name, "newCount": x1,
          "newDenominator": n1, "oldCount": x0, "oldDenominator": n0, "newRate": r1,
          "oldRate": r0}  # fmt: skip
    shown = (_pct(r1), _pct(r0)) if share else (f"{r1 or 0:.4g}", f"{r0 or 0:.4g}")
    tol = metric.tolerance()
    above = f"more than {tol:.0%} above" if tol else "above"
    what = f"{metric.metric_name} {'share ' + per if share else 'per invocation'}"
    fail = f"new version's {what} {shown[0]} is {above} the old version's {shown[1]}"
    ok = f"no regression of {what} ({shown[0]} vs {shown[1]})"
    n_new = sum(p.new.invocations for p in periods)
    return _judge(metric.gate, test.log_e, alpha, n_new, cfg, fail, ok, ev)


def _business_latency(metric: BusinessMetric, periods: Sequence[Period], cfg: GatesConfig,
                      alpha: float) -> GateResult:  # fmt: skip
    """latency: the shares of values over each ladder threshold, new vs old (as latency_gate)."""
    tests = {t: RatioTest(metric.tolerance()) for t in LATENCY_LADDER_MS}
    for p in periods:
        new, old = p.new.metric(metric.name), p.old.metric(metric.name)
        for t, test in tests.items():
            x1, x0 = new.over(t), old.over(t)
            if x1 is not None and x0 is not None:
                test.update(new.count, x1, old.count, x0)
    log_e = math.log(sum(math.exp(min(tst.log_e, 700.0)) for tst in tests.values()) / len(tests))
    t, worst = max(tests.items(), key=lambda kv: kv[1].log_e)
    n1, x1, n0, x0 = worst.totals
    s1, s0 = _rate(x1, n1) or 0.0, _rate(x0, n0) or 0.0
    ev = {"kind": metric.kind, "metricName": metric.metric_name, "thresholdMs": t,
          "newShareOver": s1, "oldShareOver": s0, "newSamples": n1, "oldSamples": n0}  # fmt: skip
    fail = (f"{s1:.1%} of the new version's {metric.metric_name} values are over {t:g} vs "
            f"{s0:.1%} of the old version's")  # fmt: skip
    n_new = sum(p.new.invocations for p in periods)
    return _judge(metric.gate, log_e, alpha, n_new, cfg, fail,
                  f"no regression of {metric.metric_name}", ev)  # fmt: skip


# Shares of the false-rollback rate (weighted Bonferroni): the errors comparison is the gate
# that needs every bit of it to judge a short canary at modest traffic; a latency regression big
# enough to matter is proven in a tick or two with far less (`make bench` measures both).
ALPHA_WEIGHTS: dict[str, float] = {"errors": 9.0}
_OTHER_WEIGHT = 1.0


def _statistical(cfg: GatesConfig) -> dict[str, _Gate]:
    stats = [
        (cfg.compare_errors, "errors", errors_gate),
        (cfg.compare_latency, "latency", latency_gate),
        (cfg.latency_limit_ms is not None, "latency-limit", latency_limit_gate),
        (cfg.max_error_rate is not None, "error-rate-limit", error_rate_limit_gate),
    ]
    gates: dict[str, _Gate] = {name: gate for on, name, gate in stats if on}
    gates.update({metric.gate: business_gate(metric) for metric in cfg.metrics})
    return gates


def gate_alpha(cfg: GatesConfig, gate: str = "errors") -> float:
    """``gate``'s share of the false-rollback rate: the configured statistical gates split it by
    weight (``ALPHA_WEIGHTS``, 1 for the others), so a healthy version is rolled back with
    probability <= ``false_rollback_rate`` overall (union bound)."""
    names = list(_statistical(cfg)) or [gate]
    total = sum(ALPHA_WEIGHTS.get(name, _OTHER_WEIGHT) for name in names)
    return cfg.false_rollback_rate * ALPHA_WEIGHTS.get(gate, _OTHER_WEIGHT) / total


def evaluate(periods: Sequence[Period], cfg: GatesConfig) -> list[GateResult]:
    """Every configured metric gate, the false-rollback rate split among the statistical ones."""
    results = [
        gate(periods, cfg, gate_alpha(cfg, name)) for name, gate in _statistical(cfg).items()
    ]
    if cfg.max_throttles is not None:
        results.append(throttles_gate(periods, cfg))
    return results
