"""One deployment per alias, end to end through the shipped state machine: a second deployment
of an alias while one runs is refused naming the running one and changes nothing; the lock is
free after every ending the state machine runs; a function that has not opted in is refused
before anything moves."""

from __future__ import annotations

import time
from typing import Any

import pytest
from e2e_helpers import (
    ALIAS,
    FUNCTION,
    alias_snapshot,
    finish,
    publish_candidate,
    routing,
    run,
    start_traffic,
)

from coalmine_sandbox import Sandbox

pytestmark = pytest.mark.slow

#: One 10% step baked for six simulated hours, judged every hour: long enough to race against.
LONG_BAKE = {"type": "steps", "steps": [{"weight": 0.1, "bakeSeconds": 21600}]}


def _locks(sb: Sandbox) -> list[dict[str, Any]]:
    table = sb.stack["DeploymentLocksTable"]
    return sb.client("dynamodb").scan(TableName=table, ConsistentRead=True)["Items"]


def _wait_until_weighted(sb: Sandbox, wall_seconds: float = 30.0) -> None:
    deadline = time.perf_counter() + wall_seconds
    while not routing(alias_snapshot(sb))[1]:
        assert time.perf_counter() < deadline, "the first deployment never shifted traffic"
        time.sleep(0.005)


def test_a_second_deployment_is_refused_naming_the_running_one(sandbox: Sandbox) -> None:
    # Given a deployment of brand-api:prod is baking its 10% step
    candidate = publish_candidate(sandbox)
    request = {
        "functionName": FUNCTION,
        "targetVersion": candidate,
        "strategy": LONG_BAKE,
        "analysis": {"intervalSeconds": 3600, "minInvocations": 0},  # no traffic here
    }
    first = sandbox.start_execution(request, name="first-deployment")
    _wait_until_weighted(sandbox)
    during = alias_snapshot(sandbox)
    # When a second deployment of the same alias starts
    second = finish(sandbox, sandbox.start_execution(request, name="second-deployment"))
    # Then it is refused at once, naming the running execution, and changed nothing
    assert (second.status, second.error) == ("FAILED", "DeploymentInProgress")
    assert f"{FUNCTION}:{ALIAS} is already being deployed by execution {first}" in second.message
    assert second.entered == ["Prepare"]
    assert routing(alias_snapshot(sandbox)) == routing(during) == ("1", {candidate: 0.1})
    assert [item["deploymentId"]["S"] for item in _locks(sandbox)] == ["first-deployment"]
    # And the first one goes on to promotion, and frees the lock
    done = finish(sandbox, first)
    assert done.status == "SUCCEEDED"
    assert done.entered[-3:] == ["ReleaseLock", "Finished", "Promoted"]
    assert routing(alias_snapshot(sandbox)) == (candidate, {})
    assert _locks(sandbox) == []


def test_the_lock_is_free_after_a_rollback(sandbox: Sandbox) -> None:
    # Given a candidate failing 30% of its requests under traffic
    candidate = publish_candidate(sandbox, FAULT_ERROR_RATE="0.3")
    _, stop_traffic = start_traffic(sandbox, rps=20)
    try:
        rolled_back = run(
            sandbox,
            {
                "functionName": FUNCTION,
                "targetVersion": candidate,
                "analysis": {"alarms": ["brand-api-prod-errors"]},
            },
        )
    finally:
        stop_traffic()
    assert (rolled_back.status, rolled_back.error) == ("FAILED", "DeploymentRolledBack")
    assert rolled_back.entered[-4:] == ["Rollback", "ReleaseLock", "Finished", "RolledBack"]
    assert routing(alias_snapshot(sandbox)) == ("1", {})
    assert _locks(sandbox) == []


def test_a_function_that_has_not_opted_in_is_refused(sandbox: Sandbox) -> None:
    # Given brand-api without its coalmine:managed tag
    lam = sandbox.client("lambda")
    arn = lam.get_function_configuration(FunctionName=FUNCTION)["FunctionArn"]
    lam.untag_resource(Resource=arn, TagKeys=["coalmine:managed"])
    candidate = publish_candidate(sandbox)
    before = alias_snapshot(sandbox)
    refused = run(sandbox, {"functionName": FUNCTION, "targetVersion": candidate})
    assert (refused.status, refused.error) == ("FAILED", "InvalidInput")
    assert refused.message.startswith("functionName: brand-api is not opted in to coalmine")
    assert alias_snapshot(sandbox) == before
    assert _locks(sandbox) == []
