"""Pure: human gates (docs/approvals.md).

A plan's gate (``Plan.approvals``: a steps plan's ``{"approval": ...}`` item, or
``strategy.approveBeforePromotion``) holds the weighted step before it once its bake passed:

    entered      the tick that passes the gated step does not move on: the deployment waits
                 (``Deployment.approval``, action AWAIT: the AwaitApproval state, a
                 ``.waitForTaskToken`` Task whose token the lock keeps for ``coalmine approve``).
    each wait    lasts at most one analysis interval (AwaitApproval's TimeoutSecondsPath); its
                 timeout is the tick: Analyze judges the held step as usual, a FAIL rolls back
                 at once, anything else keeps holding (the step stays passed, its bake clock
                 stopped) until ``timeout_seconds`` since the gate was entered have passed.
    timed out    ``on_timeout`` "rollback" (the default) rolls back, "continue" goes on as if
                 approved (the step's reason says nobody answered).
    approve      (an operator's request, acted on by Analyze: ``answered``) goes on: the next
                 shift, or promotion. reject rolls back, the reason naming the operator.

``analysis.lowTrafficPolicy`` "ask" opens a gate the same way when a bake (the watch after a
cutover included) ends without enough traffic to judge it (``asked``): a human decides instead of
the policy; unanswered for ``analysis.askTimeoutSeconds``, it rolls back.

Abort and promote-now end a wait too (operator_actions.act clears ``approval``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from coalmine import deployment, operator_actions
from coalmine.models import (
    Action,
    ApprovalGate,
    ApprovalWait,
    Bake,
    Deployment,
    OperatorAction,
    Outcome,
    TickAction,
    Verdict,
)

APPROVE, REJECT = "approve", "reject"


def gate_after(d: Deployment, step_index: int) -> ApprovalGate | None:
    """The plan's gate after step ``step_index`` (0-based), if any."""
    return next((g for g in d.plan.approvals if g.after_step == step_index), None)


def asked(before: Deployment, judged: Deployment) -> ApprovalGate | None:
    """``analysis.lowTrafficPolicy`` "ask": the tick ended the step (or the watch) without
    enough traffic to judge it, and enforced that: a gate opens (``analysis.askTimeoutSeconds``,
    then a rollback). A plan's own gate after that step is the one used, if there is one."""
    last = judged.steps[-1].ticks[-1] if judged.steps and judged.steps[-1].ticks else None
    if last is None or last.action != TickAction.ASK or not last.enforced:
        return None
    if judged.action not in (Action.SHIFT, Action.PROMOTE, Action.FINISH):
        return None
    own = gate_after(before, before.step_index) if before.outcome != Outcome.PROMOTED else None
    return own or ApprovalGate(
        after_step=max(before.step_index, 0),
        timeout_seconds=before.analysis.ask_timeout_seconds,
        on_timeout="rollback",
    )


def waiting_step(d: Deployment) -> str:
    """How a reason names the gated step."""
    return deployment.step_name(d.steps[-1]) if d.steps else "the deployment"


def after_tick(before: Deployment, judged: Deployment, now: datetime) -> Deployment:
    """The tick's result (``judged``, from ``before``) as the plan's gates leave it: a gate
    entered when the gated step passes; while waiting, a FAIL rolls back, a timeout does what
    ``on_timeout`` says, anything else holds the step."""
    if before.approval is not None:
        return _while_waiting(before, judged, now)
    gate = asked(before, judged)
    if gate is None:
        passed = judged.action in (Action.SHIFT, Action.PROMOTE)
        gate = gate_after(before, before.step_index)
        if not passed or gate is None or before.outcome == Outcome.PROMOTED:
            return judged
    after = judged.model_copy(deep=True)
    wait = min(before.analysis.interval_seconds, gate.timeout_seconds)
    after.approval = ApprovalWait(
        step=before.step_index,
        requested_at=now,
        timeout_seconds=gate.timeout_seconds,
        on_timeout=gate.on_timeout,
        wait_seconds=wait,
    )
    after.bake = before.bake.model_copy(update={"wait_seconds": wait})
    after.bake.elapsed_seconds = judged.bake.elapsed_seconds
    if after.steps:
        after.steps[-1].reason = f"{after.steps[-1].reason}; waiting for approval"
    after.action = Action.AWAIT
    return after


def _while_waiting(before: Deployment, judged: Deployment, now: datetime) -> Deployment:
    waiting = before.approval
    assert waiting is not None
    last = judged.steps[-1].ticks[-1] if judged.steps and judged.steps[-1].ticks else None
    if judged.action == Action.ROLLBACK and last is not None and last.verdict == Verdict.FAIL:
        return judged.model_copy(update={"approval": None})
    waited = (now - waiting.requested_at).total_seconds()
    held = judged.model_copy(deep=True)
    held.bake = before.bake.model_copy()
    if held.steps and before.steps:
        held.steps[-1].verdict = before.steps[-1].verdict
        held.steps[-1].reason = before.steps[-1].reason
    if waited >= waiting.timeout_seconds:
        return timed_out(held, waited)
    left = waiting.timeout_seconds - int(waited)
    wait = max(1, min(before.analysis.interval_seconds, left))
    held.approval = waiting.model_copy(update={"wait_seconds": wait})
    held.bake.wait_seconds = wait
    held.action = Action.AWAIT
    return held


def timed_out(held: Deployment, waited: float) -> Deployment:
    """Nobody answered within the gate's ``timeout_seconds``: ``on_timeout`` decides."""
    waiting = held.approval
    assert waiting is not None
    why = (
        f"{waiting_step(held)}: no approval within {waiting.timeout_seconds} s "
        f"(waited {waited:.0f} s)"
    )
    if waiting.on_timeout == "rollback":
        reason = f"{why}: rolled back (onTimeout rollback)"
        out = held.model_copy(update={"approval": None, "action": Action.ROLLBACK})
        out.reason = reason
        return out
    return _go_on(held, f"{why}: went on (onTimeout continue)")


def act(d: Deployment, requests: Iterable[OperatorAction], now: datetime) -> Deployment | None:
    """operator_actions.act, approve and reject included: the deployment as its oldest pending
    request leaves it, or None (none pending)."""
    todo = operator_actions.pending(d, requests)
    if todo and todo[0].action in (APPROVE, REJECT):
        return answered(d, todo[0], now)
    return operator_actions.act(d, todo, now)


def answered(d: Deployment, request: OperatorAction, now: datetime) -> Deployment:
    """An operator's approve or reject (``request``), acted on by Analyze. One arriving when
    nothing waits (the gate timed out meanwhile), or made before this gate opened (a second
    answer to an earlier gate), is recorded and changes nothing."""
    done = [*d.operator_actions, request.model_copy(update={"applied_at": now})]
    who = f"{'approved' if request.action == APPROVE else 'rejected'} by {request.principal}"
    why = f"{who}: {request.reason}"
    if d.approval is None or _earlier_gate(request, d.approval):
        after = d.model_copy(update={"operator_actions": done}, deep=True)
        after.bake.wait_seconds = max(1, d.bake.wait_seconds)
        if after.action not in (Action.BAKE, Action.AWAIT):
            after.action = Action.BAKE
        return after
    after = d.model_copy(update={"operator_actions": done}, deep=True)
    if request.action == REJECT:
        reason = f"{waiting_step(d)} {why}"
        after.approval, after.action, after.reason = None, Action.ROLLBACK, reason
        if after.steps:
            after.steps[-1].reason = f"{after.steps[-1].reason}; {why}"
        return after
    return _go_on(after, why)


def _earlier_gate(request: OperatorAction, waiting: ApprovalWait) -> bool:
    """The request answered a gate that opened before this one (two answers raced past the
    CLI's check; the second, left pending, must not answer a later gate). Told by the gate it
    names (the deployment's own time); a request naming none (an older CLI's) by its `at`, the
    asker's clock."""
    if request.gate is not None:
        return request.gate < waiting.requested_at
    return request.at < waiting.requested_at


def _go_on(d: Deployment, why: str) -> Deployment:
    """Past the gate: the next shift, or promotion."""
    after = d.model_copy(update={"approval": None}, deep=True)
    if after.steps:
        after.steps[-1].reason = (after.steps[-1].reason or "").replace("waiting for approval", why)
    after.bake = Bake()
    after.action = deployment.after_step(after)
    return after
