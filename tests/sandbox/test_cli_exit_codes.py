"""Every AWS verb's exit codes that its own tests leave out (docs/operating.md's table): 2 for a
malformed target found before any AWS call, 3 for an AWS or tool error (one line, no
traceback), and 0 for `pause`, `resume` and `promote --now` run against a Sandbox's deployment."""

from __future__ import annotations

import json
from typing import Any

import pytest
from e2e_helpers import FUNCTION, alias_snapshot, finish, publish_candidate, routing

from coalmine_cli import deploy
from coalmine_cli.main import main
from coalmine_sandbox import Sandbox

REASON = "checked by hand"
# (a profile that does not exist: any AWS call fails, so exit 2 proves none was made)
NO_PROFILE = ["--profile", "no-such-profile", "--region", "us-east-1"]
TARGETED = {
    "history": [],
    "status": [],
    "status --watch": ["--watch"],
    "abort": ["--reason", REASON],
    "promote --now": ["--now", "--reason", REASON],
    "pause": ["--reason", REASON],
    "resume": ["--reason", REASON],
    "retry": ["--reason", REASON],
    "rollback --to-previous": ["--to-previous", "--reason", REASON],
}


def _verb(name: str, target: str) -> list[str]:
    return [name.split()[0], target, *TARGETED[name]]


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text  # one line, no traceback
    return lines[0]


@pytest.mark.parametrize("verb", list(TARGETED))
def test_a_malformed_target_exits_2_before_any_aws_call(
    capsys: pytest.CaptureFixture[str], verb: str
) -> None:
    assert main([*_verb(verb, ":prod"), *NO_PROFILE]) == deploy.EXIT_BAD_INPUT
    assert _one_line(capsys.readouterr().err) == "coalmine: ':prod': expected FUNCTION[:ALIAS]"


@pytest.mark.parametrize("verb", ["list", *TARGETED])
def test_an_aws_error_exits_3_with_one_line(capsys: pytest.CaptureFixture[str], verb: str) -> None:
    args = ["list"] if verb == "list" else _verb(verb, f"{FUNCTION}:prod")
    assert main([*args, *NO_PROFILE]) == deploy.EXIT_AWS_ERROR
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("coalmine: ")
    assert "no-such-profile" in line


def _cli(sb: Sandbox, *args: str) -> int:
    machine = sb.stack.state_machine_arn
    locks = sb.stack["DeploymentLocksTable"]
    return main([*args, "--lock-table", locks, "--state-machine-arn", machine, "--region",
                 "us-east-1"])  # fmt: skip


def test_pause_resume_and_promote_now_exit_0_and_are_acted_on(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a 10% canary baking for 10 minutes, analysed every minute
    candidate = publish_candidate(sandbox)
    plan = {"type": "steps", "steps": [{"weight": 0.1, "bakeSeconds": 600}]}
    request = {"functionName": FUNCTION, "targetVersion": candidate, "strategy": plan,
               "analysis": {"intervalSeconds": 60}}  # fmt: skip
    began = sandbox.clock.now()
    moves = {90: ["pause"], 150: ["resume"], 210: ["promote", "--now"]}
    codes: dict[int, int] = {}
    paused: list[str] = []
    earlier: list[str] = []

    def steer(t_from: Any, t_to: Any) -> None:
        at = int((t_to - began).total_seconds())
        if at == 140 and not paused:  # (the pause was acted on by the tick at 120 s)
            earlier.append(capsys.readouterr().out)
            machine = sandbox.stack.state_machine_arn
            main(["status", f"{FUNCTION}:prod", "--state-machine-arn", machine, "--region",
                  "us-east-1"])  # fmt: skip
            paused.append(capsys.readouterr().out)
        if at in moves and at not in codes:
            verb = moves[at]
            codes[at] = _cli(sandbox, verb[0], f"{FUNCTION}:prod", *verb[1:], "--reason", REASON)

    remove = sandbox.add_listener(steer)
    # When an operator pauses it, resumes it and promotes it now
    try:
        done = finish(sandbox, sandbox.start_execution(request))
    finally:
        remove()
    # Then each verb exited 0, and the deployment acted on each, in order, and promoted
    assert codes == {90: 0, 150: 0, 210: 0}
    # (status, asked while paused, says so and who paused it)
    assert "  paused  since " in paused[0]
    assert "  operator pause by arn:aws:sts::" in paused[0]
    assert f": {REASON} (1 acted on)" in paused[0]
    out = "".join(earlier) + capsys.readouterr().out
    for action in ("pause", "resume", "promote-now"):
        assert f"{action} requested on {FUNCTION}:prod" in out
    assert done.status == "SUCCEEDED"
    output = json.loads(done.description["output"])
    assert output["outcome"] == "PROMOTED"
    assert [a["action"] for a in output["operatorActions"]] == ["pause", "resume", "promote-now"]
    assert all(a.get("appliedAt") for a in output["operatorActions"])
    assert output["reason"].startswith("promoted now by arn:aws:sts::")
    assert routing(alias_snapshot(sandbox)) == (candidate, {})
