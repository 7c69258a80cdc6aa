"""adapters/stepfunctions.py with a botocore Stubber: is a lock's holder still running?"""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from coalmine.adapters.errors import THROTTLING_CODES
from coalmine.adapters.stepfunctions import MISSING, StepFunctionsApi
from coalmine.exceptions import AwsThrottled

ARN = "arn:aws:states:us-east-1:123456789012:execution:coalmine:deploy-brand-api-0001"


def _stubbed() -> tuple[StepFunctionsApi, Stubber]:
    client = boto3.client("stepfunctions", region_name="us-east-1")
    return StepFunctionsApi(client), Stubber(client)


def test_the_status_of_an_execution() -> None:
    api, stubber = _stubbed()
    stubber.add_response(
        "describe_execution",
        {
            "executionArn": ARN,
            "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:coalmine",
            "status": "RUNNING",
            "startDate": "2024-01-01T00:00:00Z",
        },
        {"executionArn": ARN},
    )
    with stubber:
        assert api.status(ARN) == "RUNNING"


@pytest.mark.parametrize(
    ("code", "status"),
    [("ExecutionDoesNotExist", MISSING), ("AccessDeniedException", None), ("InvalidArn", None)],
)
def test_what_cannot_be_described(code: str, status: str | None) -> None:
    api, stubber = _stubbed()
    stubber.add_client_error("describe_execution", code)
    with stubber:
        assert api.status(ARN) == status


@pytest.mark.parametrize("code", sorted(THROTTLING_CODES))
def test_throttling_is_aws_throttled(code: str) -> None:
    api, stubber = _stubbed()
    stubber.add_client_error("describe_execution", code, "Rate exceeded")
    with stubber, pytest.raises(AwsThrottled, match="Step Functions throttled DescribeExecution"):
        api.status(ARN)


def test_any_other_error_propagates() -> None:
    api, stubber = _stubbed()
    stubber.add_client_error("describe_execution", "InternalServerError", http_status_code=500)
    with stubber, pytest.raises(ClientError):
        api.status(ARN)
