"""Every error coalmine raises on purpose.

The class name *is* the error name the state machine matches in its ``Retry`` and ``Catch``
clauses (Lambda reports ``errorType`` = the exception's class name), so renaming a class here
means changing ``statemachine/deployment.asl.json`` too; ``tests/unit/test_asl.py`` checks that
every error name in the ASL exists.

    CoalmineError
    ├── InvalidInput               bad execution input; refused in Prepare, before any change
    ├── TargetVersionInvalid       the version to deploy is missing, $LATEST, or the stable one
    ├── CodeShaMismatch            $LATEST changed between upload and publish (a racing upload)
    ├── FunctionNotReady           LastUpdateStatus is not Successful yet (retried)
    ├── AwsThrottled               an AWS API throttled us (retried with back-off)
    ├── AliasChangedOutOfBand      someone else changed the alias mid-deployment: coalmine stops
    │                              shifting and never overwrites their change
    ├── DeploymentInProgress       another execution holds the alias's lock (refused in Prepare,
    │                              before any change; the message names the running execution)
    ├── RollbackFailed             the alias could not be put back whole (Cleanup; the message
    │                              carries the exact `aws lambda update-alias` command to finish)
    ├── ProvisionedConcurrencyNotReady  the alias's provisioned concurrency is still being
    │                              allocated after a shift (ShiftTraffic's Retry waits for it)
    ├── InvokeFailed               a synchronous Invoke (a lifecycle hook) got no answer: no such
    │                              function, not permitted (IAM), or none in time; the hook's
    │                              gate FAILs with the message (coalmine/hooks.py)
    └── ResourceNotFound           an adapter found no such function/version/alias/alarm; the
                                   caller turns it into InvalidInput or TargetVersionInvalid

The other way round, an error Lambda reports (a Step Functions ``Cause``, a failed Invoke's
payload) is JSON ``{"errorType", "errorMessage", ...}``: ``lambda_error_message`` reads it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


class CoalmineError(Exception):
    """Base class: an error coalmine raises on purpose, with a message a user can act on."""


class InvalidInput(CoalmineError):
    """The execution input is malformed. ``field`` names the offending field."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class TargetVersionInvalid(CoalmineError):
    """The version to deploy cannot be deployed (missing, $LATEST, equal to the stable one)."""


class CodeShaMismatch(CoalmineError):
    """The function's code changed between the upload and the publish."""


class FunctionNotReady(CoalmineError):
    """The function is still updating (LastUpdateStatus InProgress); retry later."""


class AwsThrottled(CoalmineError):
    """An AWS API answered with throttling; retry with back-off."""


class AliasChangedOutOfBand(CoalmineError):
    """The alias no longer matches what coalmine last set: someone else changed it."""


class DeploymentInProgress(CoalmineError):
    """Another deployment of the same function and alias is running (it holds the lock)."""


class OperatorRequestRefused(CoalmineError):
    """An operator's request was not written (unknown function, no running deployment, a bad
    action or reason): nothing changed; the message is the one line to show."""


class RollbackFailed(CoalmineError):
    """The alias could not be restored to one whole version; the message says how to finish."""


class ProvisionedConcurrencyNotReady(CoalmineError):
    """After a shift, the alias's provisioned concurrency is still IN_PROGRESS: retried (the ASL
    waits between attempts), then rolled back (coalmine/provisioned_concurrency.py)."""


class InvokeFailed(CoalmineError):
    """A synchronous Invoke got no answer from the function (missing, not permitted, timed out)."""


class TargetRoleUnavailable(CoalmineError):
    """STS refused to let coalmine assume a deployment's targetRoleArn (no such role, no trust to
    coalmine's account, sts:AssumeRole not granted): Prepare -> InvalidInput(targetRoleArn);
    later, the state's Catch like any AWS error (docs/cross-account.md)."""


class ResourceNotFound(CoalmineError):
    """AWS answered ResourceNotFoundException; ``resource`` says what was looked up."""

    def __init__(self, resource: str, message: str) -> None:
        self.resource = resource
        super().__init__(message)


@dataclass(frozen=True)
class LambdaError:
    """Lambda's error JSON, as far as it says: ``type`` (errorType) and ``message``
    (errorMessage), each None when absent."""

    type: str | None
    message: str | None


def parse_lambda_error(text: str) -> LambdaError | None:
    """``text`` as Lambda's error JSON, or None if it is not one (not JSON, not an object, or
    with neither ``errorType`` nor ``errorMessage``)."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    if not isinstance(parsed, dict) or not ({"errorType", "errorMessage"} & parsed.keys()):
        return None
    kind = parsed.get("errorType")
    message = str(parsed["errorMessage"]) if "errorMessage" in parsed else None
    return LambdaError(type=str(kind) if kind else None, message=message)


def lambda_error_message(cause: str) -> str:
    """The ``errorMessage`` of Lambda's error JSON (a Step Functions ``Cause`` of a Lambda task,
    a failed Invoke's payload); ``cause`` itself when it carries none."""
    error = parse_lambda_error(cause)
    return cause if error is None or error.message is None else error.message
