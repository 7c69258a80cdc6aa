"""Cleanup's decisions (coalmine/recovery.py) over an in-memory lock table and a fake rollback:
which ending is cleaned up, whose lock, what is restored, and what a failed restore says.
(The Cleanup handler against moto: tests/integration/test_cleanup.py.)"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from coalmine import recovery
from coalmine.exceptions import AliasChangedOutOfBand, InvalidInput, RollbackFailed
from coalmine.lock import Lock
from coalmine.models import Action, AliasState, AnalysisConfig, Deployment, Outcome, Plan, Step

INPUT = json.dumps({"functionName": "brand-api", "alias": "prod"})


def _deployment(outcome: Outcome = Outcome.IN_PROGRESS) -> Deployment:
    return Deployment(
        deployment_id="d-1",
        function_name="brand-api",
        alias="prod",
        from_version="1",
        to_version="2",
        revision_id="r",
        plan=Plan(strategy="x", steps=[Step(weight=0.1, bake_seconds=300)]),
        analysis=AnalysisConfig(),
        action="BAKE",
        outcome=outcome,
    )


@dataclass
class Locks:
    held: Lock | None
    released: list[str] = field(default_factory=list)

    def get(self, lock_id: str) -> Lock | None:
        return self.held if self.held and self.held.lock_id == lock_id else None

    def find(self, deployment_id: str) -> Lock | None:
        return self.held if self.held and self.held.deployment_id == deployment_id else None

    def release(self, lock_id: str, deployment_id: str) -> bool:
        self.released.append(lock_id)
        return True


@dataclass
class RollBack:
    error: Exception | None = None
    rolled_back: list[str] = field(default_factory=list)

    def __call__(self, d: Deployment) -> None:
        if self.error is not None:
            raise self.error
        self.rolled_back.append(d.deployment_id)


def _held(deployment: Deployment | None = None, deployment_id: str = "d-1") -> Locks:
    return Locks(Lock("brand-api:prod", deployment_id, "arn:d-1", 0, 1, deployment))


def _change(status: str = "ABORTED", text: str | None = INPUT) -> recovery.StatusChange:
    return recovery.StatusChange(executionArn="arn:d-1", name="d-1", status=status, input=text)


@pytest.mark.parametrize("status", sorted(recovery.ENDED))
def test_an_ended_execution_is_rolled_back_and_its_lock_released(status: str) -> None:
    locks, roll_back = _held(_deployment()), RollBack()
    done = recovery.clean_up(_change(status), locks, roll_back)
    assert roll_back.rolled_back == ["d-1"]
    assert locks.released == ["brand-api:prod"]
    assert done == "brand-api:prod wholly on the stable version 1; lock brand-api:prod released"


def test_a_running_execution_is_left_alone() -> None:
    locks, roll_back = _held(_deployment()), RollBack()
    assert recovery.clean_up(_change("RUNNING"), locks, roll_back).startswith("nothing to do")
    assert (roll_back.rolled_back, locks.released) == ([], [])


def test_another_deployments_lock_is_left_alone() -> None:
    locks, roll_back = _held(_deployment(), deployment_id="d-2"), RollBack()
    assert "holds no lock" in recovery.clean_up(_change(), locks, roll_back)
    assert (roll_back.rolled_back, locks.released) == ([], [])


@pytest.mark.parametrize("text", [None, "not json", "[]", json.dumps({"alias": "prod"})])
def test_without_a_usable_input_the_lock_is_found_by_the_execution_name(text: str | None) -> None:
    locks, roll_back = _held(_deployment()), RollBack()
    recovery.clean_up(_change(text=text), locks, roll_back)
    assert locks.released == ["brand-api:prod"]


def test_a_succeeded_or_promoted_deployment_keeps_the_alias() -> None:
    for status, outcome in (("SUCCEEDED", Outcome.PROMOTED), ("ABORTED", Outcome.PROMOTED)):
        done = _deployment(outcome).model_copy(update={"action": Action.FINISH})
        locks, roll_back = _held(done), RollBack()
        recovery.clean_up(_change(status), locks, roll_back)
        assert roll_back.rolled_back == []
        assert locks.released == ["brand-api:prod"]


WATCHED = Plan(strategy="blueGreen", steps=[], post_promotion_bake_seconds=300)


@pytest.mark.parametrize(
    ("plan", "outcome", "action", "restored"),
    [
        # stopped during the watch after the cutover: not done yet, the old version back
        pytest.param(WATCHED, Outcome.PROMOTED, Action.BAKE, True, id="during the watch"),
        # the watch passed (Analyze recorded FINISH): a stop changes nothing
        pytest.param(WATCHED, Outcome.PROMOTED, Action.FINISH, False, id="watch passed"),
        # stopped while the Promote that starts a watch ran, after its write: the old version back
        pytest.param(WATCHED, Outcome.IN_PROGRESS, Action.PROMOTE, True, id="promoting"),
        # ... and with no watch to follow, a promotion made is kept (the alias is the truth)
        pytest.param(
            Plan(strategy="Canary10Percent5Minutes", steps=[Step(weight=0.1, bake_seconds=300)]),
            Outcome.IN_PROGRESS, Action.PROMOTE, False, id="promoting, no watch",
        ),
    ],
)  # fmt: skip
def test_a_deployment_is_done_only_once_its_watch_passed(
    plan: Plan, outcome: Outcome, action: Action, restored: bool
) -> None:
    d = _deployment(outcome).model_copy(update={"plan": plan, "action": action})
    locks, roll_back = _held(d), RollBack()
    on_new = AliasState(function_version="2", revision_id="r2")
    recovery.clean_up(_change(), locks, roll_back, read_alias=lambda _: on_new)
    assert roll_back.rolled_back == (["d-1"] if restored else [])
    assert locks.released == ["brand-api:prod"]


def test_no_recorded_deployment_only_frees_the_lock() -> None:
    locks, roll_back = _held(None), RollBack()
    assert recovery.clean_up(_change(), locks, roll_back).startswith("no deployment recorded")
    assert locks.released == ["brand-api:prod"]


def test_someone_elses_change_is_left_as_they_set_it() -> None:
    locks = _held(_deployment())
    done = recovery.clean_up(_change(), locks, RollBack(AliasChangedOutOfBand("changed")))
    assert done.startswith("left as someone else set it: changed")
    assert locks.released == ["brand-api:prod"]


def test_a_failed_restore_keeps_the_lock_and_says_how_to_finish() -> None:
    locks = _held(_deployment())
    with pytest.raises(RollbackFailed, match="Finish by hand: aws lambda update-alias"):
        recovery.clean_up(_change(), locks, RollBack(InvalidInput("x", "boom")))
    assert locks.released == []


def test_only_the_errors_named_as_failures_become_rollback_failed() -> None:
    locks = _held(_deployment())
    with pytest.raises(KeyError):
        recovery.clean_up(_change(), locks, RollBack(KeyError("bug")))
    with pytest.raises(RollbackFailed):
        recovery.clean_up(_change(), locks, RollBack(KeyError("x")), failures=(KeyError,))


@dataclass
class Executions:
    """DescribeExecution's answer per execution ARN (None: not ours to describe)."""

    statuses: dict[str, str | None]

    def status(self, execution_arn: str) -> str | None:
        return self.statuses.get(execution_arn, "MISSING")


@pytest.mark.parametrize(
    ("described", "words"),
    [
        ("RUNNING", "DescribeExecution says d-1 is RUNNING, not ended"),
        ("PENDING_REDRIVE", "is PENDING_REDRIVE, not ended"),
        ("MISSING", "is MISSING, not ended"),
        (None, "unknown (not this stack's to describe)"),
    ],
)
def test_an_event_describe_execution_does_not_confirm_changes_nothing(
    described: str | None, words: str
) -> None:
    # Given an ABORTED event (forged, stale or early) for an execution that holds the lock
    locks, roll_back = _held(_deployment()), RollBack()
    executions = Executions({"arn:d-1": described})
    # When Cleanup gets it
    done = recovery.clean_up(_change("ABORTED"), locks, roll_back, executions=executions)
    # Then nothing was restored nor released
    assert done.startswith("nothing to do"), done
    assert words in done, done
    assert (roll_back.rolled_back, locks.released) == ([], [])


def test_the_status_described_is_acted_on_not_the_events() -> None:
    # Given an event saying ABORTED for an execution DescribeExecution says SUCCEEDED (promoted)
    locks, roll_back = _held(_deployment(Outcome.PROMOTED)), RollBack()
    executions = Executions({"arn:d-1": "SUCCEEDED"})
    done = recovery.clean_up(_change("ABORTED"), locks, roll_back, executions=executions)
    # Then the promotion stands (no rollback), and the lock is freed
    assert done.startswith("the execution succeeded (promoted)"), done
    assert (roll_back.rolled_back, locks.released) == ([], ["brand-api:prod"])


def test_an_ended_execution_the_lock_does_not_name_changes_nothing() -> None:
    # Given the lock held by another execution of the same name (another ARN)
    locks = Locks(Lock("brand-api:prod", "d-1", "arn:other:d-1", 0, 1, _deployment()))
    roll_back = RollBack()
    executions = Executions({"arn:d-1": "ABORTED"})
    done = recovery.clean_up(_change("ABORTED"), locks, roll_back, executions=executions)
    assert done == "nothing to do: lock brand-api:prod is held by arn:other:d-1, not by arn:d-1"
    assert (roll_back.rolled_back, locks.released) == ([], [])


def test_a_confirmed_end_is_cleaned_up() -> None:
    locks, roll_back = _held(_deployment()), RollBack()
    executions = Executions({"arn:d-1": "ABORTED"})
    done = recovery.clean_up(_change("ABORTED"), locks, roll_back, executions=executions)
    assert (roll_back.rolled_back, locks.released) == (["d-1"], ["brand-api:prod"]), done


def test_an_uploads_execution_finds_its_lock_by_the_keys_function() -> None:
    # Given the upload rule's input (no functionName: the key names the function)
    upload = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"object": {"key": "deployments/brand-api/b.zip"}},
    }
    change = _change(text=json.dumps({"upload": upload}))
    assert recovery.function_and_alias(change) == ("brand-api", "prod")
    locks, roll_back = _held(_deployment()), RollBack()
    recovery.clean_up(change, locks, roll_back)
    assert roll_back.rolled_back == ["d-1"]
