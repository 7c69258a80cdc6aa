"""AwaitApproval against moto: the wait's task token goes to the alias's lock (only while this
deployment holds it), and a request already there wakes the wait at once (events/await-approval.json
is the event Step Functions sends)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from coalmine.adapters.locks_table import LockTable
from coalmine.handlers.await_approval import handler, wait
from coalmine.models import Deployment, OperatorAction
from events import load_event

LOCK_TABLE = "coalmine-deployment-locks"  # tests/integration/conftest.py


class Woken:
    """StepFunctionsApi's wake, recorded (moto has no running wait to answer here)."""

    def __init__(self) -> None:
        self.tokens: list[str] = []

    def wake(self, token: str) -> bool:
        self.tokens.append(token)
        return True


def _event() -> dict[str, Any]:
    return load_event("await-approval")


def _current() -> Deployment:
    return Deployment.model_validate(_event()["deployment"])


def test_the_token_goes_to_the_lock_with_the_step_and_since(
    world: Any, lambda_context: Any
) -> None:
    world.hold_lock("deploy-brand-api-0001")
    handler(_event(), lambda_context)
    recorded = json.loads(world.lock()["approval"]["S"])
    assert recorded == {
        "token": _event()["taskToken"],
        "step": "step 1 (10%)",
        "since": "2026-01-01T00:06:00+00:00",
    }
    held = LockTable(LOCK_TABLE).get("brand-api:prod")
    assert held is not None
    assert held.approval is not None
    assert held.approval.token == _event()["taskToken"]


def test_another_deployments_lock_is_left_alone(world: Any) -> None:
    world.hold_lock("deploy-brand-api-0002")
    woken = Woken()
    out = wait(_current(), "t", LockTable(LOCK_TABLE), woken)  # type: ignore[arg-type]
    assert out == {"recorded": False}
    assert "approval" not in world.lock()
    assert woken.tokens == []


@pytest.mark.parametrize(("pending", "wakes"), [(True, ["t2"]), (False, [])])
def test_a_request_already_in_the_lock_wakes_the_wait_at_once(
    world: Any, pending: bool, wakes: list[str]
) -> None:
    world.hold_lock("deploy-brand-api-0001")
    locks = LockTable(LOCK_TABLE)
    if pending:
        asked = OperatorAction.model_validate({
            "id": "q1", "action": "approve", "principal": "arn:aws:sts::1:user/a",
            "at": "2026-01-01T00:06:30Z", "reason": "ok"})  # fmt: skip
        assert locks.append_request("brand-api:prod", "deploy-brand-api-0001", asked)
    woken = Woken()
    out = wait(_current(), "t2", locks, woken)  # type: ignore[arg-type]
    assert woken.tokens == wakes
    assert out == {"recorded": True, "answered": pending}


def test_clear_approval_removes_it(world: Any) -> None:
    world.hold_lock("deploy-brand-api-0001")
    locks = LockTable(LOCK_TABLE)
    wait(_current(), "t", locks, Woken())  # type: ignore[arg-type]
    assert locks.clear_approval(_current()) is True
    assert "approval" not in world.lock()
