"""`coalmine sandbox serve`: the sandbox as an AWS endpoint, driven from other processes.

The server runs as a subprocess; the AWS CLI (`awscli`) and `coalmine` run as separate processes
against it with dummy credentials, as a user in a second terminal would. The plans bake for two
simulated hours (a minute of wall time at the speed used): each deployment ends because an
operator promoted or aborted it, which the history records, not because its bake ran out (a Wait
that jumped the simulated clock ahead would promote by itself, without "promoted now").
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import coalmine
import coalmine_cli
import coalmine_sandbox

SPEED = 120  # simulated seconds per wall second: an analysis tick every half second
LONG_BAKE = 7200  # simulated seconds: one minute of wall time, longer than the test
SERVE = [sys.executable, "-m", "coalmine_cli.main", "sandbox", "serve"]
ALIAS = ["--function-name", "brand-api", "--name", "prod"]
WALL_LIMIT = 45.0  # wall seconds any one wait may take before the test fails


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _aws_cli() -> str:
    beside = Path(sys.executable).parent / "aws"
    found = str(beside) if beside.exists() else shutil.which("aws")
    if found is None:
        pytest.fail("the AWS CLI (`awscli`, the dev extra) is not installed")
    return found


def _env(tmp: Path) -> dict[str, str]:
    packages = (coalmine, coalmine_cli, coalmine_sandbox)
    roots = [str(Path(m.__file__).parent.parent) for m in packages]
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "PYTHONPATH": os.pathsep.join([*roots, os.environ.get("PYTHONPATH", "")]),
        # any credentials work; nothing may reach a real AWS (no profile, no instance metadata)
        "AWS_ACCESS_KEY_ID": "anything",
        "AWS_SECRET_ACCESS_KEY": "anything",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
    }


class Background:
    """A subprocess running beside the test (a second terminal) and the lines it printed."""

    def __init__(self, env: dict[str, str], argv: list[str]) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for_line(self, text: str) -> str:
        return _until(lambda: next((x for x in self.lines if text in x), None), self.output)

    def output(self) -> str:
        return "\n".join(self.lines)


class Server(Background):
    """The `coalmine sandbox serve` subprocess."""

    def __init__(self, env: dict[str, str], port: int) -> None:
        super().__init__(env, [*SERVE, "--port", str(port), "--speed", str(SPEED), "--rps", "1"])


def _until(found: Callable[[], Any], why: Callable[[], str]) -> Any:
    """Poll (wall time) until `found()` is truthy; fail with `why()` after WALL_LIMIT."""
    deadline = time.perf_counter() + WALL_LIMIT
    while time.perf_counter() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"gave up waiting after {WALL_LIMIT} s wall:\n{why()}")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Server, dict[str, str], str]]:
    env = _env(tmp_path)
    port = _free_port()
    server = Server(env, port)
    try:
        server.wait_for_line("ready (Ctrl-C stops)")
        yield server, env, f"http://127.0.0.1:{port}"
    finally:
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGINT)
            try:
                server.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()


@pytest.fixture
def terminal() -> Iterator[Callable[[dict[str, str], list[str]], Background]]:
    """Starts `Background` processes; any still running at the end is stopped."""
    started: list[Background] = []

    def start(env: dict[str, str], argv: list[str]) -> Background:
        started.append(Background(env, argv))
        return started[-1]

    yield start
    for left in started:
        if left.process.poll() is None:
            left.process.kill()
            left.process.wait()


def _run(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.slow
def test_a_deployment_is_driven_by_the_aws_cli_and_coalmine_from_other_processes(
    served: tuple[Server, dict[str, str], str],
) -> None:
    server, env, url = served
    aws = [_aws_cli(), "--endpoint-url", url, "--output", "json"]
    coalmine_verb = [sys.executable, "-m", "coalmine_cli.main"]
    machine = server.wait_for_line("state machine arn:").split()[-1]
    banner = server.output()
    assert "region us-east-1" in banner
    assert "brand-api:prod on v2" in banner
    assert "v3 (healthy)" in banner
    assert "v4 (faulty" in banner

    def alias() -> dict[str, Any]:
        done = _run(env, *aws, "lambda", "get-alias", *ALIAS)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    def start(name: str, version: str) -> str:
        request = {
            "functionName": "brand-api",
            "targetVersion": version,
            "strategy": {"type": "steps", "steps": [{"weight": 0.1, "bakeSeconds": LONG_BAKE}]},
        }
        done = _run(
            env, *aws, "stepfunctions", "start-execution", "--state-machine-arn", machine,
            "--name", name, "--input", json.dumps(request),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return str(json.loads(done.stdout)["executionArn"])

    def ended(arn: str) -> dict[str, Any]:
        def described() -> dict[str, Any] | None:
            done = _run(env, *aws, "stepfunctions", "describe-execution", "--execution-arn", arn)
            found = json.loads(done.stdout) if done.returncode == 0 else None
            return found if found and found["status"] != "RUNNING" else None

        return _until(described, server.output)  # type: ignore[no-any-return]

    def canary_of(version: str) -> None:
        def weights() -> Any:
            return alias().get("RoutingConfig", {}).get("AdditionalVersionWeights")

        _until(lambda: weights() == {version: 0.1}, server.output)

    # Given a deployment of v3 started with the AWS CLI, baking its 10% canary
    promoted = start("serve-promote", "3")
    canary_of("3")
    # When `coalmine status` looks at it and `coalmine promote --now` is asked for
    status = _run(env, *coalmine_verb, "status", "brand-api:prod", "--endpoint-url", url)
    assert status.returncode == 0, status.stderr
    assert "step    1/1 at 10%" in status.stdout
    assert "serve-promote" in status.stdout
    promote = _run(
        env, *coalmine_verb, "promote", "brand-api:prod", "--now", "--reason", "serve test",
        "--endpoint-url", url,
    )  # fmt: skip
    assert promote.returncode == 0, promote.stderr
    # Then the deployment ends PROMOTED, the alias wholly on v3
    described = ended(promoted)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"])["outcome"] == "PROMOTED"
    whole = alias()
    assert whole["FunctionVersion"] == "3"
    assert not whole.get("RoutingConfig", {}).get("AdditionalVersionWeights")

    # Given a deployment of v2 (healthy: it cannot fail by itself) on its canary; when
    # `coalmine abort` is asked for
    aborted = start("serve-abort", "2")
    canary_of("2")
    abort = _run(
        env, *coalmine_verb, "abort", "brand-api:prod", "--reason", "serve test abort",
        "--endpoint-url", url,
    )  # fmt: skip
    assert abort.returncode == 0, abort.stderr
    # Then it ends rolled back by the operator, the alias wholly on v3 again
    described = ended(aborted)
    assert described["status"] == "FAILED"
    assert described["error"] == "DeploymentAborted"
    back = alias()
    assert back["FunctionVersion"] == "3"
    assert not back.get("RoutingConfig", {}).get("AdditionalVersionWeights")

    # And `coalmine history` tells both, newest first, with the operators' reasons
    history = _run(env, *coalmine_verb, "history", "brand-api:prod", "--endpoint-url", url)
    assert history.returncode == 0, history.stderr
    rows = [line for line in history.stdout.splitlines() if "brand-api:prod" in line]
    assert [r.split()[-1] for r in rows] == ["serve-abort", "serve-promote"], history.stdout
    assert "v3 -> v2" in rows[0]
    assert "v2 -> v3" in rows[1]
    assert "PROMOTED" in rows[1]
    assert "promoted now" in history.stdout
    assert "serve test" in history.stdout
    # and the server printed each deployment's start and end, at their simulated times
    server.wait_for_line("serve-abort: FAILED DeploymentAborted")
    assert "serve-promote: SUCCEEDED" in server.output()

    # and a stack the endpoint does not hold is CloudFormation's ValidationError (exit 3)
    other = _run(env, *coalmine_verb, "list", "--stack", "not-there", "--endpoint-url", url)
    assert other.returncode == 3
    assert "Stack with id not-there does not exist" in other.stderr

    # When it is interrupted (Ctrl-C), it stops cleanly
    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(timeout=20) == 0
    server.wait_for_line("coalmine sandbox: stopped")


GATE_TIMEOUT = 7200  # simulated seconds: a minute of wall time; unanswered, the gate rolls back
APPROVE_REASON = "the partner checked the 10% canary"
REJECT_REASON = "the partner sees wrong prices"
GATE_LINE = "gate    waiting for approval since"


@pytest.mark.slow
def test_the_walk_through_a_human_gate_answered_from_other_processes(
    served: tuple[Server, dict[str, str], str],
    terminal: Callable[[dict[str, str], list[str]], Background],
) -> None:
    """The documented two terminals (docs/sandbox.md, Serve): `serve` in one; in the other a
    deployment with a human gate followed by `coalmine deploy --watch`, `coalmine status`
    showing the gate, `coalmine approve` (then `reject` for a second one), `coalmine history`.
    Each gate would roll back by itself only after GATE_TIMEOUT: an outcome other than the
    operator's answer fails the test."""
    server, env, url = served
    aws = [_aws_cli(), "--endpoint-url", url, "--output", "json"]
    coalmine_verb = [sys.executable, "-m", "coalmine_cli.main"]
    machine = server.wait_for_line("state machine arn:").split()[-1]
    endpoint = ["--endpoint-url", url]
    # too little traffic at 1 rps for the default minimum: a bake ends judged all the same
    analysis = {"minInvocations": 0, "intervalSeconds": 60}

    def gate_shown() -> str | None:
        done = _run(env, *coalmine_verb, "status", "brand-api:prod", *endpoint)
        assert done.returncode == 0, done.stderr
        return done.stdout if GATE_LINE in done.stdout else None

    # Given (terminal 2) `coalmine deploy --watch` of v3 with a gate after its 10% step
    plan = {
        "functionName": "brand-api",
        "targetVersion": "3",
        "strategy": {"type": "steps", "steps": [
            {"weight": 0.1, "bakeSeconds": 120},
            {"approval": {"timeoutSeconds": GATE_TIMEOUT, "onTimeout": "rollback"}},
        ]},
        "analysis": analysis,
    }  # fmt: skip
    request = Path(env["AWS_CONFIG_FILE"]).parent / "gated.json"
    request.write_text(json.dumps(plan))
    following = terminal(
        env, [*coalmine_verb, "deploy", "--input", str(request), "--name", "serve-approve",
              "--watch", "--poll-seconds", "0.5", *endpoint],
    )  # fmt: skip
    # When its 10% step has baked, `coalmine status` shows the gate waiting and how to answer it
    status = _until(gate_shown, lambda: server.output() + "\n--- deploy:\n" + following.output())
    assert "step    1/1 at 10%" in status
    assert "(then rollback): coalmine approve|reject brand-api:prod --reason" in status
    following.wait_for_line("waiting for approval since")
    # and `coalmine approve` answers it from another process
    approve = _run(
        env, *coalmine_verb, "approve", "brand-api:prod", "--reason", APPROVE_REASON, *endpoint
    )
    assert approve.returncode == 0, approve.stderr
    assert "approve requested on brand-api:prod" in approve.stdout
    assert "its wait is woken" in approve.stdout
    # Then the deployment it follows is promoted: `coalmine deploy` exits 0
    assert following.process.wait(timeout=WALL_LIMIT) == 0, following.output()
    assert "[Promote] promoted: 100% -> v3" in following.output()
    assert following.lines[-1] == "  ended   PROMOTED"  # --watch: the status at the end
    # and the step's reason names the operator (STS GetCallerIdentity through the endpoint)
    done = _run(env, *aws, "stepfunctions", "describe-execution", "--execution-arn",
                following.wait_for_line("started arn:").split()[-1])  # fmt: skip
    document = json.loads(json.loads(done.stdout)["output"])
    assert document["outcome"] == "PROMOTED"
    assert (
        f"approved by arn:aws:sts::123456789012:user/moto: {APPROVE_REASON}"
        in (document["steps"][0]["reason"])
    )
    # the answer names its gate: when it opened (the simulated 2030), whatever `at` the CLI's
    # own clock gave it
    [answer] = document["operatorActions"]
    opened = status.split(GATE_LINE, 1)[1].split(",", 1)[0].strip()
    assert answer["gate"].replace("T", " ").startswith(opened), (answer, opened)

    # Given a canary of v2 (healthy) gated before its promotion, started with the AWS CLI
    canary = {
        "functionName": "brand-api",
        "targetVersion": "2",
        "strategy": {"type": "canary", "percent": 10, "intervalMinutes": 2,
                     "approveBeforePromotion": {"timeoutSeconds": GATE_TIMEOUT}},
        "analysis": analysis,
    }  # fmt: skip
    started = _run(
        env, *aws, "stepfunctions", "start-execution", "--state-machine-arn", machine,
        "--name", "serve-reject", "--input", json.dumps(canary),
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    rejected = json.loads(started.stdout)["executionArn"]
    # When it waits at its gate and `coalmine reject` answers
    _until(gate_shown, server.output)
    reject = _run(
        env, *coalmine_verb, "reject", "brand-api:prod", "--reason", REJECT_REASON, *endpoint
    )
    assert reject.returncode == 0, reject.stderr
    # Then it rolls back at once, the alias wholly on v3 again
    server.wait_for_line("serve-reject: FAILED")

    def described() -> dict[str, Any]:
        done = _run(env, *aws, "stepfunctions", "describe-execution", "--execution-arn", rejected)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    ended = described()
    assert ended["status"] == "FAILED", ended
    assert "rejected by arn:aws:" in ended["cause"]
    assert REJECT_REASON in ended["cause"]
    alias = json.loads(_run(env, *aws, "lambda", "get-alias", *ALIAS).stdout)
    assert alias["FunctionVersion"] == "3"
    assert not alias.get("RoutingConfig", {}).get("AdditionalVersionWeights")

    # And `coalmine history` tells both, newest first, with the operators' answers
    history = _run(env, *coalmine_verb, "history", "brand-api:prod", *endpoint)
    assert history.returncode == 0, history.stderr
    rows = [line for line in history.stdout.splitlines() if "brand-api:prod" in line]
    assert [r.split()[-1] for r in rows] == ["serve-reject", "serve-approve"], history.stdout
    assert "ROLLED_BACK" in rows[0]
    assert "v3 -> v2" in rows[0]
    assert "PROMOTED" in rows[1]
    assert "v2 -> v3" in rows[1]
    assert REJECT_REASON in history.stdout
    server.wait_for_line("serve-approve: SUCCEEDED")


def test_a_taken_port_is_refused_before_anything_stands_up(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*SERVE, "--port", str(port)],
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 3
    assert f"cannot serve on 127.0.0.1:{port}" in done.stderr
    assert "serving" not in done.stdout
