"""Anytime-valid sequential tests (pure): known values, validity under peeking, power."""

from __future__ import annotations

import math
import random

import pytest

from coalmine.sequential import (
    DEFAULT_WEIGHTS,
    HIGH_TRAFFIC_WEIGHTS,
    RateTest,
    RatioTest,
    threshold,
    wald_log_lr,
)


def _bernoulli_llr(x: float, n: float, p: float, p0: float) -> float:
    return x * math.log(p / p0) + (n - x) * math.log((1 - p) / (1 - p0))


@pytest.mark.parametrize(
    ("tolerance", "alternatives", "periods", "expected"),
    [
        # p0 = 1/2, p = 2/3: 3 ln(4/3) + ln(2/3)
        (0.0, (2.0,), [(100, 3, 100, 1)], 3 * math.log(4 / 3) + math.log(2 / 3)),
        # rho0 = 2: p0 = 2/3, p = 4/5
        (1.0, (2.0,), [(100, 4, 100, 2)], 4 * math.log(1.2) + 2 * math.log(0.6)),
        # two periods with different splits multiply: p0 = 1/10 then 1/2
        (
            0.0,
            (3.0,),
            [(10, 2, 90, 5), (50, 1, 50, 0)],
            _bernoulli_llr(2, 7, 1 / 4, 1 / 10) + _bernoulli_llr(1, 1, 3 / 4, 1 / 2),
        ),
        # an equal-weight mixture is the mean of the likelihood ratios
        (
            0.0,
            (2.0, 4.0),
            [(100, 3, 100, 1)],
            math.log(
                (
                    math.exp(_bernoulli_llr(3, 4, 2 / 3, 1 / 2))
                    + math.exp(_bernoulli_llr(3, 4, 0.8, 0.5))
                )
                / 2
            ),
        ),
        # periods without information leave the e-value at 1
        (0.0, (2.0,), [(0, 0, 100, 5), (100, 0, 0, 0), (100, 0, 100, 0)], 0.0),
    ],
)
def test_ratio_test_known_values(
    tolerance: float,
    alternatives: tuple[float, ...],
    periods: list[tuple[int, int, int, int]],
    expected: float,
) -> None:
    test = RatioTest(tolerance, alternatives)
    for period in periods:
        test.update(*period)
    assert test.log_e == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(
    ("limit", "n", "x", "m"),
    [(0.1, 10, 3, 2.0), (0.01, 600, 12, 3.0), (0.5, 4, 0, 1.5)],
)
def test_rate_test_known_values(limit: float, n: int, x: int, m: float) -> None:
    test = RateTest(limit, (m,))
    test.update(n, x)
    odds = limit / (1 - limit) * m
    assert test.log_e == pytest.approx(_bernoulli_llr(x, n, odds / (1 + odds), limit))


def test_threshold_and_wald() -> None:
    assert threshold(0.01) == pytest.approx(math.log(100))
    # 12 errors in 600 at 2% vs 1%: 12 ln 2 + 588 ln(0.98/0.99)
    assert wald_log_lr(600, 12, 0.01, 0.02) == pytest.approx(
        12 * math.log(2) + 588 * math.log(0.98 / 0.99)
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda: RatioTest(-0.1),
        lambda: RatioTest(0.0, (1.0, 2.0)),
        lambda: RatioTest().update(10, 11, 10, 0),
        lambda: RatioTest().update(-1, 0, 10, 0),
        lambda: RateTest(0.0),
        lambda: RateTest(0.1).update(5, 6),
        lambda: threshold(1.5),
        lambda: wald_log_lr(10, 1, 0.0, 0.5),
    ],
)
def test_invalid_input_is_refused(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=r"."):
        call()


def test_ratio_is_reported() -> None:
    test = RatioTest()
    test.update(100, 4, 900, 9)
    assert test.ratio == pytest.approx(4.0)


def _peek(rng: random.Random, n1: int, n0: int, r1: float, r0: float, tol: float, alpha: float):
    """(sequential test rejected, naive z-test rejected) at any of 30 peeks."""
    test, bar = RatioTest(tol), threshold(alpha)
    naive, seen = False, [0, 0, 0, 0]
    for _ in range(30):
        x1, x0 = rng.binomialvariate(n1, r1), rng.binomialvariate(n0, r0)
        test.update(n1, x1, n0, x0)
        for i, v in enumerate((n1, x1, n0, x0)):
            seen[i] += v
        if test.log_e >= bar:
            return True, True
        a1, a0 = seen[1] / seen[0], seen[3] / seen[2]
        pooled = (seen[1] + seen[3]) / (seen[0] + seen[2])
        se = math.sqrt(pooled * (1 - pooled) * (1 / seen[0] + 1 / seen[2])) or 1.0
        naive = naive or (a1 - a0) / se > 2.326  # one-sided z at 1%, checked every period
    return False, naive


@pytest.mark.parametrize(
    ("n1", "n0", "r1", "r0", "tol"),
    [
        (120, 1080, 0.01, 0.01, 0.0),  # 20 rps, 10% canary, 1% errors
        (30, 30, 0.3, 0.3, 0.0),  # large rates (share of slow requests), even split
        (50, 450, 0.02, 0.02, 0.25),  # A/A with a tolerance
        (50, 450, 0.022, 0.02, 0.25),  # a tolerated 10% increase
    ],
)
def test_false_rejections_stay_below_alpha_under_peeking(
    n1: int, n0: int, r1: float, r0: float, tol: float
) -> None:
    # Given 2,000 seeded runs checked at each of 30 periods, alpha generous enough to measure
    alpha, runs = 0.2, 2000
    rng = random.Random(4)
    results = [_peek(rng, n1, n0, r1, r0, tol, alpha) for _ in range(runs)]
    sequential = sum(r[0] for r in results) / runs
    # Then the sequential test holds its rate (3-sigma allowance for simulation noise) ...
    assert sequential <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / runs)
    # ... while the naive test peeked at the same data does not hold its 1%
    if tol == 0:
        assert sum(r[1] for r in results) / runs > 0.02


@pytest.mark.parametrize(
    ("n1", "n0", "r1", "r0", "within", "share"),
    [
        (120, 1080, 0.05, 0.01, 5, 0.95),  # 5x at 20 rps: caught within the 5-minute bake
        (1200, 10800, 0.02, 0.01, 5, 0.95),  # 2x at 200 rps
        (120, 1080, 0.5, 0.01, 1, 0.99),  # a broken version: at the first tick
    ],
)
def test_power_on_clear_regressions(
    n1: int, n0: int, r1: float, r0: float, within: int, share: float
) -> None:
    rng, bar, hits, runs = random.Random(7), threshold(0.005), 0, 400
    for _ in range(runs):
        test, crossed = RatioTest(), False
        for _ in range(within):
            test.update(n1, rng.binomialvariate(n1, r1), n0, rng.binomialvariate(n0, r0))
            crossed = crossed or test.log_e >= bar
        hits += crossed
    assert hits / runs >= share


def _noncentral_hypergeometric_llr(n1: int, x1: int, n0: int, x0: int, psi: float) -> float:
    """Brute force: ln P_psi(x1 | x) - ln P_1(x1 | x) from the textbook pmf (math.comb)."""
    x = x1 + x0
    support = range(max(0, x - n0), min(n1, x) + 1)

    def pmf(p: float) -> float:
        norm = sum(math.comb(n1, k) * math.comb(n0, x - k) * p**k for k in support)
        return math.comb(n1, x1) * math.comb(n0, x0) * p**x1 / norm

    return math.log(pmf(psi) / pmf(1.0))


@pytest.mark.parametrize(
    ("periods", "m"),
    [
        ([(10, 3, 90, 5)], 2.0),
        ([(30, 18, 30, 15)], 1.5),  # large rates: half the requests fail
        ([(5, 5, 5, 0)], 10.0),  # the whole support at one end
        ([(120, 2, 1080, 11), (40, 20, 60, 30)], 2.5),  # periods multiply
    ],
)
def test_exact_ratio_test_matches_the_noncentral_hypergeometric_law(
    periods: list[tuple[int, int, int, int]], m: float
) -> None:
    test = RatioTest(0.0, (m,), exact=True)
    for period in periods:
        test.update(*period)
    expected = sum(_noncentral_hypergeometric_llr(*p, m) for p in periods)
    assert test.log_e == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_exact_ratio_test_with_a_tolerance_is_judged_against_the_tolerated_odds() -> None:
    # the null's odds ratio is 1.5: the alternative m=2 means psi = 3
    test = RatioTest(0.5, (2.0,), exact=True)
    test.update(20, 8, 40, 6)
    expected = _noncentral_hypergeometric_llr(20, 8, 40, 6, 3.0) - _noncentral_hypergeometric_llr(
        20, 8, 40, 6, 1.5
    )
    assert test.log_e == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    ("n1", "n0", "r1", "r0", "tol"),
    [
        (40, 40, 0.5, 0.5, 0.0),  # A/A, half the requests failing (poison retries)
        (30, 270, 0.3, 0.3, 0.0),
        # on the null's boundary at a large rate: odds 0.5/0.5 * 1.5 -> rate 0.6
        (50, 50, 0.6, 0.5, 0.5),
    ],
)
def test_exact_test_holds_alpha_at_large_rates_under_peeking(
    n1: int, n0: int, r1: float, r0: float, tol: float
) -> None:
    alpha, runs, rng = 0.2, 1500, random.Random(11)
    rejected = 0
    for _ in range(runs):
        test = RatioTest(tol, exact=True)
        for _ in range(30):
            test.update(n1, rng.binomialvariate(n1, r1), n0, rng.binomialvariate(n0, r0))
            if test.log_e >= threshold(alpha):
                rejected += 1
                break
    assert rejected / runs <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / runs)


def test_exact_test_tells_60_from_50_percent_where_the_poisson_form_cannot() -> None:
    # 65% vs 50% errors, 150 requests a period on each version, 5 periods, alpha 1%
    rng, bar, runs = random.Random(3), threshold(0.01), 300
    hits = {True: 0, False: 0}
    for _ in range(runs):
        tests = {exact: RatioTest(exact=exact) for exact in (True, False)}
        for _ in range(5):
            x1, x0 = rng.binomialvariate(150, 0.65), rng.binomialvariate(150, 0.5)
            for t in tests.values():
                t.update(150, x1, 150, x0)
        for exact, t in tests.items():
            hits[exact] += t.log_e >= bar
    assert hits[True] / runs >= 0.9
    assert hits[False] / runs <= 0.5


@pytest.mark.parametrize(
    ("periods", "expected"),
    [
        ([], DEFAULT_WEIGHTS),  # nothing seen yet
        ([(1200, 12, 10800, 108)], HIGH_TRAFFIC_WEIGHTS),  # 200 rps, 10% canary
        ([(120, 1, 1080, 11)], DEFAULT_WEIGHTS),  # 20 rps
        ([(300, 0, 2700, 0)], HIGH_TRAFFIC_WEIGHTS),  # no errors yet: the counts decide
        ([(0, 0, 900, 9), (1200, 12, 10800, 108)], HIGH_TRAFFIC_WEIGHTS),  # no canary traffic yet
        # chosen once, at the first period with traffic on both: later traffic changes nothing
        ([(100, 1, 900, 9), (1200, 12, 10800, 108)], DEFAULT_WEIGHTS),
        ([(1200, 12, 10800, 108), (10, 0, 90, 1)], HIGH_TRAFFIC_WEIGHTS),
    ],
)
def test_the_adaptive_prior_is_chosen_once_from_request_counts(
    periods: list[tuple[int, int, int, int]], expected: tuple[float, ...]
) -> None:
    test = RatioTest(exact=True, adaptive=True)
    for period in periods:
        test.update(*period)
    assert tuple(w for _, w in test.prior) == pytest.approx(expected)
    # a test without `adaptive`, or with weights of its own, keeps its prior
    fixed = RatioTest(exact=True)
    own = RatioTest(exact=True, adaptive=True, weights=(1, 1, 1))
    for period in periods:
        fixed.update(*period)
        own.update(*period)
    assert tuple(w for _, w in fixed.prior) == pytest.approx(DEFAULT_WEIGHTS)
    assert tuple(w for _, w in own.prior) == pytest.approx((1 / 3,) * 3)


@pytest.mark.parametrize(("n1", "n0"), [(300, 2700), (1200, 10800)])
def test_the_high_traffic_prior_holds_alpha_under_peeking(n1: int, n0: int) -> None:
    # A/A at the traffic that selects the high-traffic prior (1% errors), checked 30 times
    alpha, runs, rng, rejected = 0.2, 1000, random.Random(12), 0
    for _ in range(runs):
        test = RatioTest(exact=True, adaptive=True)
        for _ in range(30):
            test.update(n1, rng.binomialvariate(n1, 0.01), n0, rng.binomialvariate(n0, 0.01))
            if test.log_e >= threshold(alpha):
                rejected += 1
                break
    assert tuple(w for _, w in test.prior) == pytest.approx(HIGH_TRAFFIC_WEIGHTS)
    assert rejected / runs <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / runs)
