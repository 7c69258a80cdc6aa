"""Pure: an operator steering a running deployment (docs/operating.md).

A request (``models.OperatorAction``: action, principal, time, reason) is appended to the alias's
lock item by ``coalmine abort`` / ``coalmine promote --now`` or a rehearsal's event
(adapters/operator_requests.py), only while the deployment it names holds the lock. Analyze reads
the lock at its next tick and, before any analysis, ``act`` decides what the oldest request not
yet acted on does:

    abort        roll back at once (the alias wholly back on the old version through the
                 Rollback state), then the execution ends FAILED with ``DeploymentAborted``, its
                 cause naming the operator and their reason (``cause``); the history item and
                 the ``Deployment Aborted`` event say the same. A console Stop is not this:
                 Cleanup handles it (ABORTED execution, ``Deployment Stopped``).
    promote-now  skip the remaining bakes: the current step ends unjudged and the Promote state
                 puts the alias wholly on the new version (hooks included). The watch after the
                 cutover (``analysis.watchSeconds``) still runs: it is the only look at the new
                 version under all the traffic, and it can still roll back. A promote-now during
                 the watch ends it: the deployment finishes promoted.
    pause        hold the current weight: the bake clock stops (``held``: each tick still
                 analyses and a FAIL still rolls back, but the step neither passes nor ends);
                 a pause longer than ``analysis.maxPauseSeconds`` (default 24 h) rolls back.
    resume       the bake goes on from where the pause stopped it.

Each request acted on is kept in the document's ``operatorActions`` with ``appliedAt``; the
document's ``reason`` names the operator ("promoted now by ...", "aborted by ...").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from coalmine.models import Action, Bake, Deployment, ErrorInfo, OperatorAction, Outcome

#: The execution's error when an operator aborted it (the ``Aborted`` Fail state).
ABORTED_ERROR = "DeploymentAborted"
#: The actions an operator may request (the CLI's verbs, the scenario's events).
ACTIONS = ("abort", "promote-now", "pause", "resume", "approve", "reject")
ABORT, PROMOTE_NOW, PAUSE, RESUME, APPROVE, REJECT = ACTIONS


def pending(d: Deployment, requests: Iterable[OperatorAction]) -> list[OperatorAction]:
    """The requests not yet acted on, oldest first (the document keeps those that were)."""
    done = {a.id for a in d.operator_actions}
    return sorted((r for r in requests if r.id not in done), key=lambda r: r.at)


#: How the deployment's reason names each action's operator.
_DONE = {ABORT: "aborted", PROMOTE_NOW: "promoted now", PAUSE: "paused", RESUME: "resumed",
         APPROVE: "approved", REJECT: "rejected"}  # fmt: skip


def cause(request: OperatorAction) -> str:
    """The deployment's reason (an abort's execution cause): who did what, and why."""
    return f"{_DONE[request.action]} by {request.principal}: {request.reason}"


def act(d: Deployment, requests: Iterable[OperatorAction], now: datetime) -> Deployment | None:
    """The deployment as the oldest pending request leaves it; None when none is pending (the
    tick analyses as usual)."""
    todo = pending(d, requests)
    if not todo:
        return None
    request = todo[0]
    why = cause(request)
    done = [*d.operator_actions, request.model_copy(update={"applied_at": now})]
    if request.action == ABORT:
        error = ErrorInfo(Error=ABORTED_ERROR, Cause=why)
        return d.model_copy(
            update={"action": Action.ROLLBACK, "reason": why, "error": error,
                    "operator_actions": done, "paused_at": None, "approval": None}
        )  # fmt: skip
    if request.action in (PAUSE, RESUME):
        paused = (d.paused_at or now) if request.action == PAUSE else None
        after = d.model_copy(update={"paused_at": paused, "operator_actions": done}, deep=True)
        after.bake.wait_seconds = d.analysis.interval_seconds
        if paused is None:
            left = d.bake.bake_seconds + d.bake.extended_seconds - d.bake.elapsed_seconds
            after.bake.wait_seconds = max(0, min(d.analysis.interval_seconds, left))
        after.action = Action.BAKE
        return after
    after = d.model_copy(
        update={"reason": why, "operator_actions": done, "paused_at": None, "approval": None},
        deep=True,
    )
    if after.steps and after.steps[-1].verdict is None:
        after.steps[-1].reason = f"bake skipped: {why}"
    after.bake = Bake()
    after.action = Action.FINISH if d.outcome == Outcome.PROMOTED else Action.PROMOTE
    return after


def held(before: Deployment, judged: Deployment, now: datetime) -> Deployment:
    """A tick of a paused deployment (``before.paused_at`` set): a FAIL still rolls back, and
    so does a pause past ``analysis.maxPauseSeconds``; anything else keeps the step where it
    was (its bake clock, verdict and reason), the tick recorded, the next one an interval on."""
    if before.paused_at is None or judged.action == Action.ROLLBACK:
        return judged
    paused_for = (now - before.paused_at).total_seconds()
    if paused_for > before.analysis.max_pause_seconds:
        reason = (
            f"paused for {paused_for:.0f} s, longer than analysis.maxPauseSeconds "
            f"({before.analysis.max_pause_seconds} s)"
        )
        return judged.model_copy(update={"action": Action.ROLLBACK, "reason": reason})
    after = judged.model_copy(deep=True)
    after.bake = before.bake.model_copy(update={"wait_seconds": before.analysis.interval_seconds})
    if after.steps and before.steps:
        after.steps[-1].verdict = before.steps[-1].verdict
        after.steps[-1].reason = before.steps[-1].reason
    after.action = Action.BAKE
    return after


def aborted(d: Deployment) -> bool:
    """Did an operator abort ``d``?"""
    return d.error is not None and d.error.Error == ABORTED_ERROR
