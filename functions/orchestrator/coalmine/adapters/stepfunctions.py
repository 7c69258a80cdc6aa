"""Step Functions: is the execution holding a lock still running? (DescribeExecution); the
Custom::CoalmineAlias provider starts a deployment (StartExecution) and reads its input."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from coalmine.adapters.errors import error_code, error_message, is_throttling
from coalmine.exceptions import AwsThrottled

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

MISSING = "MISSING"


@cache
def default_client() -> SFNClient:
    return boto3.client("stepfunctions", config=Config(retries={"mode": "standard"}))


class StepFunctionsApi:
    def __init__(self, client: SFNClient | None = None) -> None:
        self.client = client if client is not None else default_client()

    def status(self, execution_arn: str) -> str | None:
        """RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE; MISSING if there is no
        such execution; None if it cannot be known (not ours to describe: AccessDenied)."""
        try:
            return str(self.client.describe_execution(executionArn=execution_arn)["status"])
        except ClientError as error:
            code = error_code(error)
            if code == "ExecutionDoesNotExist":
                return MISSING
            if code in ("AccessDeniedException", "InvalidArn"):
                return None
            if is_throttling(error):
                message = error_message(error)
                raise AwsThrottled(
                    f"Step Functions throttled DescribeExecution: {message}"
                ) from error
            raise

    def start(self, state_machine_arn: str, name: str, execution_input: str) -> str:
        """StartExecution; idempotent for the same name and input (a retried request)."""
        response = self.client.start_execution(
            stateMachineArn=state_machine_arn, name=name, input=execution_input
        )
        return str(response["executionArn"])

    def input_of(self, execution_arn: str) -> str:
        """The execution's input (when its status-change event did not include it)."""
        return str(self.client.describe_execution(executionArn=execution_arn).get("input", "{}"))

    def wake(self, token: str) -> bool:
        """SendTaskSuccess to a waiting AwaitApproval (its output is not used: Analyze reads the
        answer from the lock). False when the wait is already over (a timeout, another answer):
        the next AwaitApproval finds the request in the lock and answers itself."""
        try:
            self.client.send_task_success(taskToken=token, output="{}")
        except ClientError as error:
            if error_code(error) in ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken"):
                return False
            raise
        return True
