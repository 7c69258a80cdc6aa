"""What AWS does when an execution ends that coalmine's promises rely on, emulated
(seams/sfn_executions.py): StopExecution (also mid-Wait), the state machine's TimeoutSeconds and a
Task's TimeoutSeconds in simulated time, `Step Functions Execution Status Change` events on the
default bus, and Lambda rule targets invoked asynchronously with Lambda's two retries (1 min, then
2 min)."""

from __future__ import annotations

import itertools
import json
from typing import Any

from coalmine_sandbox import Sandbox

SLEEPER = {
    "app.py": """
        import json, os, time
        CALLS = []
        def handler(event, context):
            CALLS.append(event)
            time.sleep(float(os.environ.get("SLEEP_S", "0")))
            if os.environ.get("FAIL") == "1":
                raise RuntimeError("cleanup failed")
            return {"ok": True, "seen": event}
    """
}


def _machine(sb: Sandbox, role: str, states: dict[str, Any], **top: Any) -> str:
    definition = {"StartAt": next(iter(states)), "States": states, **top}
    return sb.client("stepfunctions").create_state_machine(
        name=f"m{len(sb.status_events)}-{abs(hash(json.dumps(states))) % 10_000}",
        definition=json.dumps(definition),
        roleArn=role,
    )["stateMachineArn"]


def _task(function_arn: str, timeout: int | None = None, nxt: str | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function_arn, "Payload.$": "$"},
        "OutputPath": "$.Payload",
    }
    if timeout:
        state["TimeoutSeconds"] = timeout
    state.update({"Next": nxt} if nxt else {"End": True})
    return state


def _history(sb: Sandbox, arn: str) -> list[dict[str, Any]]:
    return sb.client("stepfunctions").get_execution_history(executionArn=arn)["events"]


def _start(sb: Sandbox, machine: str, payload: dict[str, Any] | None = None) -> str:
    return sb.client("stepfunctions").start_execution(
        stateMachineArn=machine, input=json.dumps(payload or {})
    )["executionArn"]


def test_stop_mid_wait_aborts_at_once_and_runs_nothing_after(
    bare: Sandbox, make_function: Any, make_role: Any
) -> None:
    # Given an execution sleeping in a 10-minute Wait before a Task
    fn = make_function(bare, "after-wait", SLEEPER, "app.handler")["FunctionArn"]
    machine = _machine(
        bare,
        make_role(bare),
        {"Bake": {"Type": "Wait", "Seconds": 600, "Next": "Work"}, "Work": _task(fn)},
    )
    began = bare.clock.now()

    def stop_at_90s(t_from: Any, t_to: Any) -> None:
        # (the running execution, so the stop is armed before the Wait can pass 90 s)
        if (t_to - began).total_seconds() == 90 and bare.hooks and bare.hooks.sfn.running:
            bare.stop_execution(bare.hooks.sfn.running[-1], cause="console stop")

    remove = bare.add_listener(stop_at_90s)
    # When it is stopped 90 simulated seconds in
    arn = _start(bare, machine)
    described = bare.wait_for_execution(arn)
    remove()
    # Then it is ABORTED at the stop, the Wait ended there, and the Task never ran
    assert described["status"] == "ABORTED"
    assert (described["stopDate"] - described["startDate"]).total_seconds() == 90
    assert described["cause"] == "console stop"
    types = [e["type"] for e in _history(bare, arn)]
    assert "ExecutionAborted" in types
    assert "TaskScheduled" not in types
    assert (bare.clock.now() - began).total_seconds() < 95


def test_the_state_machine_timeout_is_simulated_time(
    bare: Sandbox, make_function: Any, make_role: Any
) -> None:
    # Given a state machine with TimeoutSeconds 300 whose Wait lasts an hour
    machine = _machine(
        bare,
        make_role(bare),
        {"Bake": {"Type": "Wait", "Seconds": 3600, "End": True}},
        TimeoutSeconds=300,
    )
    arn = _start(bare, machine)
    # When it runs
    described = bare.wait_for_execution(arn)
    # Then it is TIMED_OUT at 300 simulated seconds (not an hour, not 300 wall seconds)
    assert described["status"] == "TIMED_OUT"
    assert (described["stopDate"] - described["startDate"]).total_seconds() == 300
    assert "ExecutionTimedOut" in [e["type"] for e in _history(bare, arn)]


def test_a_task_longer_than_its_timeout_seconds_is_states_timeout(
    bare: Sandbox, make_function: Any, make_role: Any
) -> None:
    # Given a handler that sleeps 20 simulated seconds (function timeout 30) in a 10 s Task
    fn = make_function(bare, "slow", SLEEPER, "app.handler", {"SLEEP_S": "20"})["FunctionArn"]
    machine = _machine(bare, make_role(bare), {"Work": _task(fn, timeout=10)})
    # When it runs
    described = bare.wait_for_execution(_start(bare, machine))
    # Then the Task failed with States.Timeout
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Timeout"


def test_a_task_within_its_timeout_succeeds(
    bare: Sandbox, make_function: Any, make_role: Any
) -> None:
    fn = make_function(bare, "quick", SLEEPER, "app.handler", {"SLEEP_S": "5"})["FunctionArn"]
    machine = _machine(bare, make_role(bare), {"Work": _task(fn, timeout=10)})
    assert bare.wait_for_execution(_start(bare, machine))["status"] == "SUCCEEDED"


def test_status_change_events_have_aws_shape(
    bare: Sandbox, make_function: Any, make_role: Any
) -> None:
    # Given a one-Task state machine
    fn = make_function(bare, "shape", SLEEPER, "app.handler")["FunctionArn"]
    machine = _machine(bare, make_role(bare), {"Work": _task(fn)})
    # When it runs to the end
    arn = _start(bare, machine, {"x": 1})
    bare.wait_for_execution(arn)
    # Then a RUNNING and a SUCCEEDED event were emitted, shaped as AWS documents them
    mine = [e for e in bare.status_events if e["detail"]["executionArn"] == arn]
    assert [e["detail"]["status"] for e in mine] == ["RUNNING", "SUCCEEDED"]
    running, done = (e["detail"] for e in mine)
    assert running["stopDate"] is None
    assert running["output"] is None
    assert done["stateMachineArn"] == machine
    assert json.loads(done["input"]) == {"x": 1}
    assert json.loads(done["output"])["seen"] == {"x": 1}
    assert isinstance(done["startDate"], int)
    assert done["stopDate"] >= done["startDate"]
    assert mine[0]["source"] == "aws.states"
    assert mine[0]["detail-type"] == "Step Functions Execution Status Change"


def _cleanup_rule(sb: Sandbox, target_arn: str, **target: Any) -> None:
    events = sb.client("events")
    events.put_rule(
        Name="cleanup-on-end",
        EventPattern=json.dumps(
            {
                "source": ["aws.states"],
                "detail-type": ["Step Functions Execution Status Change"],
                "detail": {"status": ["ABORTED", "TIMED_OUT", "FAILED"]},
            }
        ),
    )
    events.put_targets(Rule="cleanup-on-end", Targets=[{"Id": "c", "Arn": target_arn, **target}])


def test_an_aborted_execution_reaches_a_lambda_target_asynchronously(
    bare: Sandbox, make_function: Any, make_role: Any
) -> None:
    # Given a rule sending ABORTED/TIMED_OUT/FAILED status events to a Lambda function
    cleanup = make_function(bare, "cleanup", SLEEPER, "app.handler")["FunctionArn"]
    _cleanup_rule(bare, cleanup)
    machine = _machine(
        bare, make_role(bare), {"Bake": {"Type": "Wait", "Seconds": 600, "End": True}}
    )
    arn = _start(bare, machine)
    bare.clock.advance(1)
    # When the execution is stopped
    bare.stop_execution(arn)
    # Then the function was not run inside StopExecution (async: accepted, queued)...
    assert bare.async_lambda is not None
    assert bare.async_lambda.pending == 1
    bare.wait_for_execution(arn)
    # ...and ran once, with the ABORTED event, when the sandbox settled
    attempts = bare.async_lambda.attempts
    assert len(attempts) == 1
    assert not attempts[0].error
    assert attempts[0].payload["seen"]["detail"]["status"] == "ABORTED"
    assert attempts[0].payload["seen"]["detail"]["executionArn"] == arn


def test_a_failing_lambda_target_is_retried_twice_after_one_then_two_minutes(
    bare: Sandbox, make_function: Any, make_role: Any
) -> None:
    # Given a cleanup function that always fails
    cleanup = make_function(bare, "bad-cleanup", SLEEPER, "app.handler", {"FAIL": "1"})
    _cleanup_rule(bare, cleanup["FunctionArn"])
    machine = _machine(bare, make_role(bare), {"Oops": {"Type": "Fail", "Error": "Boom"}})
    # When an execution fails
    bare.wait_for_execution(_start(bare, machine))
    # Then Lambda ran it 3 times: at once, 60 s later, 120 s after that
    assert bare.async_lambda is not None
    attempts = bare.async_lambda.attempts
    assert [a.attempt for a in attempts] == [1, 2, 3]
    assert all(a.error for a in attempts)
    gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(attempts)]
    assert gaps == [60, 120]
    assert bare.async_lambda.pending == 0


def test_a_succeeded_execution_does_not_match_the_cleanup_rule(
    bare: Sandbox, make_function: Any, make_role: Any
) -> None:
    cleanup = make_function(bare, "idle-cleanup", SLEEPER, "app.handler")["FunctionArn"]
    _cleanup_rule(bare, cleanup)
    machine = _machine(bare, make_role(bare), {"Done": {"Type": "Succeed"}})
    bare.wait_for_execution(_start(bare, machine))
    assert bare.async_lambda is not None
    assert bare.async_lambda.attempts == []
