"""`coalmine retry` against a Sandbox (the CLI's boto3 clients reach the emulated AWS in-process):
each of its exit codes, and that it starts nothing when it refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from e2e_helpers import FUNCTION, alias_snapshot, publish_candidate, routing

from coalmine_cli import deploy
from coalmine_cli.main import main
from coalmine_sandbox import Sandbox

REASON = "the rollback was a downstream outage, now fixed"
QUICK = {"strategy": "AllAtOnce", "analysis": {"watchSeconds": 0}}  # (no traffic: no watch)


def _aws(sb: Sandbox) -> list[str]:
    return ["--state-machine-arn", sb.stack.state_machine_arn, "--region", "us-east-1"]


def _retry(sb: Sandbox, target: str, *extra: str) -> int:
    return main(["retry", target, "--reason", REASON, *_aws(sb), "--poll-seconds", "0.01", *extra])


def _executions(sb: Sandbox) -> list[dict[str, Any]]:
    sfn = sb.client("stepfunctions")
    return sfn.list_executions(stateMachineArn=sb.stack.state_machine_arn)["executions"]


def _one_line(text: str) -> str:
    """The CLI's one line (no traceback); a running execution's in-process handlers may log
    around it (on AWS their lines go to their log groups)."""
    lines = [line for line in text.strip().splitlines() if line.startswith("coalmine")]
    assert len(lines) == 1, text
    assert text.count("Traceback") == text.count("--- Logging error ---"), text
    return lines[0]


def _stopped(sb: Sandbox, request: dict[str, Any]) -> str:
    """An ended deployment of ``request``: started, then stopped (Cleanup restores the alias)."""
    arn = sb.start_execution(request)
    sb.stop_execution(arn, cause="stopped by the test")
    ended = sb.wait_for_execution(arn)
    assert ended["status"] == "ABORTED", (ended.get("error"), ended.get("cause"))
    return arn


def test_retry_of_an_alias_redeploys_its_last_input_and_exits_0(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given two deployments of candidates that were stopped (the alias back on the stable version)
    stable = routing(alias_snapshot(sandbox))[0]
    first = publish_candidate(sandbox)
    older = _stopped(sandbox, {"functionName": FUNCTION, "targetVersion": first})
    candidate = publish_candidate(sandbox, "newer")
    request = {"functionName": FUNCTION, "targetVersion": candidate, **QUICK}
    old = _stopped(sandbox, request)
    assert routing(alias_snapshot(sandbox)) == (stable, {})
    capsys.readouterr()
    # When it is retried by function:alias, with the final document asked for
    code = _retry(sandbox, f"{FUNCTION}:prod", "--output", "json")
    printed = capsys.readouterr()
    # Then a new execution ran the newest one's input and promoted its candidate
    assert code == deploy.EXIT_PROMOTED
    new = [e for e in _executions(sandbox) if e["executionArn"] not in {old, older}]
    assert len(new) == 1
    assert new[0]["name"].startswith("retry-")
    assert new[0]["name"].endswith("-" + old.rsplit(":", 1)[-1])  # (a name short enough to keep)
    sfn = sandbox.client("stepfunctions")
    started = sfn.describe_execution(executionArn=new[0]["executionArn"])
    assert json.loads(started["input"]) == request
    assert routing(alias_snapshot(sandbox)) == (candidate, {})
    assert f"retry of {old} ({REASON})" in printed.err
    [result] = [
        doc
        for doc in map(json.loads, printed.out.splitlines())
        if "_aws" not in doc and "level" not in doc  # (the in-process handlers' log lines)
    ]
    assert result["deployment"]["outcome"] == "PROMOTED"


def test_retry_of_a_promoted_deployment_is_refused_by_prepare_and_exits_1(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a deployment that promoted its candidate
    candidate = publish_candidate(sandbox)
    done = sandbox.wait_for_execution(
        sandbox.start_execution({"functionName": FUNCTION, "targetVersion": candidate, **QUICK})
    )
    assert done["status"] == "SUCCEEDED"
    # When it is retried by its ARN: the same version is already the alias's
    code = _retry(sandbox, done["executionArn"])
    # Then the new deployment ends without a promotion and the alias stays as it was
    assert code == deploy.EXIT_NOT_PROMOTED
    assert len(_executions(sandbox)) == 2
    assert routing(alias_snapshot(sandbox)) == (candidate, {})
    assert "status FAILED" in capsys.readouterr().out


def _running(sb: Sandbox) -> str:
    candidate = publish_candidate(sb)
    return sb.start_execution({"functionName": FUNCTION, "targetVersion": candidate})


@pytest.mark.parametrize(
    "case",
    ["empty reason", "unknown execution", "running execution", "alias running",
     "no ended deployment", "malformed target"],
)  # fmt: skip
def test_retry_refuses_with_one_line_exit_2_and_starts_nothing(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    arn = sandbox.stack.state_machine_arn.replace(":stateMachine:", ":execution:") + ":nope"
    reason, target, named = REASON, f"{FUNCTION}:prod", ""
    if case == "empty reason":
        reason, named = " ", "--reason must say why"
    elif case == "unknown execution":
        target, named = arn, f"execution {arn} does not exist"
    elif case == "running execution":
        target = _running(sandbox)
        named = f"execution {target} is RUNNING: retry it once it has ended"
    elif case == "alias running":
        _stopped(sandbox, {"functionName": FUNCTION, "targetVersion": publish_candidate(sandbox)})
        running = _running(sandbox)
        named = f"a deployment of {FUNCTION}:prod is running ({running})"
    elif case == "no ended deployment":
        target, named = "no-such-function", "no ended deployment of no-such-function:prod"
    elif case == "malformed target":
        target, named = ":prod", "expected FUNCTION[:ALIAS]"
    before = {e["executionArn"] for e in _executions(sandbox)}
    code = main(["retry", target, "--reason", reason, *_aws(sandbox)])
    assert code == deploy.EXIT_BAD_INPUT
    assert named in _one_line(capsys.readouterr().err)
    assert {e["executionArn"] for e in _executions(sandbox)} == before  # nothing started
    for execution in _executions(sandbox):
        if execution["status"] == "RUNNING":  # ended before the sandbox closes: no thread of
            sandbox.stop_execution(execution["executionArn"])  # it runs into the next test's
            sandbox.wait_for_execution(execution["executionArn"])


def test_retry_exits_3_when_the_state_machine_is_gone(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = sandbox.stack.state_machine_arn + "-gone"
    code = main(["retry", FUNCTION, "--reason", REASON, "--state-machine-arn", gone,
                 "--region", "us-east-1"])  # fmt: skip
    assert code == deploy.EXIT_AWS_ERROR
    assert _one_line(capsys.readouterr().err).startswith("coalmine: AWS: StateMachineDoesNotExist")


def test_retry_timeout_exits_4_and_the_deployment_goes_on(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _stopped(sandbox, {"functionName": FUNCTION, "targetVersion": publish_candidate(sandbox)})
    code = _retry(sandbox, old, "--timeout", "0.001")
    err = capsys.readouterr().err
    assert code == deploy.EXIT_TIMEOUT
    [new] = [e for e in _executions(sandbox) if e["executionArn"] != old]
    assert new["status"] == "RUNNING"
    assert "--timeout reached; the deployment goes on" in err
    assert f"stop-execution --execution-arn {new['executionArn']}" in err
    sandbox.stop_execution(new["executionArn"])


def test_retry_ctrl_c_exits_130_and_says_the_deployment_goes_on(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _stopped(sandbox, {"functionName": FUNCTION, "targetVersion": publish_candidate(sandbox)})

    def interrupted(self: Any) -> list[dict[str, Any]]:
        raise KeyboardInterrupt

    monkeypatch.setattr(deploy.HistoryReader, "new_events", interrupted)
    code = _retry(sandbox, old)
    err = capsys.readouterr().err
    assert code == deploy.EXIT_INTERRUPTED
    [new] = [e for e in _executions(sandbox) if e["executionArn"] != old]
    assert "interrupted; the deployment goes on" in err
    assert new["executionArn"] in err
    sandbox.stop_execution(new["executionArn"])
