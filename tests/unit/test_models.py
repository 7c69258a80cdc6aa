"""The verdict/action vocabulary: ``worst`` and the tick's JSON (pure)."""

from __future__ import annotations

import pytest

from coalmine.models import GateResult, Tick, TickAction, Verdict, worst

P, U, F = Verdict.PASS, Verdict.INCONCLUSIVE, Verdict.FAIL


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
        ([U, U], U),
        ([F, P], F),
        ([U, F], F),
    ],
)
def test_worst_takes_the_worst(verdicts: list[Verdict], expected: Verdict) -> None:
    assert worst(verdicts) == expected
    assert worst(iter(verdicts)) == expected  # any iterable, read once


def test_a_tick_is_written_with_its_action_as_a_plain_string() -> None:
    gate = GateResult(gate="errors", verdict=F, reason="worse")
    tick = Tick(elapsed_seconds=60, verdict=F, gates=[gate], action=TickAction.ROLLBACK)
    doc = tick.to_json()
    assert doc == {
        "elapsedSeconds": 60,
        "verdict": "FAIL",
        "gates": [{"gate": "errors", "verdict": "FAIL", "reason": "worse", "evidence": {}}],
        "action": "ROLLBACK",
        "reason": None,
        "enforced": True,
        "at": None,  # extend-only: the tick's time and coverage
        "coverage": None,
        "seq": None,  # extend-only: its number once written to the evidence store
    }
    assert Tick.model_validate(doc) == tick
    assert Tick.model_validate(doc).action is TickAction.ROLLBACK


@pytest.mark.parametrize("action", ["CONTINUE", "EXTEND", "PASS", "ROLLBACK", None])
def test_every_tick_action_reads_back(action: str | None) -> None:
    tick = Tick.model_validate(
        {"elapsedSeconds": 0, "verdict": "PASS", "gates": [], "action": action}
    )
    assert tick.to_json()["action"] == action
