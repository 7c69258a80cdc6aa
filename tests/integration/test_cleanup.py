"""Cleanup against moto: after a stop, a timeout or a crash the alias ends wholly on one
version and the lock is free; never over someone else's change; idempotent."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from coalmine import recovery
from coalmine.adapters.lambda_api import LambdaApi
from coalmine.adapters.locks_table import LockTable
from coalmine.exceptions import RollbackFailed
from coalmine.handlers import cleanup
from coalmine.handlers.cleanup import handler
from coalmine.models import Deployment, Outcome
from events import load_event

LOCK_TABLE = "coalmine-deployment-locks"  # tests/integration/conftest.py


#: What DescribeExecution answers per execution ARN here (Cleanup acts only on an end it confirms)
DESCRIBED: dict[str, str] = {}


class _Executions:
    def status(self, execution_arn: str) -> str | None:
        return DESCRIBED.get(execution_arn, "MISSING")


@pytest.fixture(autouse=True)
def described(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Step Functions as Cleanup reads it: each event's execution ended as the event says."""
    DESCRIBED.clear()
    monkeypatch.setattr(cleanup, "StepFunctionsApi", _Executions)
    return DESCRIBED


def _ended(status: str = "ABORTED", **detail: Any) -> dict[str, Any]:
    event = load_event("cleanup")
    event["detail"].update(status=status, **detail)
    DESCRIBED[event["detail"]["executionArn"]] = status
    return event


def test_an_event_describe_execution_does_not_confirm_changes_nothing(
    world: Any, lambda_context: Any, described: dict[str, str]
) -> None:
    # Given a deployment holding the lock with the alias weighted, still RUNNING
    _routed_by_coalmine(world, "1", {"2": 0.1})
    lock_before = world.lock()
    event = _ended("ABORTED")
    described[event["detail"]["executionArn"]] = "RUNNING"
    # When Cleanup gets an ABORTED event for it (forged, or delivered early)
    out = handler(event, lambda_context)
    # Then nothing changed: the alias as routed, the lock held
    assert out["done"].startswith("nothing to do: DescribeExecution says"), out
    assert world.alias() == {"version": "1", "weights": {"2": 0.1}}
    assert world.lock() == lock_before


def _record(world: Any, **changes: Any) -> Deployment:
    """The lock as PublishVersion leaves it: held, with the Deployment document (1 -> 2)."""
    world.hold_lock()
    deployment = Deployment.model_validate(load_event("publish-version")).model_copy(update=changes)
    assert LockTable(LOCK_TABLE).record(deployment)
    return deployment


def _routed_by_coalmine(world: Any, version: str, weights: dict[str, float] | None = None) -> None:
    """The alias routed by the deployment, whose lock knows the RevisionId it wrote."""
    world.route(version, weights)
    revision = world.lambda_client.get_alias(FunctionName="brand-api", Name="prod")["RevisionId"]
    _record(world, revision_id=revision)


@pytest.mark.parametrize("status", ["ABORTED", "TIMED_OUT", "FAILED"])
@pytest.mark.parametrize(
    "routing", [("1", {"2": 0.1}), ("2", {}), ("1", {})], ids=["weighted", "on-new", "untouched"]
)
def test_the_alias_ends_wholly_on_the_stable_version_and_the_lock_is_free(
    world: Any, lambda_context: Any, status: str, routing: tuple[str, dict[str, float]]
) -> None:
    # Given a deployment 1 -> 2 stopped (or timed out, or crashed) with the alias as it routed it
    _routed_by_coalmine(world, *routing)
    # When Cleanup gets the status-change event
    out = handler(_ended(status), lambda_context)
    # Then the alias is wholly on version 1 and the lock is free
    assert world.alias() == {"version": "1", "weights": {}}
    assert world.lock() is None
    assert "wholly on the stable version 1" in out["done"]


def test_a_completed_promotion_is_left_in_place(world: Any, lambda_context: Any) -> None:
    # Given a blue/green deployment stopped in its post-promotion bake (promotion recorded)
    _record(world, outcome=Outcome.PROMOTED)
    world.route("2")
    handler(_ended(), lambda_context)
    assert world.alias() == {"version": "2", "weights": {}}
    assert world.lock() is None


def test_someone_elses_change_is_left_as_they_set_it(world: Any, lambda_context: Any) -> None:
    # Given an operator set 50% on version 2 (no step of the plan routes 50%)
    _record(world)
    world.route("1", {"2": 0.5})
    out = handler(_ended("FAILED"), lambda_context)
    assert world.alias() == {"version": "1", "weights": {"2": 0.5}}
    assert world.lock() is None
    assert "someone else" in out["done"]


def test_after_a_normal_rollback_it_is_a_no_op(world: Any, lambda_context: Any) -> None:
    # Given the execution rolled back and ReleaseLock freed the lock (the FAILED event follows)
    world.route("1", {"2": 0.3})  # whatever the alias routes now is not this execution's doing
    out = handler(_ended("FAILED"), lambda_context)
    assert "holds no lock" in out["done"]
    assert world.alias() == {"version": "1", "weights": {"2": 0.3}}


def test_a_refused_second_deployment_leaves_the_running_ones_lock(
    world: Any, lambda_context: Any
) -> None:
    # Given deployment 0001 runs and a second one was refused in Prepare (FAILED)
    _record(world)
    world.route("1", {"2": 0.1})
    handler(_ended("FAILED", name="second", executionArn="arn:second"), lambda_context)
    assert world.alias() == {"version": "1", "weights": {"2": 0.1}}
    assert world.lock()["deploymentId"]["S"] == "deploy-brand-api-0001"


def test_an_unreadable_input_finds_the_lock_by_execution_name(
    world: Any, lambda_context: Any
) -> None:
    _routed_by_coalmine(world, "1", {"2": 0.1})
    handler(_ended(input=None, inputDetails={"included": False}), lambda_context)
    assert world.alias() == {"version": "1", "weights": {}}
    assert world.lock() is None


def test_running_is_ignored(world: Any, lambda_context: Any) -> None:
    _record(world)
    world.route("1", {"2": 0.1})
    assert "nothing to do" in handler(_ended("RUNNING"), lambda_context)["done"]
    assert world.lock() is not None


def test_succeeded_frees_a_lock_left_held_and_never_touches_the_alias(
    world: Any, lambda_context: Any
) -> None:
    # Given a promoted execution whose ReleaseLock step failed for good (the lock is still held)
    _record(world, outcome=Outcome.PROMOTED)
    world.route("2")
    # When Cleanup gets its SUCCEEDED event
    out = handler(_ended("SUCCEEDED"), lambda_context)
    # Then the lock is free and the alias is as the promotion left it
    assert world.lock() is None
    assert world.alias() == {"version": "2", "weights": {}}
    assert "succeeded" in out["done"]


def test_when_the_alias_cannot_be_restored_the_error_names_the_manual_command(
    world: Any,
) -> None:
    # Given UpdateAlias keeps failing (AWS answers ServiceException)
    deployment = _record(world)
    client = boto3.client("lambda", region_name="us-east-1")
    with Stubber(client) as stubber:
        stubber.add_response(
            "get_alias",
            {"FunctionVersion": "1", "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.1}}},
        )
        stubber.add_client_error("update_alias", "ServiceException", "Lambda is down", 500)
        change = recovery.ExecutionEnded.model_validate(_ended()).detail
        # Then Cleanup raises (Lambda retries it, then the dead-letter queue's alarm fires)
        with pytest.raises(RollbackFailed) as raised:
            cleanup.clean_up(change, LambdaApi(client), LockTable(LOCK_TABLE))
    assert (
        "aws lambda update-alias --function-name brand-api --name prod --function-version 1 "
        "--routing-config AdditionalVersionWeights={}" in str(raised.value)
    )
    # and the lock stays held by the deployment whose alias is still weighted
    assert world.lock()["deploymentId"]["S"] == deployment.deployment_id
    assert json.loads(world.lock()["deployment"]["S"])["toVersion"] == "2"
