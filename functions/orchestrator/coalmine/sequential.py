"""Pure: anytime-valid sequential tests on counts (standard library only: this runs in a Lambda).

A canary is checked every tick on the counts seen so far. A fixed-horizon test checked that way
rejects a healthy version far more often than its nominal rate (Kayenta's Mann-Whitney test: 66
false rejections in 100 A/A runs). These tests are instead built from **e-processes**:
nonnegative supermartingales under the null hypothesis, so by Ville's inequality (Ville 1939)
``P(sup_t E_t >= 1/alpha) <= alpha``: reject the first time ``E_t >= 1/alpha`` and the
false-rollback rate is at most ``alpha`` however often one peeks.

Version comparison (``RatioTest``), after Lindon & Malek, "Anytime-valid inference for
multinomial count data" (NeurIPS 2022) and Lindon, Sanden & Shirikian, "Rapid regression
detection in software deployments through sequential testing" (KDD 2022): condition on where the
events fall. In one metric period (a minute) the new version serves ``n1`` requests with ``x1``
events (errors, or requests over a latency threshold) and the old one ``n0`` with ``x0``. Given
``x = x1 + x0``, ``x1`` is Binomial(x, p(rho)) with ``p(rho) = n1*rho / (n1*rho + n0)`` where
``rho = r1/r0`` is the ratio of the versions' event rates (Poisson approximation; the old
version's unknown rate cancels out). The null is ``rho <= rho0 = 1 + tolerated increase``. The
e-process is a discrete mixture (a prior over alternatives ``rho = rho0 * m``, ``m > 1``) of
likelihood ratios ``prod_t LR_t(rho) / LR_t(rho0)`` across periods (Robbins 1970 mixture):

- each fixed-``rho`` product is a supermartingale under every ``rho' <= rho0`` (the binomial
  likelihood ratio is monotone in ``p``), so the mixture is one too;
- for identical versions (A/A) the exact conditional law of ``x1`` is hypergeometric, which is
  smaller in convex order than the binomial (Hoeffding 1963), so the test stays valid -- it is
  only conservative -- whatever the event rates, including large ones such as the share of
  requests over a latency threshold; for ``r0 < r1 <= rho0*r0`` it relies on small rates
  (odds ratio ~= rate ratio), which is why it is stated for errors, throttles and tails.

Exact variant (``RatioTest(exact=True)``, the errors gate): condition the same way on the
binomial counts themselves. Given ``x``, ``x1`` follows Fisher's noncentral hypergeometric law
with the versions' odds ratio ``psi`` (Fisher 1935; the old version's rate again cancels out);
the null is ``psi <= psi0 = 1 + tolerated increase`` and each fixed-alternative likelihood ratio
is a supermartingale under it at every rate (the family has a monotone likelihood ratio in
``x1``). For small rates odds ratio ~= rate ratio; at large ones (half the requests failing) the
Poisson form above is valid but blunt, and the exact form is what can still tell 60% from 50%.

Periods in which either version had no traffic, or no events happened, carry no information
(their likelihood ratio is exactly 1), so missing CloudWatch datapoints are harmless.

Before/after (the watch after a cutover, watch.py): the same tests, with each "period" a pair of
minutes -- the new version's minute ``j`` after the cutover and the old version's minute ``j``
before it (metric_queries.watch_periods). The pairs are independent and each is revealed as the
watch goes on, so each fixed-alternative product is still a supermartingale under the null, in
the filtration of the pairs, and Ville's inequality still bounds the false-rollback rate --
**provided the old version's rates before the cutover are what they would have been after it**
(``r0`` is the same in both minutes of a pair). That is an assumption about the traffic, not the
code: a mix that changes with time (a peak, a batch, an outage downstream) moves ``r0`` between
the two minutes and the bound no longer holds; a side-by-side canary needs no such assumption.

Absolute limit (``RateTest``): a one-sample test of ``H0: rate <= p0`` on Bernoulli counts (each
request is a trial), with the same mixture over odds ``o0 * m``; Wald's sequential probability
ratio test (Wald 1945) is the single-alternative special case. Both are exact.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# Prior over alternatives: multiples ``m`` of the null ratio (or odds) and their weights. A
# discrete mixture costs ``ln(1/w)`` in log-evidence against alternative ``m`` alone and needs no
# numerical integration. Chosen on the benchmark (`make bench`, docs/analysis.md): with a
# 5-minute bake the evidence must cross ``ln(1/alpha)`` within a few hundred requests, so most
# weight sits on 2.5x (the regression a short canary at modest traffic can hope to prove: it
# catches a 2x regression more often than an equal-weight grid over 1.5x-30x); 10x keeps a broken
# version at low traffic fast to catch; 1.5x keeps small regressions at high traffic catchable.
DEFAULT_ALTERNATIVES: tuple[float, ...] = (1.5, 2.5, 10.0)
DEFAULT_WEIGHTS: tuple[float, ...] = (0.05, 0.85, 0.10)
# Traffic-adaptive prior (``RatioTest(adaptive=True)``, the errors gate): the smallest regression
# a bake can prove shrinks as its traffic grows, so when the new version's first period with
# traffic on both versions already holds ``HIGH_TRAFFIC_REQUESTS`` requests (a 10% canary at
# >= ~50 rps), 30% of the weight moves to 1.5x. The prior is chosen once, from request counts
# only: given them, the errors' split is what the test judges, so the mixture stays a fixed
# one from there on and Ville's inequality still holds. On the benchmark grid (`bench/grid.py`)
# a 1.5x regression at 200 rps is caught in ~52% of 5-minute canaries instead of ~34%; below
# the threshold (20 rps) nothing changes.
HIGH_TRAFFIC_REQUESTS = 300
HIGH_TRAFFIC_WEIGHTS: tuple[float, ...] = (0.30, 0.65, 0.05)


def _prior(
    alternatives: Sequence[float], weights: Sequence[float] | None
) -> tuple[tuple[float, float], ...]:
    """``(m, ln w)`` pairs; no ``weights``: equal weights."""
    if not alternatives or any(m <= 1 for m in alternatives):
        raise ValueError("alternatives must be multiples > 1 of the null")
    if weights is None:
        weights = [1 / len(alternatives)] * len(alternatives)
    if len(weights) != len(alternatives) or any(w <= 0 for w in weights):
        raise ValueError("weights must be positive, one per alternative")
    total = sum(weights)
    return tuple((m, math.log(w / total)) for m, w in zip(alternatives, weights, strict=True))


def _default_weights(alternatives: Sequence[float]) -> Sequence[float] | None:
    return DEFAULT_WEIGHTS if tuple(alternatives) == DEFAULT_ALTERNATIVES else None


def _logsumexp(values: Iterable[float]) -> float:
    vals = list(values)
    top = max(vals)
    if top == -math.inf:
        return top
    return top + math.log(sum(math.exp(v - top) for v in vals))


def threshold(alpha: float) -> float:
    """The log e-value at which the null is rejected: ``ln(1/alpha)`` (Ville's inequality)."""
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    return math.log(1 / alpha)


@functools.lru_cache(maxsize=4096)
def _ratio_period(
    n1: float, x1: float, n0: float, x0: float, rho0: float, ms: tuple[float, ...]
) -> tuple[float, ...]:
    """One period's log likelihood ratio per alternative ``rho0 * m`` (cached: a gate recomputes
    the whole series every tick, and low-traffic periods repeat)."""
    a0 = n1 * rho0 / n0  # odds that an event is the new version's, under the null
    # x1*ln(p/p0) + x0*ln((1-p)/(1-p0)) with p = a/(1+a), a = a0*m, p0 = a0/(1+a0)
    return tuple(x1 * math.log(m) + (x1 + x0) * (math.log1p(a0) - math.log1p(a0 * m)) for m in ms)


def _log_binom(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


@functools.lru_cache(maxsize=4096)
def _log_norms(n1: int, n0: int, x: int, psis: tuple[float, ...]) -> tuple[float, ...]:
    """``ln sum_k C(n1,k) C(n0,x-k) psi^k`` for each ``psi``: the normalizer of Fisher's
    noncentral hypergeometric law (the law of ``x1`` given ``x1 + x0 = x``, odds ratio psi)."""
    lo, hi = max(0, x - n0), min(n1, x)
    base, term = [], _log_binom(n1, lo) + _log_binom(n0, x - lo)
    for k in range(lo, hi + 1):
        base.append(term)
        if k < hi:  # C(n1,k+1)C(n0,x-k-1) / C(n1,k)C(n0,x-k)
            term += math.log((n1 - k) * (x - k) / ((k + 1) * (n0 - x + k + 1)))
    return tuple(
        _logsumexp(b + k * math.log(psi) for k, b in zip(range(lo, hi + 1), base, strict=True))
        for psi in psis
    )


@functools.lru_cache(maxsize=4096)
def _odds_period(
    n1: int, x1: int, n0: int, x0: int, psi0: float, ms: tuple[float, ...]
) -> tuple[float, ...]:
    """Exact: one period's log likelihood ratio per alternative odds ratio ``psi0 * m``."""
    norms = _log_norms(n1, n0, x1 + x0, (psi0, *(psi0 * m for m in ms)))
    return tuple(x1 * math.log(m) + norms[0] - norm for m, norm in zip(ms, norms[1:], strict=True))


@dataclass
class RatioTest:
    """H0: the new version's event rate <= (1 + tolerated_increase) x the old version's.

    Feed it one metric period at a time with ``update``; ``log_e`` is the log e-value so far.
    ``exact``: judge the odds ratio with Fisher's noncentral hypergeometric law instead of the
    Poisson approximation -- valid and sharper whatever the rates (errors of a function whose
    requests often fail, e.g. retried poison events), at the cost of a sum over the period's
    possible splits (counts are rounded to whole requests).
    """

    tolerated_increase: float = 0.0
    alternatives: Sequence[float] = DEFAULT_ALTERNATIVES
    weights: Sequence[float] | None = None
    exact: bool = False
    adaptive: bool = False  # the default prior, chosen from the first period's traffic
    # False: events are counts, any number per request (a business metric's ``rate``: Poisson
    # rates, never with ``exact``), so a period may hold more events than requests
    bounded: bool = True
    _loglik: list[float] = field(init=False, repr=False)
    _prior: tuple[tuple[float, float], ...] = field(init=False, repr=False)
    _ms: tuple[float, ...] = field(init=False, repr=False)
    totals: list[float] = field(init=False)  # n1, x1, n0, x0 over all periods
    _chosen: bool = field(init=False, repr=False, default=True)  # the prior is final

    def __post_init__(self) -> None:
        if self.tolerated_increase < 0:
            raise ValueError("tolerated_increase must be >= 0")
        weights = self.weights if self.weights is not None else _default_weights(self.alternatives)
        self._prior = _prior(self.alternatives, weights)
        self._ms = tuple(self.alternatives)
        self._loglik = [0.0] * len(self._prior)
        self.totals = [0.0, 0.0, 0.0, 0.0]
        self._chosen = not (
            self.adaptive and self.weights is None and _default_weights(self.alternatives)
        )

    def update(self, n1: float, x1: float, n0: float, x0: float) -> None:
        if min(n1, x1, n0, x0) < 0 or (self.bounded and (x1 > n1 or x0 > n0)):
            raise ValueError(f"invalid counts n1={n1} x1={x1} n0={n0} x0={x0}")
        for i, v in enumerate((n1, x1, n0, x0)):
            self.totals[i] += v
        if n1 == 0 or n0 == 0:
            return  # no information: the likelihood ratio is exactly 1
        if not self._chosen:  # request counts only, before this period's errors are judged
            self._chosen = True
            if n1 >= HIGH_TRAFFIC_REQUESTS:
                self._prior = _prior(self.alternatives, HIGH_TRAFFIC_WEIGHTS)
        if x1 + x0 == 0:
            return
        rho0 = 1.0 + self.tolerated_increase
        if self.exact:
            counts = (round(n1), round(x1), round(n0), round(x0))
            if counts[0] == 0 or counts[2] == 0 or counts[1] + counts[3] == 0:
                return
            period = _odds_period(*counts, rho0, self._ms)
        else:
            period = _ratio_period(n1, x1, n0, x0, rho0, self._ms)
        self._loglik = [a + b for a, b in zip(self._loglik, period, strict=True)]

    @property
    def log_e(self) -> float:
        return _logsumexp(lw + ll for (_, lw), ll in zip(self._prior, self._loglik, strict=True))

    @property
    def prior(self) -> tuple[tuple[float, float], ...]:
        """The mixture in use: (alternative multiple, weight) pairs."""
        return tuple((m, round(math.exp(lw), 12)) for m, lw in self._prior)

    @property
    def ratio(self) -> float | None:
        """Observed ratio of rates (new / old) over all periods; None if undefined."""
        n1, x1, n0, x0 = self.totals
        if n1 == 0 or n0 == 0 or x0 == 0:
            return None if x1 == 0 or n1 == 0 or n0 == 0 else math.inf
        return (x1 / n1) / (x0 / n0)


@dataclass
class RateTest:
    """H0: the event rate (per request) <= ``limit``; ``update`` with each period's counts."""

    limit: float
    alternatives: Sequence[float] = DEFAULT_ALTERNATIVES
    weights: Sequence[float] | None = None
    _loglik: list[float] = field(init=False, repr=False)
    _prior: tuple[tuple[float, float], ...] = field(init=False, repr=False)
    n: float = field(init=False, default=0.0)
    x: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        if not 0 < self.limit < 1:
            raise ValueError("limit must be in (0, 1)")
        weights = self.weights if self.weights is not None else _default_weights(self.alternatives)
        self._prior = _prior(self.alternatives, weights)
        self._loglik = [0.0] * len(self._prior)

    def update(self, n: float, x: float) -> None:
        if n < 0 or not 0 <= x <= n:
            raise ValueError(f"invalid counts n={n} x={x}")
        self.n += n
        self.x += x
        o0 = self.limit / (1 - self.limit)
        for i, (m, _) in enumerate(self._prior):
            # Bernoulli LR with p = o/(1+o), o = o0*m, against p0 = limit
            self._loglik[i] += x * math.log(m) + n * (math.log1p(o0) - math.log1p(o0 * m))

    @property
    def log_e(self) -> float:
        return _logsumexp(lw + ll for (_, lw), ll in zip(self._prior, self._loglik, strict=True))


def wald_log_lr(n: float, x: float, p0: float, p1: float) -> float:
    """Wald's SPRT log likelihood ratio of ``x`` events in ``n`` trials, rate p1 vs p0."""
    if not (0 < p0 < 1 and 0 < p1 < 1):
        raise ValueError("rates must be in (0, 1)")
    return x * math.log(p1 / p0) + (n - x) * math.log((1 - p1) / (1 - p0))
