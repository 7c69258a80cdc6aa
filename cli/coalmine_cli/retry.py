"""`coalmine retry EXECUTION_ARN | FUNCTION[:ALIAS] --reason R`: start a new deployment with the
same input as an ended one, and follow it like `coalmine deploy` (same output, same exit codes).

The input is the ended execution's own (DescribeExecution's ``input``): the same function, alias,
strategy, analysis, and the same ``targetVersion`` or ``code`` (an S3 object version names the
same bytes). Given FUNCTION[:ALIAS] (alias default prod) it is the newest ended deployment of that
alias among the state machine's newest executions (ListExecutions). Refused (exit 2, nothing
started) while a deployment of that alias runs, for a running execution, an unknown execution, or
an alias with no ended deployment. The new execution is named ``retry-<time>-<the old name>``
(cut to Step Functions' 80 characters), so the console shows what it retries; the reason is
printed with it (the execution input has no field for it: coalmine validates the input strictly).

Step Functions' RedriveExecution is not used: every coalmine ending is a decision (rolled back,
aborted, refused) or was cleaned up (stopped, timed out: Cleanup restored the alias), so resuming
the old execution from its failed state would resume a deployment whose alias has moved on."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from coalmine.execution_history import TERMINAL
from coalmine_cli import deploy, executions

EPILOG = """examples:
  coalmine retry brand-api:prod --reason "the rollback was a downstream outage, now fixed"
  coalmine retry arn:aws:states:eu-west-1:123456789012:execution:coalmine-deployment:abc \\
      --reason "flaky hook" --timeout 3600 --output json

The new deployment starts with the ended one's input (same target version or code object,
strategy and analysis) and is followed like `coalmine deploy`.

exit codes:
  0    promoted
  1    not promoted: rolled back, aborted, refused, failed
  2    bad input: an empty reason, an unknown or running execution, no ended deployment of the
       alias, a deployment of it running: nothing started
  3    an AWS or tool error (credentials, permissions, stack not found, ...): one line
  4    --timeout reached: the deployment goes on
  130  interrupted (Ctrl-C): the deployment goes on
"""

NAME_LIMIT = 80


def ended_input(sfn: Any, execution_arn: str) -> tuple[dict[str, Any], str]:
    """(the input, the execution's name) of an ended execution; Refused otherwise."""
    try:
        description = sfn.describe_execution(executionArn=execution_arn)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
            raise deploy.Refused(f"execution {execution_arn} does not exist") from error
        raise
    if description["status"] not in TERMINAL:
        raise deploy.Refused(
            f"execution {execution_arn} is {description['status']}: retry it once it has ended"
        )
    return _input(description), str(description["name"])


def _input(description: dict[str, Any]) -> dict[str, Any]:
    try:
        request = json.loads(description.get("input") or "null")
    except ValueError:
        request = None
    if not isinstance(request, dict):
        raise deploy.Refused(f"execution {description['executionArn']} has no JSON object input")
    return request


def newest_ended(
    sfn: Any, machine_arn: str, function: str, alias: str, scan: int
) -> tuple[dict[str, Any], str, str]:
    """(the input, name, ARN) of the newest ended deployment of ``function:alias`` among the
    newest ``scan`` executions (ListExecutions; one DescribeExecution per ended one looked at)."""
    kwargs: dict[str, Any] = {"stateMachineArn": machine_arn, "maxResults": 100}
    seen = 0
    while seen < scan:
        page = sfn.list_executions(**kwargs)
        for listed in page["executions"][: scan - seen]:  # newest first
            seen += 1
            if listed["status"] not in TERMINAL:
                continue
            description = sfn.describe_execution(executionArn=listed["executionArn"])
            found = executions.row(description)
            if (found.function, found.alias) == (function, alias):
                return _input(description), found.name, found.arn
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    raise deploy.Refused(
        f"no ended deployment of {function}:{alias} among the newest {scan} executions"
    )


def refuse_if_running(sfn: Any, machine_arn: str, function: str, alias: str) -> None:
    for found in executions.running(sfn, machine_arn):
        if (found.function, found.alias) == (function, alias):
            raise deploy.Refused(
                f"a deployment of {function}:{alias} is running ({found.arn}): "
                "retry once it has ended (or `coalmine abort` it)"
            )


def retry_name(old_name: str, now: float) -> str:
    """``retry-<UTC time>-<old name>``, at most 80 characters (a valid execution name)."""
    head = f"retry-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now))}-"
    return (head + old_name)[:NAME_LIMIT]


def run(
    args: Any,
    aws: Callable[[], tuple[Any, str]],
    started: list[str],
) -> int:
    """The verb (main.py guards it: exit codes 2, 3, 4, 130 come from the exceptions)."""
    if not args.reason.strip():
        raise deploy.Refused("--reason must say why")
    if args.timeout is not None and args.timeout <= 0:
        raise deploy.Refused("--timeout must be a positive number of seconds")
    if args.scan < 1:
        raise deploy.Refused("--scan must be at least 1")
    is_arn = args.target.startswith("arn:")
    if not is_arn:
        try:
            function, alias = executions.parse_target(args.target)
        except ValueError as error:
            raise deploy.Refused(str(error)) from error
    sfn, machine = aws()
    if is_arn:
        request, old_name = ended_input(sfn, args.target)
        old_arn = args.target
    else:
        alias = alias or "prod"
        request, old_name, old_arn = newest_ended(sfn, machine, function, alias, args.scan)
    deploy.validate(request)  # InvalidInput (exit 2): an input that never started a deployment
    function, alias = str(request["functionName"]), str(request.get("alias", "prod"))
    refuse_if_running(sfn, machine, function, alias)
    as_json = args.output == "json"
    say = (lambda line: print(line, file=sys.stderr)) if as_json else print
    execution = deploy.start(sfn, machine, request, args.name or retry_name(old_name, time.time()))
    started.append(execution)
    say(f"started {execution}: retry of {old_arn} ({args.reason.strip()})")
    if args.no_wait:
        if as_json:
            print(json.dumps({"executionArn": execution, "status": "RUNNING"}))
        return 0
    description, reader = deploy.follow(
        sfn, execution, say, poll_seconds=args.poll_seconds, timeout_seconds=args.timeout
    )
    say(f"status {description['status']}")
    if as_json:
        print(json.dumps(deploy.result_json(description, reader.events), default=str))
    return deploy.exit_code(description)


def add_parser(sub: Any, aws_options: Callable[[Any], None], formatter: Any) -> Any:
    parser = sub.add_parser(
        "retry",
        help="start a new deployment with an ended one's input, and follow it",
        description="Start a new deployment with the same input as an ended one (the execution "
        "given, or the newest ended deployment of FUNCTION[:ALIAS], alias default prod) and "
        "follow it like `coalmine deploy`. Refused while a deployment of that alias runs.",
        epilog=EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument("target", metavar="EXECUTION_ARN|FUNCTION[:ALIAS]")
    parser.add_argument("--reason", required=True, help="why (printed with the new execution)")
    parser.add_argument(
        "--scan",
        type=int,
        default=200,
        help="look for the ended deployment among the newest SCAN executions (default 200)",
    )
    aws_options(parser)
    parser.add_argument("--name", help="execution name (default: retry-<time>-<old name>)")
    deploy.follow_options(parser)
    return parser
