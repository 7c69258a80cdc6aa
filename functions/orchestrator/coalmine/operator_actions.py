"""Pure: an operator steering a running deployment (docs/operating.md).

A request (``models.OperatorAction``: action, principal, time, reason) is appended to the alias's
lock item by ``coalmine abort`` or a rehearsal's ``abort`` event (adapters/operator_requests.py),
only while the deployment it names holds the lock. Analyze reads the lock at its next tick and,
before any analysis, ``act`` decides what the oldest request not yet acted on does:

    abort   roll back at once (the alias wholly back on the old version through the Rollback
            state), then the execution ends FAILED with ``DeploymentAborted``, its cause naming
            the operator and their reason (``abort_cause``); the history item and the
            ``Deployment Aborted`` event say the same. A console Stop is not this: Cleanup
            handles it (ABORTED execution, ``Deployment Stopped``).

Each request acted on is kept in the document's ``operatorActions`` with ``appliedAt``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from coalmine.models import Action, Deployment, ErrorInfo, OperatorAction

#: The execution's error when an operator aborted it (the ``Aborted`` Fail state).
ABORTED_ERROR = "DeploymentAborted"
#: The actions an operator may request (the CLI's verbs, the scenario's events).
ACTIONS = ("abort",)


def pending(d: Deployment, requests: Iterable[OperatorAction]) -> list[OperatorAction]:
    """The requests not yet acted on, oldest first (the document keeps those that were)."""
    done = {a.id for a in d.operator_actions}
    return sorted((r for r in requests if r.id not in done), key=lambda r: r.at)


def abort_cause(request: OperatorAction) -> str:
    """The execution's cause, the deployment's reason: who aborted and why."""
    return f"aborted by {request.principal}: {request.reason}"


def act(d: Deployment, requests: Iterable[OperatorAction], now: datetime) -> Deployment | None:
    """The deployment as the oldest pending request leaves it; None when none is pending (the
    tick analyses as usual)."""
    todo = pending(d, requests)
    if not todo:
        return None
    request = todo[0]  # abort: the only action yet, and it ends the deployment
    cause = abort_cause(request)
    return d.model_copy(
        update={
            "action": Action.ROLLBACK,
            "reason": cause,
            "error": ErrorInfo(Error=ABORTED_ERROR, Cause=cause),
            "operator_actions": [
                *d.operator_actions,
                request.model_copy(update={"applied_at": now}),
            ],
        }
    )


def aborted(d: Deployment) -> bool:
    """Did an operator abort ``d``?"""
    return d.error is not None and d.error.Error == ABORTED_ERROR
