"""Pure: human gates (coalmine/approvals.py): where a gate sits in a plan, what a tick, a timeout
and an operator's answer do to a deployment waiting at one, and what Prepare refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from coalmine import (
    analysis,
    approvals,
    deployment,
    execution_limits,
    lifecycle_events,
    strategies,
)
from coalmine.exceptions import InvalidInput
from coalmine.lock import AwaitingApproval
from coalmine.models import (
    Action,
    AnalysisConfig,
    ApprovalGate,
    Deployment,
    GateResult,
    OperatorAction,
    Verdict,
)
from coalmine.validation import parse_request

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
ALICE = "arn:aws:sts::123456789012:assumed-role/oncall/alice"


def _steps(*items: dict[str, Any]) -> dict[str, Any]:
    return {"functionName": "brand-api", "targetVersion": "2",
            "strategy": {"type": "steps", "steps": list(items)}}  # fmt: skip


def _baking(
    gate: dict[str, Any] | None = None, weights: tuple[float, ...] = (0.1,), **cfg: Any
) -> Deployment:
    """Step 1 of a plan, its bake (120 s) about to end; a gate after step 1 when ``gate``."""
    items: list[dict[str, Any]] = [{"weight": weights[0], "bakeSeconds": 120}]
    if gate is not None:
        items.append({"approval": gate})
    items += [{"weight": w, "bakeSeconds": 120} for w in weights[1:]]
    request = parse_request(_steps(*items))
    plan = strategies.resolve(request.strategy)
    config = AnalysisConfig(interval_seconds=60, **cfg)
    d = deployment.prepared("d-1", "brand-api", "prod", "1", "r", plan, config, "2", None)
    d = deployment.shifted(d.model_copy(update={"started_at": T0}), "r1")
    d.bake.elapsed_seconds = 60  # the next tick ends the bake
    return d


def _gates(verdict: Verdict) -> list[GateResult]:
    return [GateResult(gate="errors", verdict=verdict, reason=f"errors {verdict.value}")]


def _tick(d: Deployment, verdict: Verdict, now: datetime) -> Deployment:
    """What Analyze returns: the tick, then the plan's gates."""
    return approvals.after_tick(d, analysis.ticked(d, _gates(verdict), now=None), now)


def _answer(action: str, seconds: int, ident: str = "q1") -> OperatorAction:
    return OperatorAction(id=ident, action=action, principal=ALICE,  # type: ignore[arg-type]
                          at=T0 + timedelta(seconds=seconds), reason="checked by hand")  # fmt: skip


def _waiting(on_timeout: str = "rollback", timeout: int = 600) -> Deployment:
    d = _baking({"timeoutSeconds": timeout, "onTimeout": on_timeout})
    waiting = _tick(d, Verdict.PASS, T0)
    assert waiting.action == Action.AWAIT
    return waiting


# ----------------------------------------------------------------------------- entering a gate
def test_the_gated_step_passing_holds_its_weight_and_waits() -> None:
    after = _tick(_baking({"timeoutSeconds": 600}), Verdict.PASS, T0)
    assert after.action == Action.AWAIT
    assert after.weight == 0.1
    assert after.approval is not None
    assert (after.approval.step, after.approval.requested_at) == (0, T0)
    assert (after.approval.timeout_seconds, after.approval.wait_seconds) == (600, 60)
    assert after.steps[-1].verdict == Verdict.PASS
    assert after.steps[-1].reason is not None
    assert after.steps[-1].reason.endswith("waiting for approval")


@pytest.mark.parametrize(
    ("gate", "verdict", "action"),
    [
        (None, Verdict.PASS, Action.PROMOTE),  # no gate: promotion as before
        ({"timeoutSeconds": 600}, Verdict.FAIL, Action.ROLLBACK),  # a FAIL never waits
    ],
)
def test_no_gate_or_a_failing_step_goes_on_as_before(
    gate: dict[str, Any] | None, verdict: Verdict, action: Action
) -> None:
    d = _baking(gate)
    judged = analysis.ticked(d, _gates(verdict), now=None)
    after = approvals.after_tick(d, judged, T0)
    assert after == judged
    assert after.action == action
    assert after.approval is None


def test_a_wait_shorter_than_an_interval_lasts_the_gate_timeout() -> None:
    after = _tick(_baking({"timeoutSeconds": 60}), Verdict.PASS, T0)
    assert after.approval is not None
    assert after.approval.wait_seconds == 60


# ----------------------------------------------------------------------------- while it waits
@pytest.mark.parametrize(
    ("verdict", "seconds", "on_timeout", "action", "reason"),
    [
        (Verdict.PASS, 60, "rollback", Action.AWAIT, None),
        (Verdict.INCONCLUSIVE, 60, "rollback", Action.AWAIT, None),  # low traffic: holds
        (Verdict.FAIL, 60, "rollback", Action.ROLLBACK, "failed analysis"),
        (Verdict.FAIL, 60, "continue", Action.ROLLBACK, "failed analysis"),
        (Verdict.PASS, 600, "rollback", Action.ROLLBACK, "no approval within 600 s"),
        (Verdict.PASS, 600, "continue", Action.PROMOTE, None),
    ],
)
def test_each_tick_while_waiting(
    verdict: Verdict, seconds: int, on_timeout: str, action: Action, reason: str | None
) -> None:
    waiting = _waiting(on_timeout)
    after = _tick(waiting, verdict, T0 + timedelta(seconds=seconds))
    assert after.action == action
    if reason is not None:
        assert after.reason is not None
        assert reason in after.reason
    if action == Action.AWAIT:
        assert after.approval is not None
        assert after.approval.requested_at == T0  # the same gate
        assert after.bake == waiting.bake.model_copy(update={"wait_seconds": 60})
        assert after.steps[-1].verdict == Verdict.PASS
        assert len(after.steps[-1].ticks) == len(waiting.steps[-1].ticks) + 1  # recorded
    else:
        assert after.approval is None


def test_the_last_wait_lasts_what_is_left_of_the_gate() -> None:
    after = _tick(_waiting(timeout=600), Verdict.PASS, T0 + timedelta(seconds=570))
    assert after.approval is not None
    assert after.approval.wait_seconds == 30


def test_continue_on_timeout_says_nobody_answered() -> None:
    after = _tick(_waiting("continue"), Verdict.PASS, T0 + timedelta(seconds=601))
    assert after.steps[-1].reason is not None
    assert "no approval within 600 s" in after.steps[-1].reason
    assert "onTimeout continue" in after.steps[-1].reason


# ----------------------------------------------------------------------------- answers
def test_approve_goes_on_naming_the_operator() -> None:
    after = approvals.act(_waiting(), [_answer("approve", 30)], T0 + timedelta(seconds=31))
    assert after is not None
    assert after.action == Action.PROMOTE
    assert after.approval is None
    assert f"approved by {ALICE}: checked by hand" in (after.steps[-1].reason or "")
    [done] = after.operator_actions
    assert done.applied_at == T0 + timedelta(seconds=31)


def test_approve_before_another_step_shifts_to_it() -> None:
    d = _baking({"timeoutSeconds": 600}, weights=(0.1, 0.5))
    waiting = _tick(d, Verdict.PASS, T0)
    after = approvals.act(waiting, [_answer("approve", 30)], T0 + timedelta(seconds=31))
    assert after is not None
    assert after.action == Action.SHIFT


def test_reject_rolls_back_naming_the_operator() -> None:
    after = approvals.act(_waiting(), [_answer("reject", 30)], T0 + timedelta(seconds=31))
    assert after is not None
    assert after.action == Action.ROLLBACK
    assert after.reason == f"step 1 (10%) rejected by {ALICE}: checked by hand"
    rolled = deployment.rolled_back(after, "r2")
    assert rolled.reason == after.reason  # the execution's cause


def test_an_answer_when_nothing_waits_is_recorded_and_changes_nothing() -> None:
    d = _baking({"timeoutSeconds": 600})
    after = approvals.act(d, [_answer("approve", 30)], T0)
    assert after is not None
    assert after.action == Action.BAKE
    assert after.bake == d.bake
    assert [a.id for a in after.operator_actions] == ["q1"]


def test_an_answer_made_before_this_gate_opened_changes_nothing() -> None:
    """Two approves racing past the CLI's check: the second, left pending, must not answer a
    later gate."""
    waiting = _waiting()  # the gate opened at T0
    after = approvals.act(waiting, [_answer("approve", -30)], T0 + timedelta(seconds=31))
    assert after is not None
    assert after.action == Action.AWAIT
    assert after.approval == waiting.approval
    assert [a.id for a in after.operator_actions] == ["q1"]


def test_an_answer_names_its_gate_and_the_askers_clock_decides_nothing() -> None:
    """The gate the request names (the lock's `since`: the deployment's time) tells an earlier
    gate's answer from this one's, whatever the asker's clock read: a CLI whose clock is behind
    (years behind: a served sandbox's clients) answers the gate it saw."""
    waiting = _waiting()  # the gate opened at T0
    assert waiting.approval is not None
    opened = waiting.approval.requested_at
    now = T0 + timedelta(seconds=31)
    behind = _answer("approve", -(10**8)).model_copy(update={"gate": opened})
    after = approvals.act(waiting, [behind], now)
    assert after is not None
    assert after.approval is None
    assert after.action != Action.AWAIT
    assert "approved by" in (after.steps[-1].reason or "")
    # an answer to an earlier gate, its clock ahead, answers nothing
    earlier = _answer("reject", 30).model_copy(update={"gate": opened - timedelta(seconds=600)})
    kept = approvals.act(waiting, [earlier], now)
    assert kept is not None
    assert (kept.action, kept.approval) == (Action.AWAIT, waiting.approval)


def test_an_abort_while_waiting_ends_the_wait() -> None:
    after = approvals.act(_waiting(), [_answer("abort", 30)], T0 + timedelta(seconds=31))
    assert after is not None
    assert (after.action, after.approval) == (Action.ROLLBACK, None)


def test_the_lock_tells_a_second_answer_from_a_first() -> None:
    waiting = AwaitingApproval(token="t", step="step 1 (10%)", since=T0)
    earlier = _answer("approve", -60, "old")  # an earlier gate's
    assert waiting.answer((earlier,)) is None
    assert waiting.answer((earlier, _answer("reject", 5, "new"))) == _answer("reject", 5, "new")


def test_the_lock_tells_this_gates_answer_by_the_gate_it_names() -> None:
    """Whatever the askers' clocks read: one years behind answered this gate; one ahead named
    an earlier gate."""
    waiting = AwaitingApproval(token="t", step="step 1 (10%)", since=T0)
    behind = _answer("approve", -(10**8), "behind").model_copy(update={"gate": T0})
    ahead = _answer("approve", 60, "ahead").model_copy(update={"gate": T0 - timedelta(hours=1)})
    assert waiting.answer((ahead,)) is None
    assert waiting.answer((ahead, behind)) == behind


# ----------------------------------------------------------------------------- the event
def test_approval_requested_is_put_once_per_gate() -> None:
    d = _baking({"timeoutSeconds": 600})
    waiting = _tick(d, Verdict.PASS, T0)
    assert lifecycle_events.after_step(d, waiting) == [lifecycle_events.APPROVAL_REQUESTED]
    held = _tick(waiting, Verdict.PASS, T0 + timedelta(seconds=60))
    assert lifecycle_events.after_step(waiting, held) == []
    body = lifecycle_events.detail(waiting, lifecycle_events.APPROVAL_REQUESTED, T0)
    assert "coalmine approve|reject brand-api:prod" in body["reason"]
    assert "2030-01-01T12:10:00.000Z" in body["reason"]


# ----------------------------------------------------------------------------- the plan
@pytest.mark.parametrize(
    ("items", "gates", "steps", "post"),
    [
        ([{"weight": 0.1, "bakeSeconds": 60}, {"approval": {}}], [(0, 3600, "rollback")], 1, 0),
        (
            [{"weight": 0.1, "bakeSeconds": 60}, {"approval": {"timeoutSeconds": 120}},
             {"weight": 0.5, "bakeSeconds": 60},
             {"approval": {"onTimeout": "continue"}}, {"weight": 1.0, "bakeSeconds": 30}],
            [(0, 120, "rollback"), (1, 3600, "continue")], 2, 30,
        ),
    ],
)  # fmt: skip
def test_approval_items_gate_the_step_before_them(
    items: list[dict[str, Any]], gates: list[tuple[int, int, str]], steps: int, post: int
) -> None:
    plan = strategies.resolve(parse_request(_steps(*items)).strategy)
    assert [(g.after_step, g.timeout_seconds, g.on_timeout) for g in plan.approvals] == gates
    assert (len(plan.steps), plan.post_promotion_bake_seconds) == (steps, post)


@pytest.mark.parametrize(
    ("strategy", "after_step"),
    [
        ({"type": "canary", "percent": 10, "intervalMinutes": 5}, 0),
        ({"type": "linear", "percent": 25, "intervalMinutes": 1}, 2),
    ],
)
def test_approve_before_promotion_gates_the_last_step(
    strategy: dict[str, Any], after_step: int
) -> None:
    raw = {"functionName": "f", "targetVersion": "2",
           "strategy": {**strategy, "approveBeforePromotion": {"timeoutSeconds": 900}}}  # fmt: skip
    plan = strategies.resolve(parse_request(raw).strategy)
    assert plan.approvals == [ApprovalGate(after_step=after_step, timeout_seconds=900)]


@pytest.mark.parametrize(
    ("items", "field", "problem"),
    [
        ([{"approval": {}}, {"weight": 0.1, "bakeSeconds": 60}], "strategy.steps[0].approval",
         "must follow a step with traffic"),
        ([{"weight": 0.1, "bakeSeconds": 60}, {"approval": {}}, {"approval": {}}],
         "strategy.steps[2].approval", "two approvals in a row"),
        ([{"weight": 0.1, "bakeSeconds": 0}, {"approval": {}}], "strategy.steps[1].approval",
         "bakeSeconds > 0"),
        ([{"weight": 1.0, "bakeSeconds": 60}, {"approval": {}}], "strategy.steps[1].approval",
         "cannot follow the 100% step"),
        ([{"weight": 0.1, "bakeSeconds": 60}, {"approval": {"timeoutSeconds": 10}}],
         "strategy.steps[1].approval.timeoutSeconds", "greater than or equal to 60"),
        ([{"weight": 0.1, "bakeSeconds": 60}, {"approval": {"onTimeout": "promote"}}],
         "strategy.steps[1].approval.onTimeout", "'rollback' or 'continue'"),
        ([{"weight": 0.1, "bakeSeconds": 60}, {"approval": {}, "weight": 0.2}],
         "strategy.steps[1].weight", "extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_a_misplaced_or_malformed_approval_names_its_field(
    items: list[dict[str, Any]], field: str, problem: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_request(_steps(*items))
    assert raised.value.field == field
    assert problem in str(raised.value)


def test_a_gate_counts_its_waits_in_the_history_limit() -> None:
    cfg = AnalysisConfig(interval_seconds=10)
    plain = strategies.resolve(parse_request(_steps({"weight": 0.1, "bakeSeconds": 600})).strategy)
    gated = plain.model_copy(
        update={"approvals": [ApprovalGate(after_step=0, timeout_seconds=86400)]}
    )
    waits = execution_limits.worst_case_events(gated, cfg)
    extra = (86400 // 10 + 1) * execution_limits.EVENTS_PER_APPROVAL_TICK
    assert waits - execution_limits.worst_case_events(plain, cfg) == extra
    raw = _steps({"weight": 0.1, "bakeSeconds": 600}, {"approval": {"timeoutSeconds": 86400}})
    with pytest.raises(InvalidInput) as raised:  # a day's gate judged every 10 s: too long
        parse_request({**raw, "analysis": {"intervalSeconds": 10}})
    assert raised.value.field == "analysis.intervalSeconds"
    parse_request({**raw, "analysis": {"intervalSeconds": 60}})  # every minute fits


# ----------------------------------------------------------------------------- lowTrafficPolicy ask
ASK = {"low_traffic_policy": "ask", "max_bake_extension_seconds": 0, "ask_timeout_seconds": 900}


@pytest.mark.parametrize(
    ("cfg", "verdict", "action", "timeout"),
    [
        (ASK, Verdict.INCONCLUSIVE, Action.AWAIT, 900),  # too little traffic: a human decides
        (ASK, Verdict.PASS, Action.PROMOTE, None),  # judged: no one is asked
        (ASK, Verdict.FAIL, Action.ROLLBACK, None),
        ({**ASK, "dry_run": True}, Verdict.INCONCLUSIVE, Action.PROMOTE, None),  # not enforced
        ({**ASK, "low_traffic_policy": "rollback"}, Verdict.INCONCLUSIVE, Action.ROLLBACK, None),
    ],
)
def test_ask_hands_an_inconclusive_end_of_bake_to_a_human(
    cfg: dict[str, Any], verdict: Verdict, action: Action, timeout: int | None
) -> None:
    after = _tick(_baking(**cfg), verdict, T0)
    assert after.action == action
    assert (after.approval.timeout_seconds if after.approval else None) == timeout
    if timeout is not None:
        assert after.approval is not None
        assert after.approval.on_timeout == "rollback"
        assert "a human decides" in (after.steps[-1].ticks[-1].reason or "")


def test_ask_uses_the_plans_own_gate_when_the_step_has_one() -> None:
    after = _tick(_baking({"timeoutSeconds": 120, "onTimeout": "continue"}, **ASK),
                  Verdict.INCONCLUSIVE, T0)  # fmt: skip
    assert after.approval is not None
    assert (after.approval.timeout_seconds, after.approval.on_timeout) == (120, "continue")


def test_ask_holds_then_an_approve_promotes_an_unjudged_step() -> None:
    waiting = _tick(_baking(**ASK), Verdict.INCONCLUSIVE, T0)
    held = _tick(waiting, Verdict.INCONCLUSIVE, T0 + timedelta(seconds=60))
    assert held.action == Action.AWAIT  # still too little traffic: it keeps asking
    after = approvals.act(held, [_answer("approve", 90)], T0 + timedelta(seconds=91))
    assert after is not None
    assert after.action == Action.PROMOTE
    timed_out = _tick(held, Verdict.INCONCLUSIVE, T0 + timedelta(seconds=900))
    assert timed_out.action == Action.ROLLBACK


def test_ask_counts_a_possible_gate_per_bake_in_the_history_limit() -> None:
    plan = strategies.resolve("Linear10PercentEvery10Minutes")
    ask = AnalysisConfig(low_traffic_policy="ask", ask_timeout_seconds=600)
    assert execution_limits.approval_ticks(plan, ask) == len(plan.steps) * (600 // 60 + 1)
    assert execution_limits.approval_ticks(plan, AnalysisConfig()) == 0


@pytest.mark.parametrize(
    ("strategy", "field", "problem"),
    [
        ({"type": "canary", "percent": 10, "intervalMinutes": 5,
          "approveBeforePromotion": {"timeoutSeconds": 1}},
         "strategy.approveBeforePromotion.timeoutSeconds", "greater than or equal to 60"),
        ({"type": "blueGreen", "approveBeforePromotion": {}},  # no weighted step to hold
         "strategy.approveBeforePromotion", "extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_approve_before_promotion_is_checked_and_named(
    strategy: dict[str, Any], field: str, problem: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_request({"functionName": "f", "targetVersion": "2", "strategy": strategy})
    assert raised.value.field == field
    assert problem in str(raised.value)
