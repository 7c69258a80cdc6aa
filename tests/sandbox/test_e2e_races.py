"""Races against the alias's lock and its ownership, end to end through the shipped state
machine: a stop followed at once by the same deployment again, a running holder's lock past its
expiry, a hand promotion then a stop, a throttled lock write after Promote, a stop while Promote
runs. Each ends with the alias wholly on one version (the human's if a human set it), the outcome
recorded agreeing with the alias, and the lock free once nothing runs."""

from __future__ import annotations

import time
from typing import Any

import pytest
from e2e_helpers import ALIAS, FUNCTION, alias_snapshot, finish, publish_candidate, routing

from coalmine_sandbox import Sandbox
from coalmine_sandbox.world import moves

pytestmark = pytest.mark.slow

#: One 10% step baked for six simulated hours, judged every hour: long enough to race against.
LONG_BAKE = {"type": "steps", "steps": [{"weight": 0.1, "bakeSeconds": 21600}]}
SHORT = {"type": "steps", "steps": [{"weight": 0.1, "bakeSeconds": 60}]}
ANALYSIS = {"intervalSeconds": 3600, "minInvocations": 0}  # no traffic here


def _request(candidate: str, strategy: dict[str, Any] = LONG_BAKE) -> dict[str, Any]:
    analysis = ANALYSIS if strategy is LONG_BAKE else {"intervalSeconds": 60, "minInvocations": 0}
    return {
        "functionName": FUNCTION,
        "targetVersion": candidate,
        "strategy": strategy,
        "analysis": analysis,
    }


def _lock(sb: Sandbox) -> dict[str, Any] | None:
    table = sb.stack["DeploymentLocksTable"]
    key = {"lockId": {"S": f"{FUNCTION}:{ALIAS}"}}
    return sb.client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")


def _wait_until(sb: Sandbox, ready: Any, what: str, wall_seconds: float = 30.0) -> None:
    deadline = time.perf_counter() + wall_seconds
    while not ready():
        assert time.perf_counter() < deadline, what
        time.sleep(0.005)


def _weighted(sb: Sandbox) -> None:
    _wait_until(sb, lambda: routing(alias_snapshot(sb))[1], "the deployment never shifted")


def _baking(sb: Sandbox) -> None:
    """Weighted, and the lock records the step (ShiftTraffic's invocation is over)."""
    _weighted(sb)

    def recorded() -> bool:
        document = (_lock(sb) or {}).get("deployment", {}).get("S", "{}")
        return '"action": "BAKE"' in document or '"action":"BAKE"' in document

    _wait_until(sb, recorded, "the lock never recorded the step")


def _settled(sb: Sandbox) -> None:
    """Every execution ended and its Cleanup (an async Lambda target, with retries) has run."""
    sb.settle()


def test_stop_then_the_same_deployment_again_at_once(sandbox: Sandbox) -> None:
    # Given a 10% canary baking
    candidate = publish_candidate(sandbox)
    first = sandbox.start_execution(_request(candidate), name="supersede-1")
    _weighted(sandbox)
    # When CI stops it and starts the same deployment again in the same second
    sandbox.stop_execution(first, "superseded")
    second = sandbox.start_execution(_request(candidate, SHORT), name="supersede-2")
    done = finish(sandbox, second)
    _settled(sandbox)
    # Then the new one proceeded (it put the alias whole first) or was refused naming the old one
    if done.status == "FAILED":
        assert done.error == "DeploymentInProgress", done.message
    else:
        assert done.status == "SUCCEEDED"
    # and the alias ends wholly on one version, the lock free
    version, weights = routing(alias_snapshot(sandbox))
    assert weights == {}
    assert version == (candidate if done.status == "SUCCEEDED" else "1")
    assert _lock(sandbox) is None


def test_a_running_holders_lock_past_its_expiry_is_not_taken(sandbox: Sandbox) -> None:
    # Given a low-traffic canary still baking, whose lock has expired (an old-style expiry)
    candidate = publish_candidate(sandbox)
    first = sandbox.start_execution(_request(candidate), name="long-canary")
    _weighted(sandbox)
    table = sandbox.stack["DeploymentLocksTable"]
    sandbox.client("dynamodb").update_item(
        TableName=table,
        Key={"lockId": {"S": f"{FUNCTION}:{ALIAS}"}},
        UpdateExpression="SET expiresAt = :past",
        ExpressionAttributeValues={":past": {"N": "1"}},
    )
    # When a second deployment starts
    second = finish(sandbox, sandbox.start_execution(_request(candidate), name="intruder"))
    # Then it is refused naming the running one, and the lock stays the canary's
    assert (second.status, second.error) == ("FAILED", "DeploymentInProgress")
    assert f"is already being deployed by execution {first}" in second.message
    assert (_lock(sandbox) or {})["deploymentId"]["S"] == "long-canary"
    assert routing(alias_snapshot(sandbox)) == ("1", {candidate: 0.1})
    sandbox.stop_execution(first, "done")
    _settled(sandbox)
    assert routing(alias_snapshot(sandbox)) == ("1", {})
    assert _lock(sandbox) is None


def test_a_hand_promotion_then_a_stop_keeps_the_humans_alias(sandbox: Sandbox) -> None:
    # Given a 10% canary baking
    candidate = publish_candidate(sandbox)
    first = sandbox.start_execution(_request(candidate), name="hand-promoted")
    _baking(sandbox)
    # When an operator points prod wholly at the new version, then stops coalmine
    moves.tamper_alias(sandbox, FUNCTION, ALIAS, candidate)
    sandbox.stop_execution(first, "promoted by hand")
    _settled(sandbox)
    # Then Cleanup leaves the alias as the human set it, and frees the lock
    assert routing(alias_snapshot(sandbox)) == (candidate, {})
    assert _lock(sandbox) is None


def test_a_throttled_lock_write_after_promote_leaves_the_promotion_standing(
    sandbox: Sandbox,
) -> None:
    # Given every lock write by Promote after its first (the record before the alias moves) is
    # throttled
    candidate = publish_candidate(sandbox)
    sandbox.faults.inject_api(
        "UpdateItem", service="dynamodb", caller="Promote", occurrence=2, times=None
    )
    done = finish(sandbox, sandbox.start_execution(_request(candidate, SHORT), name="promoted"))
    _settled(sandbox)
    # Then the promotion stands
    assert done.status == "SUCCEEDED", done.message
    assert done.entered[-3:] == ["ReleaseLock", "Finished", "Promoted"]
    assert routing(alias_snapshot(sandbox)) == (candidate, {})
    assert _lock(sandbox) is None


def test_a_stop_while_promote_runs_is_recorded_as_the_promotion_it_was(sandbox: Sandbox) -> None:
    # Given a stop arrives while Promote is about to move the alias
    candidate = publish_candidate(sandbox)
    arns: list[str] = []

    def stop() -> None:
        sandbox.stop_execution(arns[0], "stopped during Promote")

    sandbox.faults.before_api("UpdateAlias", stop, caller="Promote")
    arns.append(sandbox.start_execution(_request(candidate, SHORT), name="stopped-promoting"))
    done = finish(sandbox, arns[0])
    _settled(sandbox)
    # Then the execution is ABORTED, the alias stays on the new version (Promote's Lambda call
    # is not cancelled by the stop), and Cleanup recorded the promotion, freeing the lock
    assert done.status == "ABORTED"
    assert routing(alias_snapshot(sandbox)) == (candidate, {})
    assert _lock(sandbox) is None


@pytest.mark.parametrize(
    ("api", "service"), [("UpdateAlias", "lambda"), ("GetItem", "dynamodb")], ids=["alias", "lock"]
)
def test_a_cleanup_throttled_for_minutes_still_finishes(
    sandbox: Sandbox, api: str, service: str
) -> None:
    # Given Cleanup's UpdateAlias (or its lock-table read) is throttled 30 times in a row: more
    # than Lambda's three async attempts with botocore's retries (9 calls) could outlast
    candidate = publish_candidate(sandbox)
    first = sandbox.start_execution(_request(candidate), name="stopped-then-throttled")
    _baking(sandbox)
    sandbox.faults.inject_api(api, service=service, caller="Cleanup", times=30)
    # When the deployment is stopped
    sandbox.stop_execution(first, "stopped")
    _settled(sandbox)
    # Then Cleanup kept trying: the alias is whole on the stable version and the lock free
    assert len([f for f in sandbox.faults.fired if f["api"] == api]) == 30
    assert routing(alias_snapshot(sandbox)) == ("1", {})
    assert _lock(sandbox) is None
