"""Step Functions: is the execution holding a lock still running? (DescribeExecution only.)"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from coalmine.exceptions import AwsThrottled

MISSING = "MISSING"


@cache
def default_client() -> Any:
    return boto3.client("stepfunctions", config=Config(retries={"mode": "standard"}))


class StepFunctionsApi:
    def __init__(self, client: Any | None = None) -> None:
        self.client = client if client is not None else default_client()

    def status(self, execution_arn: str) -> str | None:
        """RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE; MISSING if there is no
        such execution; None if it cannot be known (not ours to describe: AccessDenied)."""
        try:
            return str(self.client.describe_execution(executionArn=execution_arn)["status"])
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "ExecutionDoesNotExist":
                return MISSING
            if code in ("AccessDeniedException", "InvalidArn"):
                return None
            if code in ("ThrottlingException", "TooManyRequestsException"):
                raise AwsThrottled(
                    f"Step Functions throttled DescribeExecution: {error}"
                ) from error
            raise
