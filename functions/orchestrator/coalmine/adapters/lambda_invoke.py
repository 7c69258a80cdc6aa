"""Lambda Invoke: coalmine runs a lifecycle hook (coalmine/hooks.py) and waits for its answer.

Errors: ResourceNotFoundException, AccessDeniedException and no answer within
INVOKE_TIMEOUT_SECONDS -> InvokeFailed; throttling -> AwsThrottled (adapters/errors.py); the
function's own error is an answer (``Invoked.function_error``), not an exception.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

from coalmine.adapters.errors import error_code, lambda_translated
from coalmine.exceptions import InvokeFailed, ResourceNotFound
from coalmine.models import Invoked

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

#: How long coalmine waits for a hook's answer: ShiftTraffic and Promote (Timeout 180 s) may run
#: two hooks and their own calls (template.yaml); a hook should finish well within it.
INVOKE_TIMEOUT_SECONDS = 60


@cache
def invoke_client() -> LambdaClient:
    """Waits INVOKE_TIMEOUT_SECONDS for the answer and never retries by itself (a retry would
    run the hook again and outlast the handler's timeout); throttling is retried by the state
    machine (AwsThrottled)."""
    config = Config(
        read_timeout=INVOKE_TIMEOUT_SECONDS,
        connect_timeout=10,
        retries={"mode": "standard", "total_max_attempts": 1},
    )
    return boto3.client("lambda", config=config)


class LambdaInvoker:
    def __init__(self, client: LambdaClient | None = None) -> None:
        self._client = client  # None: invoke_client(), created on the first invoke

    def invoke(self, function: str, payload: Mapping[str, Any]) -> Invoked:
        """Invoke ``function`` (``name`` or ``name:qualifier``) synchronously with ``payload``.

        A function that raised is an answer (``function_error`` set), not an exception.
        """
        name, _, qualifier = function.partition(":")
        kwargs: dict[str, Any] = {"Qualifier": qualifier} if qualifier else {}
        try:
            with lambda_translated(f"function {function}"):
                response = (self._client or invoke_client()).invoke(
                    FunctionName=name,
                    InvocationType="RequestResponse",
                    Payload=json.dumps(payload).encode(),
                    **kwargs,
                )
                body = response["Payload"].read()
        except ResourceNotFound as error:
            raise InvokeFailed(f"no Lambda function {function}: {error}") from error
        except (ReadTimeoutError, ConnectTimeoutError) as error:
            raise InvokeFailed(
                f"function {function} did not answer within {INVOKE_TIMEOUT_SECONDS} s"
            ) from error
        except ClientError as error:
            if error_code(error) != "AccessDeniedException":
                raise
            raise InvokeFailed(
                f"coalmine may not invoke {function}: {error} (it may invoke only hooks tagged "
                "coalmine:hook=true, named with its ManagedFunctionPrefix if one is set)"
            ) from error
        return Invoked(
            payload=body.decode("utf-8", errors="replace"),
            function_error=response.get("FunctionError"),
            executed_version=response.get("ExecutedVersion"),
        )
