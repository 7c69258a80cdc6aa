"""botocore's ``ClientError`` -> coalmine's exceptions (coalmine/exceptions.py), for every adapter.

Every service: a throttling code -> AwsThrottled (the state machine retries it with back-off).
Lambda (``lambda_translated``), besides throttling:
  ResourceConflictException                                   -> FunctionNotReady
  PreconditionFailedException  -> AliasChangedOutOfBand (alias updates) / CodeShaMismatch (publish)
  ResourceNotFoundException                                   -> ResourceNotFound
  InvalidParameterValueException  -> InvalidInput(code.s3Key) (UpdateFunctionCode: not a zip,
                                     no such object) / CodeShaMismatch (publish)
  CodeVerificationFailedException, InvalidCodeSignatureException
                                  -> InvalidInput(code.s3Key) (UpdateFunctionCode: the function's
                                     CodeSigningConfig, Enforce, refused the zip)
Any other error propagates unchanged (to the state's Catch).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from botocore.exceptions import ClientError

from coalmine.exceptions import (
    AliasChangedOutOfBand,
    AwsThrottled,
    CoalmineError,
    CodeShaMismatch,
    FunctionNotReady,
    ResourceNotFound,
)

#: What Lambda, CloudWatch, Step Functions and DynamoDB answer when they throttle a request.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
    }
)


#: UpdateFunctionCode refused by a CodeSigningConfig whose policy is Enforce: bad input (the zip).
CODE_SIGNING_CODES = frozenset({"CodeVerificationFailedException", "InvalidCodeSignatureException"})


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def error_message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", str(error)))


def is_throttling(error: ClientError) -> bool:
    return error_code(error) in THROTTLING_CODES


@contextmanager
def throttling_translated(what: str) -> Iterator[None]:
    """A throttled request on ``what`` (e.g. "CloudWatch throttled GetMetricData") ->
    AwsThrottled; anything else propagates."""
    try:
        yield
    except ClientError as error:
        if is_throttling(error):
            raise AwsThrottled(f"{what}: {error_message(error)}") from error
        raise


@contextmanager
def lambda_translated(
    what: str,
    precondition: type[CoalmineError] = AliasChangedOutOfBand,
    invalid: Callable[[str], CoalmineError] | None = None,
) -> Iterator[None]:
    """Lambda's errors on ``what`` (e.g. "alias brand-api:prod") as the module docstring says."""
    try:
        yield
    except ClientError as error:
        code, message = error_code(error), error_message(error)
        if code in THROTTLING_CODES:
            raise AwsThrottled(f"Lambda throttled a request on {what}: {message}") from error
        if code == "ResourceConflictException":
            raise FunctionNotReady(f"{what} is being updated: {message}") from error
        if code == "PreconditionFailedException":
            raise precondition(f"{what} changed since coalmine last read it: {message}") from error
        if code == "ResourceNotFoundException":
            raise ResourceNotFound(what, f"{what} not found: {message}") from error
        if code == "InvalidParameterValueException" and invalid is CodeShaMismatch:
            # publish: the expected hash no longer matches $LATEST. AWS spells it "CodeSHA256"
            # in this message ("CodeSHA256 (x) is different from current CodeSHA256 in $LATEST")
            if "codesha256" in message.lower():
                raise CodeShaMismatch(f"{what}: {message}") from error
        elif code == "InvalidParameterValueException" and invalid is not None:
            raise invalid(f"{what}: {message}") from error
        elif code in CODE_SIGNING_CODES and invalid is not None and invalid is not CodeShaMismatch:
            # the function's CodeSigningConfig (Enforce) refused an unsigned or untrusted zip
            raise invalid(f"{what}: refused by the function's code signing ({message})") from error
        raise
