"""`coalmine`: deploy on AWS, rehearse in the local sandbox, run the demo.

coalmine deploy   --stack coalmine --input events/execution-canary.json   (real AWS)
coalmine list     [--stack coalmine]                   (running deployments; real AWS)
coalmine history  brand-api[:prod] [--limit 20]        (past deployments; real AWS)
coalmine status   brand-api[:prod] | EXECUTION_ARN      (where a deployment is; real AWS)
coalmine abort    brand-api[:prod] --reason R          (roll a running deployment back; real AWS)
coalmine promote  brand-api[:prod] --now --reason R    (skip the remaining bakes; real AWS)
coalmine pause    brand-api[:prod] --reason R          (hold the weight; `resume` goes on; real AWS)
coalmine approve  brand-api[:prod] --reason R          (a human gate: go on; `reject` rolls back)
coalmine retry    brand-api[:prod] | EXECUTION_ARN --reason R   (redeploy an ended one's input)
coalmine rollback --to-previous brand-api[:prod] --reason R     (blue/green: back on `previous`)
coalmine report   EXECUTION_ARN|RESULT.json -o report.html [--png] [--json timeline.json]
coalmine rehearse healthy-canary [--json out.json] [--report]  (a shipped scenario or a file)
coalmine demo                                                             (sandbox)
coalmine soak     [--deployments 300] [--seed S]                          (sandbox)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from coalmine.exceptions import InvalidInput

DEMO_SCENARIOS = ("healthy-canary.json", "faulty-canary.json")


class BadInput(Exception):
    """The command line or a file it names is unusable (exit 2): the message is the one line."""


def _load_json(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except OSError as error:
        raise BadInput(f"cannot read {path}: {error.strerror}") from error
    except ValueError as error:
        raise BadInput(f"{path} is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise BadInput(f"{path} must hold a JSON object")
    return data


def _session(args: argparse.Namespace) -> tuple[Any, dict[str, str]]:
    """(boto3 session, the client keyword arguments: the endpoint when one is given)."""
    import boto3

    session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
    return session, ({"endpoint_url": args.endpoint_url} if args.endpoint_url else {})


def _aws(args: argparse.Namespace) -> tuple[Any, Any]:
    """(Step Functions client, state machine ARN) for the verbs that talk to AWS."""
    from coalmine_cli import deploy

    session, endpoint = _session(args)
    sfn = session.client("stepfunctions", **endpoint)
    arn = args.state_machine_arn or deploy.find_state_machine(
        session.client("cloudformation", **endpoint), args.stack
    )
    return sfn, arn


def _caller(args: argparse.Namespace) -> str:
    """The caller identity's ARN (STS GetCallerIdentity, which needs no permission): sent as
    the input's ``startedBy``, kept in the deployment's history item."""
    session, endpoint = _session(args)
    return str(session.client("sts", **endpoint).get_caller_identity()["Arn"])


def _upload(
    args: argparse.Namespace, request: dict[str, Any], key: str, metadata: dict[str, str] | None
) -> tuple[dict[str, Any], str | None]:
    """`--zip`: PutObject into the artifact bucket; the request deploying that object, and the
    object's version id."""
    from coalmine_cli import deploy

    session, endpoint = _session(args)
    bucket = args.artifact_bucket or deploy.find_output(
        session.client("cloudformation", **endpoint), args.stack, "ArtifactBucketName"
    )
    s3 = session.client("s3", **endpoint)
    version = deploy.upload_zip(s3, bucket, key, Path(args.zip), metadata)
    return deploy.with_code(request, bucket, key, version), version


def _zip_name(args: argparse.Namespace) -> str:
    """The uploaded object's name: --zip-name, else --name, else <zip stem>-<UTC time>."""
    import re
    import time

    if args.zip_name or args.name:
        return str(args.zip_name or args.name)
    stem = re.sub(r"[^A-Za-z0-9._-]", "-", Path(args.zip).stem).strip("-._") or "build"
    return f"{stem[:60]}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"


def _guarded(run: Callable[[], int], running: list[str]) -> int:
    """Run a verb: bad input -> 2, AWS or tool errors -> 3 (one line, no traceback), Ctrl-C -> 130;
    `running` names an execution that goes on (for the message)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from coalmine_cli import deploy

    try:
        return run()
    except (BadInput, deploy.Refused) as error:
        print(f"coalmine: {error}", file=sys.stderr)
        return deploy.EXIT_BAD_INPUT
    except InvalidInput as error:
        print(deploy.bad_input_message(error), file=sys.stderr)
        return deploy.EXIT_BAD_INPUT
    except ClientError as error:
        info = error.response.get("Error", {})
        print(f"coalmine: AWS: {info.get('Code')}: {info.get('Message')}", file=sys.stderr)
        return deploy.EXIT_AWS_ERROR
    except (BotoCoreError, deploy.ToolError) as error:
        print(f"coalmine: {error}", file=sys.stderr)
        return deploy.EXIT_AWS_ERROR
    except deploy.TimedOut as error:
        print(deploy.still_running_message(str(error), "--timeout reached"), file=sys.stderr)
        return deploy.EXIT_TIMEOUT
    except KeyboardInterrupt:
        if running:
            print(deploy.still_running_message(running[-1], "interrupted"), file=sys.stderr)
        else:
            print("coalmine: interrupted", file=sys.stderr)
        return deploy.EXIT_INTERRUPTED


def cmd_deploy(args: argparse.Namespace) -> int:
    from coalmine_cli import deploy

    started: list[str] = []

    def run() -> int:
        request = _load_json(args.input) if args.input else {}
        for key, value in (
            ("functionName", args.function),
            ("targetVersion", args.target_version),
            ("strategy", args.strategy),
            ("alias", args.alias),
        ):
            if value is not None:
                request[key] = value
        object_key: str | None = None
        metadata: dict[str, str] | None = None
        if args.zip:
            name = _zip_name(args)
            try:
                deploy.check_zip(Path(args.zip), request, name)
            except deploy.ZipError as error:
                raise BadInput(str(error)) from error
            # all the request fits in the object's metadata: the upload rule's deployment runs it
            metadata = deploy.upload_metadata(request)
            object_key = deploy.zip_key(request["functionName"], name, metadata is not None)
            # validated as it will be started (the bucket and the version come from AWS)
            deploy.validate(deploy.with_code(request, "artifact-bucket", object_key, None))
        else:
            deploy.validate(request)  # before any AWS call: a typo needs no credentials
        if args.timeout is not None and args.timeout <= 0:
            raise BadInput("--timeout must be a positive number of seconds")
        if args.watch and (args.no_wait or args.output == "json"):
            option = "--no-wait" if args.no_wait else "--output json"
            raise BadInput(f"--watch follows the deployment's status: not with {option}")
        as_json = args.output == "json"
        say = (lambda line: print(line, file=sys.stderr)) if as_json else print
        sfn, arn = _aws(args)
        request.setdefault("startedBy", _caller(args))
        execution: str | None = None
        if object_key is not None:
            since = time.time() - 60  # (clock skew between here and Step Functions)
            request, version = _upload(args, request, object_key, metadata)
            say(f"uploaded s3://{request['code']['s3Bucket']}/{object_key}")
            if metadata is not None:  # the upload rule starts the deployment: follow it
                execution = deploy.wait_for_upload_execution(
                    sfn, arn, object_key, version, since, args.rule_wait
                )
                if execution is None:
                    say(f"no deployment started by the upload rule within {args.rule_wait:g} s")
        if execution is not None:
            started.append(execution)
            say(f"following {execution} (started by the upload rule)")
        else:
            execution = deploy.start(sfn, arn, request, args.name)
            started.append(execution)
            say(f"started {execution}")
        if args.no_wait:
            if as_json:
                print(json.dumps({"executionArn": execution, "status": "RUNNING"}))
            return 0
        if args.watch:  # status --watch's view of it (redrawn on a terminal)
            from coalmine_cli import watch

            return watch.watch(
                sfn, execution, sys.stdout, tty=sys.stdout.isatty(),
                poll_seconds=args.poll_seconds, timeout_seconds=args.timeout,
            )  # fmt: skip
        description, reader = deploy.follow(
            sfn, execution, say, poll_seconds=args.poll_seconds, timeout_seconds=args.timeout
        )
        say(f"status {description['status']}")
        if as_json:
            print(json.dumps(deploy.result_json(description, reader.events), default=str))
        return deploy.exit_code(description)

    return _guarded(run, started)


def cmd_list(args: argparse.Namespace) -> int:
    from coalmine_cli import executions

    def run() -> int:
        sfn, arn = _aws(args)
        rows = executions.running(sfn, arn)
        for found in rows:
            print(found.line())
        if not rows:
            print("no deployment is running")
        return 0

    return _guarded(run, [])


def cmd_history(args: argparse.Namespace) -> int:
    from coalmine_cli import executions

    def run() -> int:
        try:
            function, alias = executions.parse_lock_target(args.target)
        except ValueError as error:
            raise BadInput(str(error)) from error
        if args.limit < 1:
            raise BadInput("--limit must be at least 1")
        table, dynamodb = _history_table(args)
        if table is not None:
            rows = executions.table_history(dynamodb, table, function, alias, args.limit)
            where = f"in {table}"
        else:
            sfn, arn = _aws(args)
            rows = executions.history(sfn, arn, function, alias, args.limit, args.scan)
            where = f"among the newest {args.scan} executions"
        for found in rows:
            print(found.line())
        if not rows:
            print(f"no deployment of {args.target} {where}")
        return 0

    return _guarded(run, [])


def cmd_report(args: argparse.Namespace) -> int:
    from coalmine_cli import report

    def run() -> int:
        source = args.source
        if source.startswith("arn:"):
            tl = _execution_timeline(args, source)
        else:
            try:
                tl = report.timeline_of_result(Path(source))
            except report.ReportError as error:
                raise BadInput(str(error)) from error
        from coalmine_cli import browser, deploy

        json_out = Path(args.json) if args.json else None
        try:
            written = report.write(tl, Path(args.output), args.png, json_out)
        except browser.BrowserError as error:
            raise deploy.ToolError(str(error)) from error
        for path in written:
            print(f"wrote {path}")
        return 0

    return _guarded(run, [])


def _execution_timeline(args: argparse.Namespace, arn: str) -> dict[str, Any]:
    import boto3

    from coalmine.adapters import timeline_sources
    from coalmine.exceptions import AwsThrottled
    from coalmine.execution_timeline import NoEvidence
    from coalmine_cli import deploy, sources

    region = sources.arn_region(arn)
    if region is None:
        raise BadInput(
            f"{arn!r} is not a Step Functions execution ARN "
            "(arn:aws:states:REGION:ACCOUNT:execution:STATE_MACHINE:NAME)"
        )
    session = boto3.session.Session(profile_name=args.profile, region_name=args.region or region)
    endpoint = {"endpoint_url": args.endpoint_url} if args.endpoint_url else {}
    try:
        return timeline_sources.timeline_of(
            session.client("stepfunctions", **endpoint),
            session.client("s3", **endpoint),
            session.client("cloudwatch", **endpoint),
            arn,
            args.reports_bucket,
            args.rebuild,
        )
    except NoEvidence as error:
        raise BadInput(str(error)) from error
    except AwsThrottled as error:
        raise deploy.ToolError(str(error)) from error


def _history_table(args: argparse.Namespace) -> tuple[str | None, Any]:
    """(the DeploymentHistory table, a DynamoDB client): ``--history-table``, else the stack's
    ``DeploymentHistoryTableName`` output when the stack is used (no ``--state-machine-arn``);
    (None, None) when there is none: the state machine's executions are read instead."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
    endpoint = {"endpoint_url": args.endpoint_url} if args.endpoint_url else {}
    table = args.history_table
    if table is None and args.state_machine_arn is None:
        try:
            stacks = session.client("cloudformation", **endpoint).describe_stacks(
                StackName=args.stack
            )["Stacks"]
        except (BotoCoreError, ClientError):
            stacks = []  # the executions' error says more (no stack, no credentials, ...)
        outputs = stacks[0].get("Outputs", []) if stacks else []
        found = [o["OutputValue"] for o in outputs if o["OutputKey"] == HISTORY_OUTPUT]
        table = found[0] if found else None
    return (table, session.client("dynamodb", **endpoint)) if table else (None, None)


HISTORY_OUTPUT = "DeploymentHistoryTableName"


def cmd_status(args: argparse.Namespace) -> int:
    from coalmine.adapters import timeline_sources
    from coalmine_cli import executions, sources, status

    watched: list[str] = []

    def run() -> int:
        if args.target.startswith("arn:"):
            if sources.arn_region(args.target) is None:
                raise BadInput(f"{args.target!r} is not a Step Functions execution ARN")
            if args.region is None:
                args.region = sources.arn_region(args.target)
            import boto3

            session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
            endpoint = {"endpoint_url": args.endpoint_url} if args.endpoint_url else {}
            sfn = session.client("stepfunctions", **endpoint)
            from coalmine_cli import watch

            arns = [watch.known(sfn, args.target)]
        else:
            try:
                function, alias = executions.parse_target(args.target)
            except ValueError as error:
                raise BadInput(str(error)) from error
            sfn, machine = _aws(args)
            arns = [
                found.arn
                for found in executions.running(sfn, machine)
                if found.function == function and alias in (None, found.alias)
            ]
            if not arns and not args.watch:
                print(f"no deployment of {args.target} is running")
        if args.watch:
            from coalmine_cli import watch

            watched.append(watch.one(arns, args.target))
            return watch.watch(
                sfn, watched[0], sys.stdout, tty=sys.stdout.isatty(),
                poll_seconds=args.poll_seconds, timeout_seconds=args.timeout,
            )  # fmt: skip
        for arn in arns:
            description = sfn.describe_execution(executionArn=arn)
            for line in status.lines(description, timeline_sources.history_events(sfn, arn)):
                print(line)
        return 0

    return _guarded(run, watched)


def cmd_retry(args: argparse.Namespace) -> int:
    from coalmine_cli import retry

    started: list[str] = []
    return _guarded(lambda: retry.run(args, lambda: _aws(args), started), started)


def cmd_rollback(args: argparse.Namespace) -> int:
    from coalmine_cli import deploy, rollback

    def run() -> int:
        if not args.to_previous:
            raise BadInput("rollback needs --to-previous (the one rollback it makes)")
        target = rollback.parse(args.target, args.reason, args.previous_alias)
        session, endpoint = _session(args)
        table = args.lock_table or deploy.find_output(
            session.client("cloudformation", **endpoint), args.stack, rollback.LOCKS_OUTPUT
        )
        print(
            rollback.to_previous_with(
                session, endpoint, table, target, args.previous_alias, args.reason
            )
        )
        return 0

    return _guarded(run, [])


def cmd_abort(args: argparse.Namespace) -> int:
    return _steer(args, "abort")


def cmd_pause(args: argparse.Namespace) -> int:
    return _steer(args, "pause")


def cmd_resume(args: argparse.Namespace) -> int:
    return _steer(args, "resume")


def cmd_approve(args: argparse.Namespace) -> int:
    return _steer(args, "approve")


def cmd_reject(args: argparse.Namespace) -> int:
    return _steer(args, "reject")


def cmd_promote(args: argparse.Namespace) -> int:
    if not args.now:
        print(
            "coalmine: promote needs --now (to let a deployment waiting at a human gate go on: "
            "coalmine approve)",
            file=sys.stderr,
        )
        return 2
    return _steer(args, "promote-now")


def _steer(args: argparse.Namespace, action: str) -> int:
    """An operator's request on the deployment running on ``args.target`` (coalmine_cli/steer)."""
    from coalmine_cli import deploy, executions, steer

    def run() -> int:
        try:
            function, alias = executions.parse_lock_target(args.target)
        except ValueError as error:
            raise BadInput(str(error)) from error
        session, endpoint = _session(args)
        table = args.lock_table or deploy.find_output(
            session.client("cloudformation", **endpoint), args.stack, steer.LOCKS_OUTPUT
        )
        try:
            line = steer.request(
                session, endpoint, table, action, function, alias or "prod", args.reason
            )
        except steer.Refused as error:
            raise BadInput(str(error)) from error
        print(line)
        return 0

    return _guarded(run, [])


def cmd_rehearse(args: argparse.Namespace) -> int:
    from coalmine_cli.rehearse import rehearse_file
    from coalmine_sandbox.resources import scenario_path, shipped_scenarios

    if args.list:
        print("\n".join(shipped_scenarios()))
        return 0
    if not args.scenario:
        print("coalmine rehearse: name a scenario file or a shipped scenario (--list)")
        return 2
    path = scenario_path(args.scenario)
    json_out = Path(args.json) if args.json else None
    report_out = None
    if args.report:
        report_out = (json_out or Path(f"{path.stem}.json")).with_suffix(".html")
    return rehearse_file(path, json_out=json_out, report_out=report_out)


def cmd_demo(args: argparse.Namespace) -> int:
    from coalmine_cli.rehearse import rehearse_file
    from coalmine_sandbox.resources import SCENARIOS

    failures = 0
    for name in DEMO_SCENARIOS:
        code = rehearse_file(SCENARIOS / name, json_out=None, check_expectation=True)
        failures += code != 0
        print()
    print("demo: both rehearsals ended as expected" if not failures else "demo: UNEXPECTED")
    return 1 if failures else 0


def cmd_soak(args: argparse.Namespace) -> int:
    from coalmine_sandbox.world.soak import soak

    return 1 if soak(args.deployments, args.seed, emit=print).violations else 0


DEPLOY_EPILOG = """examples:
  coalmine deploy --input deploy.json
  coalmine deploy --function brand-api --target-version 7 --strategy Linear10PercentEvery1Minute
  coalmine deploy --input deploy.json --timeout 1800 --output json > result.json
  coalmine deploy --input deploy.json --watch   (the status redrawn as it goes: status --watch)
  coalmine deploy --function brand-api --zip brand-api.zip --timeout 3600  (CI: docs/ci.md)

exit codes:
  0    promoted
  1    not promoted: rolled back, aborted, refused, failed
  2    bad input (command line or input file): nothing started
  3    an AWS or tool error (credentials, permissions, stack not found, ...): one line
  4    --timeout reached: the deployment goes on
  130  interrupted (Ctrl-C): the deployment goes on
"""


REPORT_EPILOG = """examples:
  coalmine report arn:aws:states:eu-west-1:123456789012:execution:coalmine-deployment:abc -o r.html
  coalmine report result.json -o report.html --png

exit codes:
  0    written
  2    bad input: a missing or unreadable file, a file without a timeline, a malformed ARN,
       an execution without deployment evidence (it ended before Prepare)
  3    an AWS or tool error (credentials, the execution does not exist, no chromium for --png)
"""


STATUS_EPILOG = """examples:
  coalmine status brand-api:prod
  coalmine status arn:aws:states:eu-west-1:123456789012:execution:coalmine-deployment:abc
  coalmine status brand-api:prod --watch --timeout 3600

exit codes:
  0    printed (with --watch: the deployment was promoted)
  1    --watch: not promoted (rolled back, aborted, refused, failed)
  2    bad input: a malformed target or ARN; with --watch, no (or more than one) deployment of
       it running
  3    an AWS or tool error (credentials, permissions, stack not found, ...): one line
  4    --watch --timeout reached: the deployment goes on
  130  interrupted (Ctrl-C): the deployment goes on
"""


def _aws_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", default="coalmine", help="stack to read the ARN from")
    parser.add_argument("--state-machine-arn", help="use this state machine instead")
    parser.add_argument("--region")
    parser.add_argument("--profile", help="AWS named profile")
    parser.add_argument("--endpoint-url", help="AWS endpoint (e.g. a local emulator)")


def build_parser() -> argparse.ArgumentParser:
    from coalmine_cli import deploy as deploy_module
    from coalmine_cli import epilogs

    parser = argparse.ArgumentParser(prog="coalmine", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"coalmine {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    deploy = sub.add_parser(
        "deploy",
        help="start a deployment on AWS and follow it",
        description="Start a deployment on AWS and follow it until it ends.",
        epilog=DEPLOY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    deploy.add_argument("--input", help="execution input JSON file (see docs/reference.md)")
    deploy.add_argument("--function", help="functionName (overrides the file)")
    deploy.add_argument("--target-version", help="targetVersion (overrides the file)")
    deploy.add_argument("--strategy", help="strategy name (overrides the file)")
    deploy.add_argument("--alias", help="alias (overrides the file; default prod)")
    deploy.add_argument(
        "--zip",
        metavar="PATH",
        help="deploy this code: upload it to the artifact bucket as "
        "deployments/<function>/<name>.zip with the strategy and alarms as its metadata and "
        "follow the deployment the stack's upload rule starts (none within --rule-wait: start "
        "it); an input with other fields is uploaded as deployments/<function>/<name> and "
        "started with that object as `code`",
    )
    deploy.add_argument(
        "--rule-wait",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="--zip: how long to look for the upload rule's deployment before starting one "
        "(default 30)",
    )
    deploy.add_argument(
        "--zip-name",
        metavar="NAME",
        help="the uploaded object's <name> (default: --name, else the zip's name and the UTC time)",
    )
    deploy.add_argument(
        "--artifact-bucket",
        help="bucket --zip uploads to (default: the stack's ArtifactBucketName output)",
    )
    _aws_options(deploy)
    deploy.add_argument("--name", help="execution name (default: generated)")
    deploy_module.follow_options(deploy)
    deploy.add_argument(
        "--watch",
        action="store_true",
        help="follow it with `status --watch`'s view: on a terminal its status redrawn every "
        "--poll-seconds (state, step, routing, bake, traffic, a human gate, the latest "
        "analyses); elsewhere the status, a line per event, the status at the end",
    )
    deploy.set_defaults(func=cmd_deploy)

    listing = sub.add_parser(
        "list",
        help="running deployments",
        description="Running deployments: one line each (start, function:alias, target, "
        "strategy, execution name).",
        epilog=epilogs.LIST,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _aws_options(listing)
    listing.set_defaults(func=cmd_list)

    past = sub.add_parser(
        "history",
        help="past deployments of a function",
        description="Past deployments of FUNCTION[:ALIAS], newest first: when, versions, "
        "strategy, outcome, duration, reason. Read from the DeploymentHistory table "
        "(--history-table, or the stack's DeploymentHistoryTableName output), else from the "
        "state machine's executions.",
        epilog=epilogs.HISTORY,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    past.add_argument("target", metavar="FUNCTION[:ALIAS]")
    past.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    past.add_argument(
        "--scan",
        type=int,
        default=200,
        help="look at the newest SCAN executions of the state machine (default 200)",
    )
    past.add_argument("--history-table", help="the DeploymentHistory table to read")
    _aws_options(past)
    past.set_defaults(func=cmd_history)

    now = sub.add_parser(
        "status",
        help="where a running deployment is",
        description="Where a deployment is: its state and since when, the step and the alias's "
        "routing, the bake (the next analysis, the step's end), the latest verdicts, where the "
        "evidence is; an ended one says how it ended.",
        epilog=STATUS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    now.add_argument("target", metavar="FUNCTION[:ALIAS]|EXECUTION_ARN")
    now.add_argument(
        "--watch",
        action="store_true",
        help="follow it until it ends (redrawn on a terminal, plain lines otherwise); "
        "exit as deploy does",
    )
    now.add_argument("--poll-seconds", type=float, default=5.0, help="--watch: every (default 5)")
    now.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="--watch: stop after this long (exit 4)"
    )
    _aws_options(now)
    now.set_defaults(func=cmd_status)

    from coalmine_cli import steer

    for verb, helped, described, epilog, run in (
        ("abort", "roll a running deployment back now (recorded with your identity and reason)",
         "Abort the deployment running on FUNCTION[:ALIAS] (alias default prod): at its next "
         "analysis tick it rolls back and ends FAILED with DeploymentAborted.",
         steer.ABORT_EPILOG, cmd_abort),
        ("promote", "with --now: skip a running deployment's remaining bakes",
         "With --now: at its next analysis tick the deployment running on FUNCTION[:ALIAS] "
         "skips its remaining bakes and promotes (the watch after the cutover still runs).",
         steer.PROMOTE_EPILOG, cmd_promote),
        ("pause", "hold a running deployment at its current weight (its bake clock stops)",
         "At its next analysis tick the deployment running on FUNCTION[:ALIAS] holds its "
         "current weight: its bake clock stops, a FAIL still rolls back, and a pause longer "
         "than analysis.maxPauseSeconds (default 24 h) rolls back.",
         steer.PAUSE_EPILOG, cmd_pause),
        ("resume", "let a paused deployment bake on",
         "At its next analysis tick the paused deployment running on FUNCTION[:ALIAS] bakes on "
         "from where the pause stopped it.",
         steer.PAUSE_EPILOG, cmd_resume),
        ("approve", "let a deployment waiting at a human gate go on",
         "The deployment running on FUNCTION[:ALIAS], waiting at a human gate (docs/approvals.md), "
         "goes on at once: its next step, or promotion.",
         steer.APPROVE_EPILOG, cmd_approve),
        ("reject", "roll back a deployment waiting at a human gate",
         "The deployment running on FUNCTION[:ALIAS], waiting at a human gate, rolls back at "
         "once; its reason names you.",
         steer.APPROVE_EPILOG, cmd_reject),
    ):  # fmt: skip
        steering = sub.add_parser(
            verb, help=helped, description=described, epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )  # fmt: skip
        steering.add_argument(
            "target",
            metavar="FUNCTION[:ALIAS]",
            help="or ACCOUNT:REGION:FUNCTION[:ALIAS], a function in another account",
        )
        if verb == "promote":
            steering.add_argument("--now", action="store_true", help="skip the remaining bakes")
        steering.add_argument("--reason", required=True, help="why (recorded with the action)")
        steering.add_argument("--lock-table", help="the DeploymentLocks table (default: stack's)")
        _aws_options(steering)
        steering.set_defaults(func=run)

    from coalmine_cli import retry, rollback

    retry.add_parser(sub, _aws_options, argparse.RawDescriptionHelpFormatter).set_defaults(
        func=cmd_retry
    )
    rollback.add_parser(sub, _aws_options, argparse.RawDescriptionHelpFormatter).set_defaults(
        func=cmd_rollback
    )

    rehearse = sub.add_parser(
        "rehearse", help="run one scenario in the local sandbox", epilog=epilogs.REHEARSE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    rehearse.add_argument(
        "scenario",
        help="scenario file (.json or .yaml), or the name of a shipped scenario "
        "(e.g. healthy-canary; `coalmine rehearse --list` names them)",
        nargs="?",
    )
    rehearse.add_argument("--list", action="store_true", help="list the shipped scenarios")
    rehearse.add_argument("--json", help="write the result JSON here")
    rehearse.add_argument(
        "--report",
        action="store_true",
        help="also write the report page next to the result JSON (RESULT.html; without --json, "
        "SCENARIO.html here)",
    )
    rehearse.set_defaults(func=cmd_rehearse)

    report = sub.add_parser(
        "report",
        help="draw a deployment as one HTML page (and PNG)",
        description="Draw a deployment: a self-contained HTML page (inline SVG, no network) with "
        "the traffic weight, each version's error rate and latency, the ticks' verdicts and the "
        "decision on one time axis, and the gates' evidence below (docs/report.md).",
        epilog=REPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument(
        "source",
        metavar="EXECUTION_ARN|RESULT.json",
        help="a deployment's execution ARN (read from AWS), or a rehearsal's result JSON",
    )
    report.add_argument("-o", "--output", default="report.html", help="the page to write")
    report.add_argument(
        "--png", action="store_true", help="also write the page as a PNG next to it (chromium)"
    )
    report.add_argument("--json", help="also write the timeline JSON here")
    report.add_argument(
        "--reports-bucket",
        help="the stack's ReportsBucket (output ReportsBucketName): where to find a stored "
        "timeline.json once the execution is gone (default: the bucket its document names)",
    )
    report.add_argument(
        "--rebuild",
        action="store_true",
        help="rebuild the timeline from the execution, its ticks and CloudWatch even when a "
        "complete timeline.json is stored",
    )
    report.add_argument("--region", help="default: the ARN's")
    report.add_argument("--profile", help="AWS named profile")
    report.add_argument("--endpoint-url", help="AWS endpoint (e.g. a local emulator)")
    report.set_defaults(func=cmd_report)

    from coalmine_cli import serve as serving  # `coalmine sandbox serve`

    serving.add_parser(sub)

    demo = sub.add_parser(
        "demo", help="a healthy and a faulty canary in the sandbox", epilog=epilogs.DEMO,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    demo.set_defaults(func=cmd_demo)

    soak = sub.add_parser(
        "soak", help="many deployments with random faults in one sandbox", epilog=epilogs.SOAK,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    soak.add_argument("--deployments", type=int, default=300)
    soak.add_argument("--seed", type=int, default=0)
    soak.set_defaults(func=cmd_soak)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("coalmine")
    except PackageNotFoundError:
        return "(not installed)"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
