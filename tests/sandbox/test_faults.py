"""aws/faults.py: injected faults look like AWS's to Step Functions and to boto3 callers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from coalmine_sandbox import Sandbox
from coalmine_sandbox.aws.cloudformation.stack import Created

ECHO = {
    "app.py": """
        import boto3
        def handler(event, context):
            if event.get("touch"):
                boto3.client("lambda").update_alias(
                    FunctionName=event["touch"], Name="live", FunctionVersion="1")
            return {"ok": True}
    """
}


def _run_one_task(sb: Sandbox, make_function: Any, make_role: Any, payload: Any = None) -> Any:
    fn = make_function(sb, "WorkFunction-x", ECHO, "app.handler")["FunctionArn"]
    sb.stack.resources["WorkFunction"] = Created("WorkFunction-x", {})  # state "Work"
    definition = {
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": fn, "Payload": payload or {}},
                "End": True,
            }
        },
    }
    sfn = sb.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="one-task", definition=json.dumps(definition), roleArn=make_role(sb)
    )["stateMachineArn"]
    return machine


def _errors(sb: Sandbox, arn: str) -> list[str]:
    events = sb.client("stepfunctions").get_execution_history(executionArn=arn)["events"]
    return [e["taskFailedEventDetails"]["error"] for e in events if e["type"] == "TaskFailed"]


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("throttling", "Lambda.TooManyRequestsException"),
        ("service-error", "Lambda.ServiceException"),
        ("crash", "Runtime.ExitError"),
        ("timeout", "Sandbox.Timedout"),
    ],
)
def test_an_invocation_fault_is_the_error_step_functions_sees(
    bare: Sandbox, make_function: Any, make_role: Any, kind: str, error: str
) -> None:
    # Given a one-Task state machine and a fault on its function's first invocation
    machine = _run_one_task(bare, make_function, make_role)
    bare.faults.inject("Work", kind)
    # When it runs
    sfn = bare.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    described = bare.wait_for_execution(arn)
    # Then the Task failed with AWS's error name for that fault
    assert described["status"] == "FAILED"
    assert _errors(bare, arn) == [error]
    # And the next run is healthy (times=1)
    again = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    assert bare.wait_for_execution(again)["status"] == "SUCCEEDED"


def test_occurrence_and_times_pick_the_invocations(
    bare: Sandbox, make_function: Any, make_role: Any
) -> None:
    machine = _run_one_task(bare, make_function, make_role)
    bare.faults.inject("Work", "crash", occurrence=2, times=2)
    sfn = bare.client("stepfunctions")
    statuses = []
    for _ in range(4):
        arn = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
        statuses.append(bare.wait_for_execution(arn)["status"])
    assert statuses == ["SUCCEEDED", "FAILED", "FAILED", "SUCCEEDED"]


def test_an_api_fault_is_the_services_own_error_after_botocore_retries(bare: Sandbox) -> None:
    # Given UpdateAlias throttled 10 times
    bare.faults.inject_api("UpdateAlias", kind="throttling", times=10)
    # When a caller with standard retries (3 attempts) calls it
    import boto3
    from botocore.config import Config

    lam = boto3.client("lambda", config=Config(retries={"mode": "standard"}))
    with pytest.raises(ClientError) as raised:
        lam.update_alias(FunctionName="nope", Name="live", FunctionVersion="1")
    # Then it saw TooManyRequestsException (429), after botocore's own retries
    assert raised.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert bare.faults.api_faults[0].fired == 3


def test_an_api_fault_on_another_service_uses_its_protocol(bare: Sandbox) -> None:
    bare.faults.inject_api("DescribeAlarms", service="cloudwatch", kind="throttling", times=None)
    with pytest.raises(ClientError) as raised:
        bare.client("cloudwatch").describe_alarms()
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"


def test_an_api_fault_for_a_caller_spares_other_callers(
    bare: Sandbox, make_function: Any, make_role: Any
) -> None:
    # Given a fault on ListFunctions only when called by the state "Work"
    _run_one_task(bare, make_function, make_role)
    bare.faults.inject_api("ListFunctions", kind="service-error", caller="Work", times=None)
    # Then the test's own call is untouched
    assert "Functions" in bare.client("lambda").list_functions()


def test_an_api_fault_on_one_table_spares_the_others(bare: Sandbox) -> None:
    # Given two tables and a fault on PutItem to the first only
    ddb = bare.client("dynamodb")
    for name in ("history", "locks"):
        ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    fault = bare.faults.inject_api(
        "PutItem", "dynamodb", kind="service-error", times=None, resource="history"
    )
    # Then a write to the other table goes through, and one to the first is refused
    ddb.put_item(TableName="locks", Item={"k": {"S": "a"}})
    with pytest.raises(ClientError) as raised:
        ddb.put_item(TableName="history", Item={"k": {"S": "a"}})
    assert raised.value.response["Error"]["Code"] == "InternalFailure"
    assert fault.fired >= 1
    assert ddb.scan(TableName="history")["Items"] == []


def test_unknown_kind_or_state_is_refused(bare: Sandbox) -> None:
    with pytest.raises(ValueError, match="kind"):
        bare.faults.inject("Work", "meteor")
    with pytest.raises(ValueError, match="state"):
        bare.faults.inject("NoSuchState", "crash")
