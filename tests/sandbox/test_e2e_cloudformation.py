"""Custom::CoalmineAlias end to end: the template's CoalmineAliasFunction invoked the way
CloudFormation invokes a custom resource's ServiceToken (an asynchronous Invoke carrying
CloudFormation's request), the real state machine deploying, and a local HTTP endpoint standing
in for the pre-signed ResponseURL: what the endpoint received is what CloudFormation would read.

A team's stack of functions opted in to coalmine (tag coalmine:managed), 10 requests per
simulated second on each alias; a healthy version promotes and answers SUCCESS, a failing one is
rolled back and answers FAILED with coalmine's reason, CloudFormation's rollback Update then puts
every alias back, Delete leaves everything, a missing property is refused changing nothing.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from cfn_endpoint import ResponseEndpoint, cfn_request, response_endpoint
from e2e_helpers import alias_snapshot, executions, routing

from coalmine_sandbox import Sandbox

ALIAS = "live"
ORDERS, PAYMENTS = "brand-orders", "brand-payments"  # within ManagedFunctionPrefix (brand-)
CODE = {
    "app.py": """
        import os, random
        def handler(event, context):
            if random.random() < float(os.environ.get("FAULT_ERROR_RATE", "0")):
                raise RuntimeError("injected fault")
            return {"ok": True, "version": context.function_version}
    """
}
# CloudFormation passes every scalar property as a string
STRATEGY = {"type": "canary", "percent": "20", "intervalMinutes": "1"}


@pytest.fixture
def endpoint() -> Iterator[ResponseEndpoint]:
    with response_endpoint() as served:
        yield served


def team_function(sb: Sandbox, name: str, make_function: Any, make_role: Any) -> str:
    """A team's function, opted in, with version 1 published; returns "1"."""
    sb.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=make_role(sb),
        Handler="app.handler",
        Code={"ZipFile": make_function.zip(CODE)},
        Environment={"Variables": {"FAULT_ERROR_RATE": "0"}},
        Tags={"coalmine:managed": "true"},
    )
    return sb.publish_version(name, {"RELEASE": "1"})


def props(function: str, version: str) -> dict[str, Any]:
    return {
        "FunctionName": function,
        "AliasName": ALIAS,
        "FunctionVersion": version,
        "Strategy": STRATEGY,
    }


def send(sb: Sandbox, *events: dict[str, Any]) -> None:
    """CloudFormation invokes the ServiceToken asynchronously, one request per resource."""
    for event in events:
        sb.client("lambda").invoke(
            FunctionName=sb.stack["CoalmineAliasFunction"],
            InvocationType="Event",
            Payload=json.dumps(event).encode(),
        )
    sb.settle()


def deployment_of(sb: Sandbox, request_id: str) -> dict[str, Any]:
    [found] = [e for e in executions(sb) if e["name"] == f"cfn-{request_id}"]
    return sb.wait_for_execution(found["executionArn"], timeout_wall=600)


def traffic(sb: Sandbox, functions: list[str], rps: int = 10) -> Callable[[], None]:
    """`rps` invocations of each function's alias per simulated second (a clock listener)."""
    rng = random.Random(3)

    def on_clock(t_from: datetime, t_to: datetime) -> None:
        for _ in range(rps):
            for function in functions:
                sb.runtime.invoke_alias(function, ALIAS, {"n": rng.random()})

    return sb.add_listener(on_clock)


def on(sb: Sandbox, function: str) -> tuple[str, dict[str, float]]:
    return routing(alias_snapshot(sb, function, ALIAS))


def test_one_resource_through_create_update_failure_rollback_and_delete(
    sandbox: Sandbox, endpoint: ResponseEndpoint, make_function: Any, make_role: Any
) -> None:
    sb = sandbox
    v1 = team_function(sb, ORDERS, make_function, make_role)
    physical = f"{ORDERS}:{ALIAS}"

    # Create: the alias made, on version 1, answered at once
    send(sb, cfn_request("Create", endpoint, "create", props(ORDERS, v1)))
    [created] = endpoint.of("create")
    assert (created["Status"], created["PhysicalResourceId"]) == ("SUCCESS", physical)
    assert on(sb, ORDERS) == (v1, {})
    stop_traffic = traffic(sb, [ORDERS])

    # A request missing a property: FAILED naming it, nothing changed, nothing started
    healthy = sb.publish_version(ORDERS, {"RELEASE": "2"})
    missing = {k: v for k, v in props(ORDERS, healthy).items() if k != "FunctionVersion"}
    send(
        sb,
        cfn_request(
            "Update", endpoint, "missing", missing, old=props(ORDERS, v1), physical_id=physical
        ),
    )
    [refused] = endpoint.of("missing")
    assert refused["Status"] == "FAILED"
    assert "missing property FunctionVersion" in refused["Reason"]
    assert refused["PhysicalResourceId"] == physical
    assert on(sb, ORDERS) == (v1, {})
    assert executions(sb) == []

    # Update to a healthy version: a canary, answered SUCCESS only when promoted
    send(
        sb,
        cfn_request(
            "Update",
            endpoint,
            "healthy",
            props(ORDERS, healthy),
            old=props(ORDERS, v1),
            physical_id=physical,
        ),
    )
    assert endpoint.of("healthy") == []  # the deployment answers, not the request
    assert deployment_of(sb, "healthy")["status"] == "SUCCEEDED"
    [promoted] = endpoint.of("healthy")
    assert promoted["Status"] == "SUCCESS"
    assert promoted["Data"]["FunctionVersion"] == healthy
    assert on(sb, ORDERS) == (healthy, {})

    # Update to a failing version: rolled back by coalmine, FAILED with coalmine's reason
    faulty = sb.publish_version(ORDERS, {"RELEASE": "3", "FAULT_ERROR_RATE": "1"})
    send(
        sb,
        cfn_request(
            "Update",
            endpoint,
            "faulty",
            props(ORDERS, faulty),
            old=props(ORDERS, healthy),
            physical_id=physical,
        ),
    )
    assert deployment_of(sb, "faulty")["status"] == "FAILED"
    [failed] = endpoint.of("faulty")
    assert failed["Status"] == "FAILED"
    assert "DeploymentRolledBack" in failed["Reason"]
    assert "errors" in failed["Reason"]
    assert on(sb, ORDERS) == (healthy, {})

    # CloudFormation's rollback Update (the old properties): SUCCESS at once, no deployment
    started = len(executions(sb))
    send(
        sb,
        cfn_request(
            "Update",
            endpoint,
            "rollback",
            props(ORDERS, healthy),
            old=props(ORDERS, faulty),
            physical_id=physical,
        ),
    )
    [rolled] = endpoint.of("rollback")
    assert rolled["Status"] == "SUCCESS"
    assert len(executions(sb)) == started
    assert on(sb, ORDERS) == (healthy, {})
    stop_traffic()

    # Delete: SUCCESS, the function and its alias left as they are
    send(
        sb, cfn_request("Delete", endpoint, "delete", props(ORDERS, healthy), physical_id=physical)
    )
    [deleted] = endpoint.of("delete")
    assert (deleted["Status"], deleted["PhysicalResourceId"]) == ("SUCCESS", physical)
    assert on(sb, ORDERS) == (healthy, {})
    # every request was answered exactly once
    assert sorted(name for name, _ in endpoint.answers) == sorted(
        ["create", "missing", "healthy", "faulty", "rollback", "delete"]
    )


def test_a_stack_of_two_functions_whose_one_canary_fails_ends_on_both_old_versions(
    sandbox: Sandbox, endpoint: ResponseEndpoint, make_function: Any, make_role: Any
) -> None:
    sb = sandbox
    old = {f: team_function(sb, f, make_function, make_role) for f in (ORDERS, PAYMENTS)}
    send(
        sb,
        *(
            cfn_request("Create", endpoint, f"create-{f}", props(f, v), logical_id=f)
            for f, v in old.items()
        ),
    )
    assert all(endpoint.of(f"create-{f}")[0]["Status"] == "SUCCESS" for f in old)
    stop_traffic = traffic(sb, [ORDERS, PAYMENTS])

    # The stack update: a healthy orders version, a failing payments one, updated together
    new = {
        ORDERS: sb.publish_version(ORDERS, {"RELEASE": "2"}),
        PAYMENTS: sb.publish_version(PAYMENTS, {"RELEASE": "2", "FAULT_ERROR_RATE": "1"}),
    }
    send(
        sb,
        *(
            cfn_request(
                "Update",
                endpoint,
                f"update-{f}",
                props(f, new[f]),
                old=props(f, old[f]),
                physical_id=f"{f}:{ALIAS}",
                logical_id=f,
            )
            for f in old
        ),
    )
    ends = {f: deployment_of(sb, f"update-{f}")["status"] for f in old}
    assert ends == {ORDERS: "SUCCEEDED", PAYMENTS: "FAILED"}
    answers = {f: endpoint.of(f"update-{f}") for f in old}
    assert [a["Status"] for a in answers[ORDERS]] == ["SUCCESS"]
    assert [a["Status"] for a in answers[PAYMENTS]] == ["FAILED"]
    assert on(sb, ORDERS) == (new[ORDERS], {})  # promoted before the stack failed
    assert on(sb, PAYMENTS) == (old[PAYMENTS], {})  # rolled back by coalmine

    # A resource FAILED: CloudFormation rolls the stack back, an Update with the old
    # properties to every updated resource
    send(
        sb,
        *(
            cfn_request(
                "Update",
                endpoint,
                f"rollback-{f}",
                props(f, old[f]),
                old=props(f, new[f]),
                physical_id=f"{f}:{ALIAS}",
                logical_id=f,
            )
            for f in old
        ),
    )
    stop_traffic()
    assert all([a["Status"] for a in endpoint.of(f"rollback-{f}")] == ["SUCCESS"] for f in old)
    assert "revert" in endpoint.of(f"rollback-{ORDERS}")[0]["Reason"]
    assert on(sb, ORDERS) == (old[ORDERS], {})
    assert on(sb, PAYMENTS) == (old[PAYMENTS], {})
    assert len(executions(sb)) == 2  # the rollback started no deployment


def test_a_deployment_stopped_from_the_console_or_refused_by_prepare_answers_failed(
    sandbox: Sandbox, endpoint: ResponseEndpoint, make_function: Any, make_role: Any
) -> None:
    sb = sandbox
    v1 = team_function(sb, ORDERS, make_function, make_role)
    physical = f"{ORDERS}:{ALIAS}"
    send(sb, cfn_request("Create", endpoint, "create", props(ORDERS, v1)))
    stop_traffic = traffic(sb, [ORDERS])
    v2 = sb.publish_version(ORDERS, {"RELEASE": "2"})
    stopped: list[str] = []

    def stop_once_weighted(t_from: datetime, t_to: datetime) -> None:
        # someone presses Stop in the console while the canary holds its weight
        _, weights = on(sb, ORDERS)
        if weights and not stopped:
            [running] = [e for e in executions(sb) if e["status"] == "RUNNING"]
            stopped.append(running["executionArn"])
            sb.stop_execution(running["executionArn"], cause="stopped in the console")

    remove = sb.add_listener(stop_once_weighted)
    send(
        sb,
        cfn_request(
            "Update",
            endpoint,
            "stopped",
            props(ORDERS, v2),
            old=props(ORDERS, v1),
            physical_id=physical,
        ),
    )
    assert deployment_of(sb, "stopped")["status"] == "ABORTED"
    remove()
    [answer] = endpoint.of("stopped")
    assert answer["Status"] == "FAILED"
    assert "stopped in the console" in answer["Reason"]
    assert on(sb, ORDERS) == (v1, {})  # Cleanup put it back

    # Another deployment of the alias holds its lock: Prepare refuses, the answer says why
    v3 = sb.publish_version(ORDERS, {"RELEASE": "3"})
    locked = cfn_request(
        "Update", endpoint, "locked", props(ORDERS, v3), old=props(ORDERS, v1), physical_id=physical
    )
    sent: list[bool] = []

    def update_while_the_other_runs(t_from: datetime, t_to: datetime) -> None:
        if not sent and on(sb, ORDERS)[1]:  # the other deployment's canary is weighted
            sent.append(True)
            sb.client("lambda").invoke(
                FunctionName=sb.stack["CoalmineAliasFunction"], Payload=json.dumps(locked)
            )

    remove = sb.add_listener(update_while_the_other_runs)
    other = sb.start_execution({"functionName": ORDERS, "alias": ALIAS, "targetVersion": v2})
    assert sb.wait_for_execution(other, timeout_wall=600)["status"] == "SUCCEEDED"
    remove()
    assert sent == [True]
    assert deployment_of(sb, "locked")["status"] == "FAILED"
    [refused] = endpoint.of("locked")
    assert refused["Status"] == "FAILED"
    assert "DeploymentInProgress" in refused["Reason"]
    assert "stackTrace" not in refused["Reason"]  # Lambda's error message, not its JSON
    stop_traffic()
    assert on(sb, ORDERS) == (v2, {})


def test_aws_failing_the_provider_still_answers_once(
    sandbox: Sandbox, endpoint: ResponseEndpoint, make_function: Any, make_role: Any
) -> None:
    sb = sandbox
    v1 = team_function(sb, ORDERS, make_function, make_role)
    physical = f"{ORDERS}:{ALIAS}"
    send(sb, cfn_request("Create", endpoint, "create", props(ORDERS, v1)))
    v2 = sb.publish_version(ORDERS, {"RELEASE": "2"})

    # Lambda throttles the provider's GetAlias (past botocore's retries): FAILED, nothing started
    sb.faults.inject_api("GetAlias", caller="CoalmineAlias", kind="throttling", times=3)
    send(
        sb,
        cfn_request(
            "Update",
            endpoint,
            "throttled",
            props(ORDERS, v2),
            old=props(ORDERS, v1),
            physical_id=physical,
        ),
    )
    [crashed] = endpoint.of("throttled")
    assert crashed["Status"] == "FAILED"
    assert crashed["Reason"].startswith("coalmine provider error: AwsThrottled")
    assert executions(sb) == []
    assert on(sb, ORDERS) == (v1, {})

    # DynamoDB throttles the end's claim: that invocation fails, Lambda's retry answers, once
    stop_traffic = traffic(sb, [ORDERS])
    claim = sb.faults.inject_api(
        "PutItem", service="dynamodb", caller="CoalmineAlias", kind="throttling", times=3
    )
    send(
        sb,
        cfn_request(
            "Update",
            endpoint,
            "retried",
            props(ORDERS, v2),
            old=props(ORDERS, v1),
            physical_id=physical,
        ),
    )
    assert deployment_of(sb, "retried")["status"] == "SUCCEEDED"
    stop_traffic()
    assert claim.fired == 3
    assert [a["Status"] for a in endpoint.of("retried")] == ["SUCCESS"]
    assert on(sb, ORDERS) == (v2, {})
