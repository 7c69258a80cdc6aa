"""An operator's request on the deployment running on an alias (coalmine/operator_actions.py):
the one code path of the CLI's verbs (``coalmine abort``) and a rehearsal's operator events.

The request (action, principal from STS GetCallerIdentity, time, reason) is appended to the
alias's lock item (LockTable.append_request: UpdateItem with ``list_append``, conditioned on the
lock still naming the deployment it was read for). No running deployment, an unknown function, a
bad action or an empty reason -> OperatorRequestRefused, and nothing is written.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from coalmine import approvals
from coalmine.adapters.errors import error_code
from coalmine.adapters.locks_table import LockTable
from coalmine.adapters.stepfunctions import StepFunctionsApi
from coalmine.exceptions import OperatorRequestRefused as OperatorRequestRefused
from coalmine.lock import Lock, deployment_lock_id, lock_id
from coalmine.models import Deployment, OperatorAction
from coalmine.observability import logger
from coalmine.operator_actions import ACTIONS


def request(
    action: str,
    function: str,
    alias: str,
    reason: str,
    *,
    locks: LockTable,
    lambda_client: Any,
    sts: Any,
    now: datetime,
    sfn: Any = None,
) -> tuple[Lock, OperatorAction]:
    """Append ``action`` to the lock of ``function:alias``; (the lock as read, the request).
    approve and reject need a human gate waiting, not answered yet. When the deployment waits
    at a gate, its wait is woken (``sfn``: SendTaskSuccess) so Analyze acts at once."""
    if action not in ACTIONS:
        raise OperatorRequestRefused(f"unknown action {action!r} (one of {', '.join(ACTIONS)})")
    if not reason.strip():
        raise OperatorRequestRefused("--reason must say why (it is recorded with the action)")
    held = locks.get(lock_id(function, alias))  # function: ACCOUNT:REGION:NAME in another account
    if held is None:
        if ":" not in function:  # (another account's function: coalmine's credentials can't see it)
            _known_function(lambda_client, function)
        raise OperatorRequestRefused(f"no deployment of {function}:{alias} is running")
    if action in (approvals.APPROVE, approvals.REJECT):
        _gate_open(held, function, alias)
    principal = sts.get_caller_identity()["Arn"]
    # an answer names its gate (approvals.answered: an earlier gate's answer answers nothing)
    gate = held.approval.since if held.approval is not None else None
    asked = OperatorAction.model_validate(
        {"id": uuid.uuid4().hex, "action": action, "principal": principal, "at": now,
         "reason": reason.strip(),
         "gate": gate if action in (approvals.APPROVE, approvals.REJECT) else None}
    )  # fmt: skip
    written = locks.append_request(held.lock_id, held.deployment_id, asked)
    if written is None:
        raise OperatorRequestRefused(
            f"the deployment of {function}:{alias} ended before the {action} was written"
        )
    # the token as the lock holds it after the write: a wait that began since the read is
    # woken here, or (it read the lock before this write) found the request and woke itself
    if written.approval is not None and written.approval.token and sfn is not None:
        try:  # False: the wait ended already, and the next one answers itself
            StepFunctionsApi(sfn).wake(written.approval.token)
        except (ClientError, BotoCoreError):  # (permissions...): the wait's end (a tick) acts
            logger.warning("could not wake the deployment's wait")
    return held, asked


def _gate_open(held: Lock, function: str, alias: str) -> None:
    """approve / reject: refused when nothing waits for one, or when it was given already."""
    if held.approval is None:
        raise OperatorRequestRefused(
            f"the deployment of {function}:{alias} waits for no approval "
            f"({held.describe()} is not at a human gate)"
        )
    given = held.approval.answer(held.requests)
    if given is not None:
        at = given.at.strftime("%Y-%m-%dT%H:%M:%SZ")
        raise OperatorRequestRefused(
            f"the approval of {held.approval.step} of {function}:{alias} was already answered: "
            f"{given.action} by {given.principal} at {at}"
        )


def acted_on(current: Deployment, locks: LockTable, now: datetime) -> Deployment | None:
    """Analyze's first read: the deployment as its oldest pending request leaves it, or None."""
    held = locks.get(deployment_lock_id(current))
    mine = held is not None and held.deployment_id == current.deployment_id
    return approvals.act(current, held.requests if held is not None and mine else (), now)


def _known_function(lambda_client: Any, function: str) -> None:
    try:
        lambda_client.get_function(FunctionName=function)
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            raise OperatorRequestRefused(f"function {function} does not exist") from error
        raise
