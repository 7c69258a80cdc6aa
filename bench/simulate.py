"""Simulated per-minute CloudWatch counts of a Lambda canary, per version (``ExecutedVersion``).

Each minute: requests per version are Poisson (Poisson thinning of the alias's traffic by the
canary weight), errors Binomial(requests, rate) (``random.binomialvariate``, exact), and the
Duration percentile ranks ``PR(:t)`` at the ladder thresholds come from nested Binomial draws of
the number of requests slower than each threshold under a log-normal latency model -- exactly
the counts a per-request simulation would give, without a loop over 12,000 requests a minute.
Poisson draws use Knuth's method below a mean of 30 and a rounded normal approximation above
(relative error of the mean < 0.1%). p99 is the model's true p99 (evidence only, not judged).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from statistics import NormalDist

from coalmine.gates import Period, VersionSample
from coalmine.gates_config import LATENCY_LADDER_MS

_STD = NormalDist()


@dataclass(frozen=True)
class Arm:
    """One version's behaviour: error rate and log-normal latency (median ms, log-sd)."""

    error_rate: float = 0.01
    median_ms: float = 100.0
    sigma: float = 0.5

    def share_over(self, t: float) -> float:
        return 1 - _STD.cdf(math.log(t / self.median_ms) / self.sigma)

    def p99(self) -> float:
        return self.median_ms * math.exp(self.sigma * _STD.inv_cdf(0.99))


@dataclass(frozen=True)
class Scenario:
    name: str
    rps: float
    old: Arm
    new: Arm
    weight: float = 0.1
    bake_minutes: int = 5
    kind: str = "ab"  # "aa" (false rollbacks), "ab" (detection), "low" (never promote blind)
    # the watch after a cutover (blue/green, AllAtOnce): each period pairs the new version's
    # minute after the cutover with the old version's own minute before it, both serving the
    # whole alias (``weight`` unused): the before/after comparison of coalmine/watch.py
    cutover: bool = False

    @property
    def regression(self) -> bool:
        return self.kind == "ab"


def poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean >= 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, prod = math.exp(-mean), 0, rng.random()
    while prod > limit:
        k += 1
        prod *= rng.random()
    return k


def _sample(rng: random.Random, arm: Arm, n: int, shares: list[float] | None) -> VersionSample:
    if n == 0:
        return VersionSample()  # CloudWatch emits no datapoint for a version without traffic
    errors = rng.binomialvariate(n, arm.error_rate) if arm.error_rate > 0 else 0
    if shares is None:
        return VersionSample(invocations=n, errors=errors)
    pr: dict[float, float] = {}
    over, above = 0, 0.0  # requests slower than the previous (larger) threshold, its share
    for t, share in zip(reversed(LATENCY_LADDER_MS), reversed(shares), strict=True):
        q = 0.0 if share <= above else (share - above) / (1 - above)
        over += rng.binomialvariate(n - over, min(1.0, q)) if q > 0 and n > over else 0
        above = share
        pr[t] = 100.0 * (1 - over / n)
    return VersionSample(invocations=n, errors=errors, pr=pr, p99_ms=arm.p99())


def simulate(scenario: Scenario, seed: int, minutes: int, *, latency: bool = True) -> list[Period]:
    """``minutes`` one-minute periods of one canary run, reproducible from ``seed`` (a longer
    run from the same seed starts with the same minutes); ``latency=False``: counts only."""
    rng = random.Random(seed)
    old_shares = [scenario.old.share_over(t) for t in LATENCY_LADDER_MS] if latency else None
    new_shares = [scenario.new.share_over(t) for t in LATENCY_LADDER_MS] if latency else None
    per_minute = scenario.rps * 60
    periods = []
    new_share, old_share = (
        (1.0, 1.0) if scenario.cutover else (scenario.weight, 1 - scenario.weight)
    )
    for _ in range(minutes):
        n1 = poisson(rng, per_minute * new_share)
        n0 = poisson(rng, per_minute * old_share)
        periods.append(
            Period(
                new=_sample(rng, scenario.new, n1, new_shares),
                old=_sample(rng, scenario.old, n0, old_shares),
            )
        )
    return periods
