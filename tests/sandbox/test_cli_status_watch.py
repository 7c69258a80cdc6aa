"""`coalmine status --watch` against a Sandbox: it follows one deployment until it ends and exits
as `coalmine deploy` does; plain lines when stdout is not a terminal, redrawn on one."""

from __future__ import annotations

import io
from typing import Any

import pytest
from e2e_helpers import FUNCTION, alias_snapshot, publish_candidate, routing

from coalmine_cli import deploy, watch
from coalmine_cli.main import main
from coalmine_sandbox import Sandbox

QUICK = {"strategy": "AllAtOnce", "analysis": {"watchSeconds": 0}}  # (no traffic: no watch)


def _aws(sb: Sandbox) -> list[str]:
    return ["--state-machine-arn", sb.stack.state_machine_arn, "--region", "us-east-1"]


def _watch(sb: Sandbox, target: str, *extra: str) -> int:
    return main(["status", target, "--watch", "--poll-seconds", "0.01", *_aws(sb), *extra])


def _one_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.startswith("coalmine")]
    assert len(lines) == 1, text
    assert text.count("Traceback") == text.count("--- Logging error ---"), text
    return lines[0]


def _cli_lines(text: str) -> list[str]:
    """stdout without the in-process handlers' JSON log and EMF lines."""
    return [line for line in text.splitlines() if not line.startswith("{")]


def test_watch_exits_0_when_the_deployment_promotes(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    candidate = publish_candidate(sandbox)
    arn = sandbox.start_execution({"functionName": FUNCTION, "targetVersion": candidate, **QUICK})
    code = _watch(sandbox, arn)
    lines = _cli_lines(capsys.readouterr().out)
    assert code == deploy.EXIT_PROMOTED
    assert routing(alias_snapshot(sandbox)) == (candidate, {})
    assert lines[-1] == "  ended   PROMOTED"
    assert not any(watch.CLEAR in line for line in lines)  # not a terminal: nothing redrawn


def test_watch_exits_1_when_the_deployment_is_not_promoted(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    stable = routing(alias_snapshot(sandbox))[0]  # (already the alias's: Prepare refuses it)
    arn = sandbox.start_execution({"functionName": FUNCTION, "targetVersion": stable, **QUICK})
    assert _watch(sandbox, arn) == deploy.EXIT_NOT_PROMOTED
    ended = [line for line in _cli_lines(capsys.readouterr().out) if line.startswith("  ended")]
    assert ended == [ended[0]]
    assert ended[0].startswith("  ended   FAILED")


@pytest.mark.parametrize("target", [f"{FUNCTION}:prod", FUNCTION, "no-such-function"])
def test_watch_with_nothing_running_exits_2(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    assert _watch(sandbox, target) == deploy.EXIT_BAD_INPUT
    assert _one_line(capsys.readouterr().err) == f"coalmine: no deployment of {target} is running"


@pytest.mark.parametrize("watching", [[], ["--watch"]], ids=["status", "status --watch"])
def test_status_of_an_execution_that_does_not_exist_exits_2(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], watching: list[str]
) -> None:
    arn = sandbox.stack.state_machine_arn.replace(":stateMachine:", ":execution:") + ":gone"
    assert main(["status", arn, *watching]) == deploy.EXIT_BAD_INPUT
    assert _one_line(capsys.readouterr().err) == f"coalmine: execution {arn} does not exist"


def test_watch_exits_3_when_the_state_machine_is_gone(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = sandbox.stack.state_machine_arn + "-gone"
    code = main(["status", FUNCTION, "--watch", "--state-machine-arn", gone, "--region",
                 "us-east-1"])  # fmt: skip
    assert code == deploy.EXIT_AWS_ERROR
    assert _one_line(capsys.readouterr().err).startswith("coalmine: AWS: StateMachineDoesNotExist")


def test_watch_timeout_exits_4_and_the_deployment_goes_on(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = sandbox.start_execution({"functionName": FUNCTION,
                                   "targetVersion": publish_candidate(sandbox)})  # fmt: skip
    code = _watch(sandbox, arn, "--timeout", "0.001")
    err = capsys.readouterr().err
    assert code == deploy.EXIT_TIMEOUT
    assert "--timeout reached; the deployment goes on" in err
    assert f"stop-execution --execution-arn {arn}" in err
    sfn = sandbox.client("stepfunctions")
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    sandbox.stop_execution(arn)


def test_watch_ctrl_c_exits_130_and_says_the_deployment_goes_on(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = sandbox.start_execution({"functionName": FUNCTION,
                                   "targetVersion": publish_candidate(sandbox)})  # fmt: skip

    def interrupted(self: Any) -> list[dict[str, Any]]:
        raise KeyboardInterrupt

    monkeypatch.setattr(deploy.HistoryReader, "new_events", interrupted)
    code = _watch(sandbox, f"{FUNCTION}:prod")
    err = capsys.readouterr().err
    assert code == deploy.EXIT_INTERRUPTED
    assert "interrupted; the deployment goes on" in err
    assert f"describe-execution --execution-arn {arn}" in err
    sandbox.stop_execution(arn)


class Replay:
    """A finished execution's DescribeExecution and history handed out as if it were still
    running: the first ``len(cuts)`` polls see RUNNING and the history up to each cut, the
    last sees it all (a deterministic stand-in for polling a live execution)."""

    def __init__(self, sfn: Any, arn: str, cuts: list[int]) -> None:
        self.final = sfn.describe_execution(executionArn=arn)
        self.events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        self.cuts = cuts
        self.polls = 0

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        self.polls += 1
        if self.polls > len(self.cuts):
            return self.final
        running = {k: v for k, v in self.final.items() if k not in {"stopDate", "output"}}
        return running | {"status": "RUNNING"}

    def get_execution_history(self, **kwargs: Any) -> dict[str, Any]:
        upto = self.cuts[self.polls - 1] if self.polls <= len(self.cuts) else len(self.events)
        return {"events": self.events[:upto]}


@pytest.mark.parametrize("tty", [False, True], ids=["plain lines", "terminal"])
def test_watch_renders_plain_lines_off_a_terminal_and_redraws_on_one(
    sandbox: Sandbox, tty: bool
) -> None:
    candidate = publish_candidate(sandbox)
    arn = sandbox.start_execution({"functionName": FUNCTION, "targetVersion": candidate, **QUICK})
    assert sandbox.wait_for_execution(arn)["status"] == "SUCCEEDED"
    replay = Replay(sandbox.client("stepfunctions"), arn, cuts=[3, 8])
    out = io.StringIO()
    sleeps: list[float] = []
    code = watch.watch(replay, arn, out, tty=tty, poll_seconds=7, sleep=sleeps.append)
    text = out.getvalue()
    assert code == deploy.EXIT_PROMOTED
    assert sleeps == [7, 7]  # two polls saw it running, the third saw it end
    if tty:  # three frames, each drawn from the top of a cleared screen
        frames = text.split(watch.CLEAR)
        assert frames[0] == ""
        assert len(frames) == 4
        assert frames[1].startswith("coalmine status --watch  (every 7 s; Ctrl-C stops watching)")
        assert "  state   " in frames[1]  # running: the state it is in
        assert frames[3].rstrip().endswith("  ended   PROMOTED")
    else:  # the status once, then what happened as it happened, then how it ended
        assert watch.CLEAR not in text
        lines = text.splitlines()
        assert lines[0].startswith(f"{_started(replay)}  {FUNCTION}:prod  ")
        assert "  state   " in lines[1]
        assert any("[Promote] promoted" in line for line in lines)
        assert lines[-1] == "  ended   PROMOTED"
        assert text.count(f"{FUNCTION}:prod  ") == 2  # the status twice, not redrawn per poll


def _started(replay: Replay) -> str:
    return f"{replay.final['startDate']:%Y-%m-%d %H:%M:%S}"
