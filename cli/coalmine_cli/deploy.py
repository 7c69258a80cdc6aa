"""`coalmine deploy`: start a deployment execution and follow it until it ends.

This is what CI runs: it validates the input locally first (so a typo fails in a second, with the
field named, starts nothing and needs no credentials), starts the execution, prints progress from
its history, and exits with a code CI can branch on:

| code | meaning |
|---|---|
| 0 | promoted |
| 1 | not promoted: rolled back, aborted, refused, failed |
| 2 | bad input (the command line or the input file): nothing started |
| 3 | an AWS or tool error (credentials, permissions, stack not found, throttling...): one line |
| 4 | `--timeout` reached: the deployment goes on (the message says how to follow or stop it) |
| 130 | interrupted (Ctrl-C): the deployment goes on (same message) |
"""

from __future__ import annotations

import json
import re
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from coalmine.exceptions import InvalidInput
from coalmine.execution_history import TERMINAL, HistoryReader, last_document
from coalmine.strategies import resolve
from coalmine.validation import parse_request
from coalmine_cli.progress import progress_lines

EXIT_PROMOTED = 0
EXIT_NOT_PROMOTED = 1
EXIT_BAD_INPUT = 2
EXIT_AWS_ERROR = 3
EXIT_TIMEOUT = 4
EXIT_INTERRUPTED = 130


class ToolError(Exception):
    """Something outside the deployment went wrong (exit 3): the message is the one line shown."""


class Refused(Exception):
    """Bad input found with AWS's help (an unknown execution, nothing to act on, ...): exit 2,
    nothing changed; the message is the one line shown."""


class TimedOut(Exception):
    """`--timeout` passed while the execution was still running."""


def validate(request: dict[str, Any]) -> None:
    """Raise InvalidInput naming the field (an unknown strategy name included); no AWS call."""
    resolve(parse_request(request).strategy)


def find_output(cloudformation: Any, stack_name: str, key: str) -> str:
    """One of the stack's outputs (DeploymentStateMachineArn, ArtifactBucketName)."""
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    for output in stack.get("Outputs", []):
        if output["OutputKey"] == key:
            return str(output["OutputValue"])
    raise ToolError(f"stack {stack_name} has no {key} output")


def find_state_machine(cloudformation: Any, stack_name: str) -> str:
    """The deployment state machine's ARN from the stack's outputs."""
    return find_output(cloudformation, stack_name, "DeploymentStateMachineArn")


# `--zip`: the object's name (the part after deployments/<function>/) - an S3 key segment anyone
# can read in a console, and a valid Step Functions execution name when reused as one.
_OBJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")


class ZipError(Exception):
    """`--zip` names no usable zip, or the input cannot take one (exit 2): the one line shown."""


def zip_key(function_name: str, object_name: str, by_rule: bool = True) -> str:
    """Where `--zip` uploads: deployments/<function>/<name>.zip in the artifact bucket, which the
    stack's upload rule turns into a deployment; `by_rule` False: deployments/<function>/<name>
    (not *.zip: the rule ignores it, the CLI starts the deployment with it as `code`)."""
    return f"deployments/{function_name}/{object_name}" + (".zip" if by_rule else "")


# What an upload's metadata can carry (coalmine/upload_policy.py reads it in Prepare).
METADATA_STRATEGY = "coalmine-strategy"
METADATA_ALARMS = "coalmine-alarms"
MAX_METADATA_BYTES = 1800  # S3 takes at most 2 KB of user metadata (names and values)


def upload_metadata(request: dict[str, Any]) -> dict[str, str] | None:
    """The request as the uploaded object's metadata, so the deployment the upload rule starts
    runs with it; None when the request holds more than metadata can carry (a field other than
    functionName, strategy, analysis.alarms and startedBy (an upload records its requester), or
    over S3's size limit): then the CLI uploads out of the rule's reach and starts the deployment
    itself."""
    analysis = request.get("analysis")
    if set(request) - {"functionName", "strategy", "analysis", "startedBy"}:
        return None
    if analysis is not None and (not isinstance(analysis, dict) or set(analysis) - {"alarms"}):
        return None
    metadata: dict[str, str] = {}
    strategy = request.get("strategy")
    if strategy is not None:
        text = strategy if isinstance(strategy, str) else json.dumps(strategy)
        metadata[METADATA_STRATEGY] = text
    alarms = (analysis or {}).get("alarms")
    if alarms:
        metadata[METADATA_ALARMS] = json.dumps(alarms)
    if len(json.dumps(metadata)) > MAX_METADATA_BYTES:
        return None
    return metadata


def started_by_upload(
    sfn: Any, state_machine_arn: str, key: str, version: str | None, since: float
) -> str | None:
    """The execution the upload rule started for this object (its input's `upload` names the
    key and the version id), among those started since `since` (epoch seconds), else None."""
    pages = sfn.get_paginator("list_executions").paginate(
        stateMachineArn=state_machine_arn, PaginationConfig={"MaxItems": 50}
    )
    for page in pages:
        for item in page.get("executions", []):
            started = item["startDate"]
            if (started.timestamp() if hasattr(started, "timestamp") else started) < since:
                return None  # newest first: the rest started before the upload
            described = sfn.describe_execution(executionArn=item["executionArn"])
            if _names_upload(described.get("input"), key, version):
                return str(item["executionArn"])
    return None


def _names_upload(text: Any, key: str, version: str | None) -> bool:
    try:
        request = json.loads(text or "{}")
        obj = request["upload"]["detail"]["object"]
    except (ValueError, KeyError, TypeError):
        return False
    return bool(obj.get("key") == key and (version is None or obj.get("version-id") == version))


def wait_for_upload_execution(
    sfn: Any,
    state_machine_arn: str,
    key: str,
    version: str | None,
    since: float,
    wait_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    poll_seconds: float = 2.0,
) -> str | None:
    """Look for the execution the upload rule starts for up to `wait_seconds` (EventBridge
    delivers within seconds); None if none appeared (no rule: a stack without it, or it is
    disabled; or the rule's delivery is late - then its execution is refused while ours holds the
    alias's lock, or deploys nothing new after it)."""
    deadline = clock() + max(wait_seconds, 0.0)
    while True:
        found = started_by_upload(sfn, state_machine_arn, key, version, since)
        if found is not None or clock() >= deadline:
            return found
        sleep(poll_seconds)


def check_zip(path: Path, request: dict[str, Any], object_name: str) -> None:
    """Everything `--zip` needs, checked before any AWS call; raises ZipError."""
    if not path.is_file():
        raise ZipError(f"--zip {path}: no such file")
    if not zipfile.is_zipfile(path):
        raise ZipError(f"--zip {path}: not a zip archive")
    with zipfile.ZipFile(path) as archive:
        if not archive.namelist():
            raise ZipError(f"--zip {path}: the archive is empty")
    if "targetVersion" in request or "code" in request:
        raise ZipError("--zip deploys the zip: the input must not name targetVersion or code")
    if not isinstance(request.get("functionName"), str) or not request["functionName"]:
        raise ZipError("--zip needs functionName (--function or the input file)")
    if not _OBJECT_NAME.match(object_name):
        raise ZipError(
            f"--zip-name {object_name!r}: 1-80 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )


def with_code(
    request: dict[str, Any], bucket: str, key: str, version: str | None
) -> dict[str, Any]:
    """The request deploying the uploaded object (its version when the bucket keeps versions)."""
    code = {"s3Bucket": bucket, "s3Key": key} | ({"s3ObjectVersion": version} if version else {})
    return request | {"code": code}


def upload_zip(
    s3: Any, bucket: str, key: str, path: Path, metadata: dict[str, str] | None = None
) -> str | None:
    """PutObject (with the deployment's policy as metadata); the new object's version id (the
    artifact bucket is versioned)."""
    with path.open("rb") as body:
        answer = s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType="application/zip",
            Metadata=metadata or {},
        )
    return answer.get("VersionId")


def start(sfn: Any, state_machine_arn: str, request: dict[str, Any], name: str | None) -> str:
    validate(request)  # again: a caller may have skipped it; nothing starts on bad input
    kwargs: dict[str, Any] = {"stateMachineArn": state_machine_arn, "input": json.dumps(request)}
    if name:
        kwargs["name"] = name
    return str(sfn.start_execution(**kwargs)["executionArn"])


def follow(
    sfn: Any,
    execution_arn: str,
    emit: Callable[[str], None],
    poll_seconds: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
    timeout_seconds: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[dict[str, Any], HistoryReader]:
    """Print progress until the execution ends; its final description and its history.
    Raises TimedOut once `timeout_seconds` (wall) have passed with the execution running."""
    reader = HistoryReader(sfn, execution_arn)
    deadline = None if timeout_seconds is None else clock() + timeout_seconds
    while True:
        description = sfn.describe_execution(executionArn=execution_arn)
        for line in progress_lines(reader.new_events()):
            emit(line)
        if description["status"] in TERMINAL:
            for line in progress_lines(reader.new_events()):
                emit(line)
            return description, reader
        if deadline is not None and clock() >= deadline:
            raise TimedOut(execution_arn)
        sleep(poll_seconds)


def exit_code(description: dict[str, Any]) -> int:
    if description["status"] != "SUCCEEDED":
        return EXIT_NOT_PROMOTED
    output = json.loads(description.get("output") or "{}")
    return EXIT_PROMOTED if output.get("outcome") == "PROMOTED" else EXIT_NOT_PROMOTED


def result_json(description: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """`--output json`: how the execution ended and the deployment document as it left it."""
    return {
        "executionArn": description["executionArn"],
        "status": description["status"],
        "error": description.get("error"),
        "cause": description.get("cause"),
        "deployment": last_document(events),
    }


def still_running_message(execution_arn: str, why: str) -> str:
    return (
        f"coalmine: {why}; the deployment goes on. Follow it in the Step Functions console, or "
        f"with `aws stepfunctions describe-execution --execution-arn {execution_arn}`; "
        f"stop it (coalmine's Cleanup restores the alias) with "
        f"`aws stepfunctions stop-execution --execution-arn {execution_arn}`"
    )


def bad_input_message(error: InvalidInput) -> str:
    return f"coalmine: invalid deployment input: {error}"


def follow_options(parser: Any) -> None:
    """How `deploy` and `retry` follow the execution they start (the same exit codes)."""
    parser.add_argument("--poll-seconds", type=float, default=10.0)
    parser.add_argument("--no-wait", action="store_true", help="start and return")
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="stop following after this long (exit 4; the deployment goes on)",
    )
    parser.add_argument(
        "--output",
        choices=("text", "json"),
        default="text",
        help="json: print the outcome and the final deployment document on stdout "
        "(progress goes to stderr)",
    )
