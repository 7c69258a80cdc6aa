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

from botocore.exceptions import ClientError

from coalmine.adapters.errors import error_code
from coalmine.adapters.locks_table import LockTable
from coalmine.exceptions import OperatorRequestRefused as OperatorRequestRefused
from coalmine.lock import Lock, lock_id
from coalmine.models import Deployment, OperatorAction
from coalmine.operator_actions import ACTIONS, act


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
) -> tuple[Lock, OperatorAction]:
    """Append ``action`` to the lock of ``function:alias``; (the lock as read, the request)."""
    if action not in ACTIONS:
        raise OperatorRequestRefused(f"unknown action {action!r} (one of {', '.join(ACTIONS)})")
    if not reason.strip():
        raise OperatorRequestRefused("--reason must say why (it is recorded with the action)")
    held = locks.get(lock_id(function, alias))
    if held is None:
        _known_function(lambda_client, function)
        raise OperatorRequestRefused(f"no deployment of {function}:{alias} is running")
    principal = sts.get_caller_identity()["Arn"]
    asked = OperatorAction.model_validate(
        {"id": uuid.uuid4().hex, "action": action, "principal": principal, "at": now,
         "reason": reason.strip()}
    )  # fmt: skip
    if not locks.append_request(held.lock_id, held.deployment_id, asked):
        raise OperatorRequestRefused(
            f"the deployment of {function}:{alias} ended before the {action} was written"
        )
    return held, asked


def acted_on(current: Deployment, locks: LockTable, now: datetime) -> Deployment | None:
    """Analyze's first read: the deployment as its oldest pending request leaves it, or None."""
    held = locks.get(lock_id(current.function_name, current.alias))
    mine = held is not None and held.deployment_id == current.deployment_id
    return act(current, held.requests if held is not None and mine else (), now)


def _known_function(lambda_client: Any, function: str) -> None:
    try:
        lambda_client.get_function(FunctionName=function)
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            raise OperatorRequestRefused(f"function {function} does not exist") from error
        raise
