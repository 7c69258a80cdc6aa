"""`coalmine`: deploy on AWS, rehearse in the local sandbox, run the demo.

coalmine deploy   --stack coalmine --input events/execution-canary.json   (real AWS)
coalmine rehearse healthy-canary [--json out.json]  (a shipped scenario, or a file; sandbox)
coalmine demo                                                             (sandbox)
coalmine soak     [--deployments 300] [--seed S]                          (sandbox)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from coalmine.exceptions import InvalidInput

DEMO_SCENARIOS = ("healthy-canary.json", "faulty-canary.json")


def _load_json(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except OSError as error:
        raise SystemExit(f"coalmine: cannot read {path}: {error.strerror}") from error
    except ValueError as error:
        raise SystemExit(f"coalmine: {path} is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise SystemExit(f"coalmine: {path} must hold a JSON object")
    return data


def cmd_deploy(args: argparse.Namespace) -> int:
    import boto3

    from coalmine_cli import deploy

    request = _load_json(args.input) if args.input else {}
    for key, value in (
        ("functionName", args.function),
        ("targetVersion", args.target_version),
        ("strategy", args.strategy),
        ("alias", args.alias),
    ):
        if value is not None:
            request[key] = value
    session = boto3.session.Session(region_name=args.region)
    sfn = session.client("stepfunctions")
    arn = args.state_machine_arn or deploy.find_state_machine(
        session.client("cloudformation"), args.stack
    )
    try:
        execution = deploy.start(sfn, arn, request, args.name)
    except InvalidInput as error:
        print(deploy.bad_input_message(error), file=sys.stderr)
        return deploy.EXIT_BAD_INPUT
    print(f"started {execution}")
    if args.no_wait:
        return 0
    description = deploy.follow(sfn, execution, print, poll_seconds=args.poll_seconds)
    print(f"status {description['status']}")
    return deploy.exit_code(description)


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
    return rehearse_file(path, json_out=Path(args.json) if args.json else None)


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coalmine", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    deploy = sub.add_parser("deploy", help="start a deployment on AWS and follow it")
    deploy.add_argument("--input", help="execution input JSON file (see README)")
    deploy.add_argument("--function", help="functionName (overrides the file)")
    deploy.add_argument("--target-version", help="targetVersion (overrides the file)")
    deploy.add_argument("--strategy", help="strategy name (overrides the file)")
    deploy.add_argument("--alias", help="alias (overrides the file; default prod)")
    deploy.add_argument("--stack", default="coalmine", help="stack to read the ARN from")
    deploy.add_argument("--state-machine-arn", help="use this state machine instead")
    deploy.add_argument("--name", help="execution name (default: generated)")
    deploy.add_argument("--region")
    deploy.add_argument("--poll-seconds", type=float, default=10.0)
    deploy.add_argument("--no-wait", action="store_true", help="start and return")
    deploy.set_defaults(func=cmd_deploy)

    rehearse = sub.add_parser("rehearse", help="run one scenario in the local sandbox")
    rehearse.add_argument(
        "scenario",
        help="scenario file (.json or .yaml), or the name of a shipped scenario "
        "(e.g. healthy-canary; `coalmine rehearse --list` names them)",
        nargs="?",
    )
    rehearse.add_argument("--list", action="store_true", help="list the shipped scenarios")
    rehearse.add_argument("--json", help="write the result JSON here")
    rehearse.set_defaults(func=cmd_rehearse)

    demo = sub.add_parser("demo", help="a healthy and a faulty canary in the sandbox")
    demo.set_defaults(func=cmd_demo)

    soak = sub.add_parser("soak", help="many deployments with random faults in one sandbox")
    soak.add_argument("--deployments", type=int, default=300)
    soak.add_argument("--seed", type=int, default=0)
    soak.set_defaults(func=cmd_soak)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
