"""Metric gates: per-version counts -> gate results (pure)."""

from __future__ import annotations

import pytest

from coalmine.gates import (
    Period,
    VersionSample,
    error_rate_limit_gate,
    errors_gate,
    evaluate,
    gate_alpha,
    latency_gate,
    latency_limit_gate,
    throttles_gate,
)
from coalmine.gates_config import LATENCY_LADDER_MS, GatesConfig
from coalmine.models import Verdict

P, U, F = Verdict.PASS, Verdict.INCONCLUSIVE, Verdict.FAIL
CFG = GatesConfig()


def _pr(over: dict[float, float]) -> dict[float, float]:
    """PR(:t) for every ladder threshold from the share of requests slower than t (default 0)."""
    return {t: 100 * (1 - over.get(t, 0.0)) for t in LATENCY_LADDER_MS}


def _minutes(count: int, new: VersionSample, old: VersionSample) -> list[Period]:
    return [Period(new=new, old=old)] * count


@pytest.mark.parametrize(
    ("sample", "t", "expected"),
    [
        (VersionSample(invocations=200, pr={100.0: 95.0}), 100.0, 10.0),
        (VersionSample(invocations=200, pr={100.0: 100.0}), 100.0, 0.0),
        (VersionSample(invocations=3, pr={100.0: 66.6667}), 100.0, 1.0),
        (VersionSample(invocations=200, pr={100.0: 95.0}), 200.0, None),  # no such statistic
        (VersionSample(), 100.0, None),  # no traffic, no datapoint
    ],
)
def test_over_turns_percentile_rank_into_a_count(
    sample: VersionSample, t: float, expected: float | None
) -> None:
    assert sample.over(t) == expected


@pytest.mark.parametrize(
    ("minutes", "new", "old", "verdict", "words"),
    [
        (5, (120, 1), (1080, 11), P, "no error regression"),
        (5, (120, 6), (1080, 11), F, "above the old version's 1.02%"),
        (1, (50, 1), (450, 5), U, "served 50 of the 100"),
        (1, (30, 25), (270, 3), F, "83.33%"),  # a clear failure needs no minimum sample
        (3, (0, 0), (1000, 10), U, "served 0 of the 100"),  # the canary got no traffic
    ],
)
def test_errors_gate(
    minutes: int, new: tuple[int, int], old: tuple[int, int], verdict: Verdict, words: str
) -> None:
    periods = _minutes(minutes, VersionSample(*new), VersionSample(*old))
    gate = errors_gate(periods, CFG, 0.005)
    assert (gate.gate, gate.verdict) == ("errors", verdict)
    assert words in gate.reason
    assert gate.evidence["newInvocations"] == new[0] * minutes
    assert gate.evidence["oldErrors"] == old[1] * minutes
    assert gate.evidence["rejectAt"] == pytest.approx(200)
    assert (gate.evidence["eValue"] >= 200) == (verdict == F)


@pytest.mark.parametrize(
    ("new_over", "old_over", "new_n", "verdict"),
    [
        ({100.0: 0.3, 200.0: 0.1, 500.0: 0.01}, {100.0: 0.3, 200.0: 0.1, 500.0: 0.01}, 120, P),
        ({100.0: 0.95, 200.0: 0.8, 500.0: 0.2}, {100.0: 0.3, 200.0: 0.1, 500.0: 0.01}, 120, F),
        ({100.0: 0.3, 200.0: 0.1}, {100.0: 0.3, 200.0: 0.1}, 10, U),
    ],
)
def test_latency_gate(
    new_over: dict[float, float], old_over: dict[float, float], new_n: int, verdict: Verdict
) -> None:
    new = VersionSample(invocations=new_n, pr=_pr(new_over), p99_ms=900.0)
    old = VersionSample(invocations=new_n * 9, pr=_pr(old_over), p99_ms=300.0)
    gate = latency_gate(_minutes(3, new, old), CFG, 0.005)
    assert (gate.gate, gate.verdict) == ("latency", verdict)
    assert gate.evidence["newP99Ms"] == 900.0
    if verdict == F:
        assert gate.evidence["thresholdMs"] in {100.0, 200.0, 500.0}
        assert "slower than" in gate.reason


@pytest.mark.parametrize(
    ("share_over", "verdict"),
    [(0.001, P), (0.10, F)],
)
def test_latency_limit_gate(share_over: float, verdict: Verdict) -> None:
    cfg = GatesConfig(latency_limit_ms=750)
    new = VersionSample(invocations=300, pr={750.0: 100 * (1 - share_over)})
    gate = latency_limit_gate(_minutes(3, new, VersionSample()), cfg, 0.005)
    assert (gate.gate, gate.verdict) == ("latency-limit", verdict)
    assert gate.evidence["limitMs"] == 750
    assert 750.0 in cfg.latency_thresholds()


@pytest.mark.parametrize(
    ("errors", "verdict"),
    [(2, P), (30, F)],
)
def test_error_rate_limit_gate(errors: int, verdict: Verdict) -> None:
    cfg = GatesConfig(max_error_rate=0.05)
    periods = _minutes(2, VersionSample(200, errors), VersionSample())
    gate = error_rate_limit_gate(periods, cfg, 0.005)
    assert (gate.gate, gate.verdict) == ("error-rate-limit", verdict)


@pytest.mark.parametrize(("throttles", "verdict"), [(0, P), (3, P), (4, F)])
def test_throttles_gate(throttles: int, verdict: Verdict) -> None:
    cfg = GatesConfig(max_throttles=3)
    periods = [Period(VersionSample(100, 0, throttles), VersionSample())]
    assert throttles_gate(periods, cfg).verdict == verdict


@pytest.mark.parametrize(
    ("config", "names", "alphas"),
    [
        ({}, ["errors", "latency"], {"errors": 0.009, "latency": 0.001}),
        ({"compareLatency": False}, ["errors"], {"errors": 0.01}),
        (
            {"latencyLimitMs": 2000, "maxErrorRate": 0.1, "maxThrottles": 0},
            ["errors", "latency", "latency-limit", "error-rate-limit", "throttles"],
            {"errors": 0.0075, "latency": 0.01 / 12, "latency-limit": 0.01 / 12},
        ),
        ({"compareErrors": False, "compareLatency": False}, [], {"errors": 0.01}),
        ({"compareErrors": False}, ["latency"], {"latency": 0.01}),
    ],
)
def test_evaluate_runs_the_configured_gates(
    config: dict, names: list[str], alphas: dict[str, float]
) -> None:
    cfg = GatesConfig.model_validate(config)
    periods = _minutes(5, VersionSample(120, 1, pr=_pr({})), VersionSample(1080, 10, pr=_pr({})))
    results = evaluate(periods, cfg)
    assert [g.gate for g in results] == names
    for gate, alpha in alphas.items():
        assert gate_alpha(cfg, gate) == pytest.approx(alpha)
    # every statistical gate reports the threshold its share of alpha sets
    for g in results:
        if "rejectAt" in g.evidence:
            assert g.evidence["rejectAt"] == pytest.approx(1 / gate_alpha(cfg, g.gate), rel=1e-3)
    # the shares add up to the whole false-rollback rate
    stat = [g.gate for g in results if "rejectAt" in g.evidence]
    if stat:
        assert sum(gate_alpha(cfg, n) for n in stat) == pytest.approx(cfg.false_rollback_rate)


def test_config_defaults_and_wire_names() -> None:
    cfg = GatesConfig()
    assert cfg.to_json()["falseRollbackRate"] == 0.01
    assert (cfg.min_invocations, cfg.low_traffic_policy) == (100, "rollback")
    assert cfg.latency_thresholds() == LATENCY_LADDER_MS
    with pytest.raises(ValueError, match="lowTrafficPolicy"):
        GatesConfig.model_validate({"lowTrafficPolicy": "hope"})
