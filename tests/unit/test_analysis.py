"""analysis: the tick's one metric request, a table of fake answers -> gate results, the alarms
gate, and ``combine`` (the judged gates -> verdict and action). The tick's transition of the
Deployment (``analysis.ticked``) is tested in test_tick.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from coalmine.analysis import alarms_gate, combine, judge_metrics, metric_request
from coalmine.async_gates import target_from_config
from coalmine.gates_config import GatesConfig
from coalmine.models import Deployment, GateResult, Outcome, TickAction, Verdict
from events import load_event

P, U, F = Verdict.PASS, Verdict.INCONCLUSIVE, Verdict.FAIL
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
ASYNC_CONFIG = {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600}


def _baking(**update: Any) -> Deployment:
    return Deployment.model_validate(load_event("analyze")).model_copy(update=update)


def _r(qid: str, value: float) -> dict[str, Any]:
    return {"Id": qid, "Timestamps": [T0], "Values": [value]}


SYNC_ANSWER = [_r("n_inv", 120), _r("n_err", 1), _r("o_inv", 1080), _r("o_err", 10)]


def _gate(verdict: Verdict, name: str = "g") -> GateResult:
    return GateResult(gate=name, verdict=verdict, reason=f"{name} says {verdict}")


# ----------------------------------------------------------------------------- request, answer
@pytest.mark.parametrize(
    ("update", "prefixes", "async_ids"),
    [
        pytest.param({}, {"n", "o"}, {"a_rcv"}, id="canary: both versions, async arrivals"),
        pytest.param(
            {"outcome": Outcome.PROMOTED},
            {"n", "o"},
            {"a_rcv"},
            id="the watch after a cutover: both (the old version before it)",
        ),
        pytest.param(
            {"async_target": target_from_config(ASYNC_CONFIG)},
            {"n", "o"},
            {"a_rcv", "a_drp", "a_age", "a_ddf", "a_dle"},
            id="async target: the whole queue",
        ),
    ],
)
def test_one_request_holds_what_the_tick_judges(
    update: dict[str, Any], prefixes: set[str], async_ids: set[str]
) -> None:
    ids = {q["Id"] for q in metric_request(_baking(**update))}
    assert {i.split("_")[0] for i in ids} == prefixes | {"a"}
    assert {i for i in ids if i.startswith("a_")} == async_ids


def test_a_sync_alias_is_judged_by_the_version_gates_only() -> None:
    current, results, new_invocations = judge_metrics(_baking(), SYNC_ANSWER)
    assert current.async_target is None
    assert [g.gate for g in results] == ["errors", "latency"]
    assert new_invocations == 120


def test_async_arrivals_reveal_an_async_target_judged_from_the_next_tick() -> None:
    # Given no event invoke config was found, When the alias turns out to receive async events
    current, results, _ = judge_metrics(_baking(), [*SYNC_ANSWER, _r("a_rcv", 40)])
    # Then it becomes an async target with Lambda's defaults, and this tick judges versions only
    assert current.async_target is not None
    assert current.async_target.configured is False
    assert [g.gate for g in results] == ["errors", "latency"]


def test_a_known_async_target_adds_the_async_gates() -> None:
    known = _baking(async_target=target_from_config(ASYNC_CONFIG))
    answer = [*SYNC_ANSWER, _r("a_rcv", 40), _r("a_ddf", 3)]
    _, results, _ = judge_metrics(known, answer)
    gates = {g.gate: g.verdict for g in results}
    assert {"errors", "latency", "event-age", "destination-delivery"} <= set(gates)
    assert gates["destination-delivery"] == "FAIL"


# ----------------------------------------------------------------------------- alarms gate
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


# ----------------------------------------------------------------------------- combine
@pytest.mark.parametrize(
    ("verdicts", "bake_over", "extended", "policy", "action", "extend"),
    [
        ([P, F], False, 0, "rollback", TickAction.ROLLBACK, 0),
        ([P, U], False, 0, "rollback", TickAction.CONTINUE, 0),
        ([P, P], True, 0, "rollback", TickAction.PASS, 0),
        ([], True, 0, "rollback", TickAction.PASS, 0),
        ([P, U], True, 0, "rollback", TickAction.EXTEND, 60),
        ([P, U], True, 1770, "rollback", TickAction.EXTEND, 30),
        ([P, U], True, 1800, "rollback", TickAction.ROLLBACK, 0),
        ([P, U], True, 1800, "promote", TickAction.PASS, 0),
        ([U, F], True, 1800, "promote", TickAction.ROLLBACK, 0),
        ([P], False, 0, "rollback", TickAction.CONTINUE, 0),
        ([F], True, 1800, "promote", TickAction.ROLLBACK, 0),
        ([U], True, 0, "promote", TickAction.EXTEND, 60),
    ],
)
def test_combine(
    verdicts: list[Verdict],
    bake_over: bool,
    extended: int,
    policy: str,
    action: TickAction,
    extend: int,
) -> None:
    cfg = GatesConfig.model_validate({"lowTrafficPolicy": policy})
    gates = [_gate(v) for v in verdicts]
    decision = combine(
        gates, bake_over=bake_over, extended_seconds=extended, interval_seconds=60, cfg=cfg
    )
    assert (decision.action, decision.extend_seconds) == (action, extend)
    worst = F if F in verdicts else U if U in verdicts else P
    assert decision.verdict == worst
    if action == TickAction.ROLLBACK and F not in verdicts:
        assert decision.reason.startswith("not enough traffic")


@pytest.mark.parametrize(
    ("bake_over", "extended", "policy", "reason"),
    [
        (True, 0, "rollback", "extending the bake: g: g says INCONCLUSIVE"),
        (True, 1800, "rollback", "not enough traffic: g: g says INCONCLUSIVE"),
        (True, 1800, "promote", "not enough traffic, promoted by policy: g: g says INCONCLUSIVE"),
        (False, 0, "rollback", "baking"),
    ],
)
def test_combine_quotes_the_inconclusive_gates(
    bake_over: bool, extended: int, policy: str, reason: str
) -> None:
    cfg = GatesConfig.model_validate({"lowTrafficPolicy": policy})
    gates = [_gate(P, "ok"), _gate(U)]
    decision = combine(
        gates, bake_over=bake_over, extended_seconds=extended, interval_seconds=60, cfg=cfg
    )
    assert decision.reason == reason


def test_a_rollback_names_only_the_failing_gates() -> None:
    gates = [_gate(P, "ok"), _gate(F, "alarms"), _gate(F, "errors")]
    decision = combine(gates, bake_over=False, extended_seconds=0, interval_seconds=60,
                       cfg=GatesConfig())  # fmt: skip
    assert decision.reason == "alarms: alarms says FAIL; errors: errors says FAIL"


def test_a_passed_tick_counts_its_gates() -> None:
    gates = [_gate(P, "a"), _gate(P, "b")]
    decision = combine(gates, bake_over=True, extended_seconds=0, interval_seconds=60,
                       cfg=GatesConfig())  # fmt: skip
    assert (decision.action, decision.reason) == (TickAction.PASS, "2 gate(s) passed")
