"""`coalmine sandbox serve`: the sandbox's emulated AWS as an HTTP endpoint on 127.0.0.1, its clock
running --speed times real time, until Ctrl-C (coalmine_sandbox.world.serve). It prints: what is
served, an example command, then each deployment's start and end as they happen."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

Emit = Callable[[str], None]

SERVE_EPILOG = """examples:
  coalmine sandbox serve                      (port 4566, 60x real time)
  coalmine sandbox serve --port 4567 --speed 600

then, in another terminal (any credentials, region us-east-1):
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
  coalmine deploy --endpoint-url http://127.0.0.1:4566 --function brand-api --target-version 3
  aws --endpoint-url http://127.0.0.1:4566 lambda get-alias --function-name brand-api --name prod

exit codes:
  0    stopped (Ctrl-C)
  3    could not serve (the port is taken, ...)
"""


def add_parser(sub: Any) -> None:
    """`coalmine sandbox serve` (and room for more `coalmine sandbox` verbs)."""
    sandbox = sub.add_parser("sandbox", help="the local sandbox as an AWS endpoint (serve)")
    verbs = sandbox.add_subparsers(dest="sandbox_command", required=True)
    serve = verbs.add_parser(
        "serve",
        help="serve the emulated AWS over HTTP on 127.0.0.1",
        description="Serve the sandbox's emulated AWS (the shipped stack stood up, brand-api with "
        "a production version, two candidates and synthetic traffic) over HTTP on 127.0.0.1, "
        "its clock running SPEED times real time, so the AWS CLI, any SDK and every coalmine "
        "verb (--endpoint-url) work against it. Wait states last their time / SPEED.",
        epilog=SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--port", type=int, default=4566, help="port on 127.0.0.1 (default 4566)")
    serve.add_argument(
        "--speed",
        type=float,
        default=60.0,
        help="simulated seconds per wall second (default 60: a 5-minute bake lasts 5 s)",
    )
    serve.add_argument(
        "--rps", type=float, default=5.0, help="requests per simulated second into brand-api:prod"
    )
    serve.add_argument("--seed", type=int, default=0)
    serve.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from coalmine_sandbox.world.serve import Serving

    if args.speed <= 0 or args.rps < 0 or not 0 <= args.port <= 65535:
        print("coalmine: --speed must be > 0, --rps >= 0, --port 0..65535", file=sys.stderr)
        return 2
    emit = _printer()
    stop = threading.Event()
    emit(f"coalmine sandbox: standing the stack up (port {args.port}, {args.speed:g}x) ...")
    try:
        serving = Serving(port=args.port, speed=args.speed, rps=args.rps, seed=args.seed)
        with serving:
            # Ctrl-C (also where a shell started it in the background, ignoring SIGINT) and
            # SIGTERM stop it cleanly: the clock, then the endpoint, then the emulation
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, lambda *_: stop.set())
            for line in banner(serving.info):
                emit(line)
            seen = 0
            try:
                while not stop.wait(0.5):
                    changes = serving.status_changes(seen)
                    seen += len(changes)
                    for line in status_lines(changes):
                        emit(line)
            finally:
                for signum in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(signum, signal.SIG_DFL)
            emit("coalmine sandbox: stopping ...")
    except OSError as error:
        print(f"coalmine: cannot serve on 127.0.0.1:{args.port}: {error}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        emit("coalmine sandbox: interrupted while standing up")
        return 130
    emit("coalmine sandbox: stopped")
    return 0


def _printer() -> Emit:
    def emit(line: str) -> None:
        print(line, flush=True)

    return emit


def banner(info: Any) -> Iterable[str]:
    """What is served, and how to reach it (ServeInfo -> lines)."""
    url = info.endpoint
    yield f"coalmine sandbox: serving the emulated AWS on {url} (127.0.0.1 only)"
    yield (
        f"  region {info.region}, account {info.account_id}, any credentials; clock "
        f"{info.speed:g}x real time (a Wait of {info.speed:g} s lasts 1 s)"
    )
    yield f"  stack {info.stack_name}: state machine {info.state_machine_arn}"
    for key in ("DeploymentLocksTableName", "DeploymentHistoryTableName", "ArtifactBucketName"):
        if key in info.outputs:
            yield f"    {key} {info.outputs[key]}"
    example = None
    for d in info.deployables:
        candidates = ", ".join(f"v{v} ({what})" for v, what in d.candidates.items())
        yield f"  deployable: {d.function}:{d.alias} on v{d.production}; candidates {candidates}"
        example = example or (d.function, next(iter(d.candidates), d.production))
    yield f"  traffic: {info.rps:g} requests per simulated second into brand-api:prod"
    yield "  try, in another terminal:"
    yield (
        f"    export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test "
        f"AWS_DEFAULT_REGION={info.region}"
    )
    if example:
        function, version = example
        yield (
            f"    coalmine deploy --endpoint-url {url} --function {function} "
            f"--target-version {version} --strategy Canary10Percent5Minutes"
        )
        yield f"    coalmine status {function}:prod --endpoint-url {url}"
        yield (
            f"    aws --endpoint-url {url} lambda get-alias --function-name {function} --name prod"
        )
    yield "coalmine sandbox: ready (Ctrl-C stops)"


def status_lines(changes: list[dict[str, Any]]) -> Iterable[str]:
    """One line per Step Functions status change (the sandbox's events), at its simulated time."""
    for change in changes:
        detail = change.get("detail", {})
        ms = detail.get("stopDate") or detail.get("startDate") or 0
        stamp = datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
        ending = f" {detail['error']}" if detail.get("error") else ""
        yield f"  [{stamp} simulated] {detail.get('name')}: {detail.get('status')}{ending}"
