"""Gate results -> verdicts (pure)."""

from __future__ import annotations

import pytest

from coalmine.analysis import alarms_gate, combine, failure_reason, step_verdict
from coalmine.models import GateResult, Tick, Verdict

P, U, F = Verdict.PASS, Verdict.INCONCLUSIVE, Verdict.FAIL


def _gate(verdict: Verdict, name: str = "g") -> GateResult:
    return GateResult(gate=name, verdict=verdict, reason=f"{name} says {verdict}")


@pytest.mark.parametrize(
    ("states", "verdict", "named"),
    [
        ({"errors": "OK"}, P, []),
        ({"errors": "OK", "latency": "OK"}, P, []),
        ({"errors": "ALARM", "latency": "OK"}, F, ["errors"]),
        ({"b": "ALARM", "a": "ALARM"}, F, ["a, b"]),
        ({"errors": "ALARM", "latency": "INSUFFICIENT_DATA"}, F, ["errors"]),
        ({"errors": "INSUFFICIENT_DATA", "latency": "OK"}, U, ["errors"]),
        ({"gone": "MISSING"}, U, ["gone"]),
    ],
)
def test_alarms_gate(states: dict[str, str], verdict: Verdict, named: list[str]) -> None:
    gate = alarms_gate(states)
    assert gate is not None
    assert gate.verdict == verdict
    assert gate.gate == "alarms"
    assert all(name in gate.reason for name in named)
    assert gate.evidence["states"] == states


def test_no_alarms_no_gate() -> None:
    assert alarms_gate({}) is None


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([], P),
        ([P], P),
        ([P, P], P),
        ([P, U], U),
        ([U, P], U),
        ([P, F, U], F),
        ([F], F),
    ],
)
def test_combine_takes_the_worst(verdicts: list[Verdict], expected: Verdict) -> None:
    assert combine([_gate(v, f"g{i}") for i, v in enumerate(verdicts)]) == expected


def test_failure_reason_names_only_failing_gates() -> None:
    reason = failure_reason([_gate(P, "ok"), _gate(F, "alarms"), _gate(F, "errors")])
    assert reason == "alarms: alarms says FAIL; errors: errors says FAIL"


@pytest.mark.parametrize(
    ("tick_verdicts", "expected", "reason_part"),
    [
        ([], P, "no analysis ran"),
        ([P, P, P], P, "3 analysis tick(s) passed"),
        ([P, U, P], U, "g says INCONCLUSIVE"),
    ],
)
def test_step_verdict(tick_verdicts: list[Verdict], expected: Verdict, reason_part: str) -> None:
    ticks = [
        Tick(elapsed_seconds=60 * i, verdict=v, gates=[_gate(v)])
        for i, v in enumerate(tick_verdicts)
    ]
    verdict, reason = step_verdict(ticks)
    assert verdict == expected
    assert reason_part in reason
