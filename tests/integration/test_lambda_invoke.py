"""adapters/lambda_invoke.py with a botocore Stubber: a hook's answer (its own error included) is
returned; no such function, not permitted, or no answer in time is InvokeFailed."""

from __future__ import annotations

import io
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.response import StreamingBody
from botocore.stub import Stubber

from coalmine.adapters.lambda_invoke import INVOKE_TIMEOUT_SECONDS, LambdaInvoker
from coalmine.exceptions import AwsThrottled, InvokeFailed
from coalmine.models import Invoked

HOOK = "brand-api-smoke"


def _stubbed(
    response: dict[str, Any] | None = None, code: str | None = None
) -> tuple[LambdaInvoker, Stubber]:
    client = boto3.client("lambda", region_name="us-east-1")
    stubber = Stubber(client)
    expected = {
        "FunctionName": HOOK,
        "Qualifier": "live",
        "InvocationType": "RequestResponse",
        "Payload": b'{"toVersion": "2"}',
    }
    if code is not None:
        stubber.add_client_error("invoke", code, "nope", expected_params=expected)
    else:
        stubber.add_response("invoke", response or {}, expected_params=expected)
    return LambdaInvoker(client), stubber


def _body(text: str) -> StreamingBody:
    return StreamingBody(io.BytesIO(text.encode()), len(text.encode()))


def test_invoke_returns_the_answer_and_the_function_error() -> None:
    api, stubber = _stubbed(
        {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "ExecutedVersion": "3",
            "Payload": _body('{"errorType": "KeyError"}'),
        }
    )
    with stubber:
        answer = api.invoke(f"{HOOK}:live", {"toVersion": "2"})

    assert answer == Invoked('{"errorType": "KeyError"}', "Unhandled", "3")


@pytest.mark.parametrize(
    ("code", "error", "message"),
    [
        ("ResourceNotFoundException", InvokeFailed, "no Lambda function brand-api-smoke:live"),
        ("AccessDeniedException", InvokeFailed, "tagged coalmine:hook=true"),
        ("TooManyRequestsException", AwsThrottled, "throttled"),
    ],
)
def test_invoke_translates_aws_errors(code: str, error: type[Exception], message: str) -> None:
    api, stubber = _stubbed(code=code)
    with stubber, pytest.raises(error, match=message):
        api.invoke(f"{HOOK}:live", {"toVersion": "2"})


def test_invoke_gives_up_after_its_timeout() -> None:
    class SlowClient:
        def invoke(self, **kwargs: Any) -> Any:
            raise ReadTimeoutError(endpoint_url="https://lambda.us-east-1.amazonaws.com")

    api = LambdaInvoker(SlowClient())
    with pytest.raises(InvokeFailed, match=f"did not answer within {INVOKE_TIMEOUT_SECONDS} s"):
        api.invoke(HOOK, {})
