"""`coalmine deploy`'s exit codes and output modes, `coalmine list` and `coalmine history`, against
a Sandbox (the CLI's boto3 clients reach the emulated AWS in-process)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from coalmine_cli import deploy
from coalmine_cli.main import main
from coalmine_sandbox import Sandbox

FUNCTION = "brand-api"


def _aws(sb: Sandbox) -> list[str]:
    return ["--state-machine-arn", sb.stack.state_machine_arn, "--region", "us-east-1"]


def _deploy(sb: Sandbox, *extra: str) -> list[str]:
    return ["deploy", *_aws(sb), "--function", FUNCTION, "--poll-seconds", "0.01", *extra]


def _executions(sb: Sandbox) -> list[dict[str, Any]]:
    sfn = sb.client("stepfunctions")
    return sfn.list_executions(stateMachineArn=sb.stack.state_machine_arn)["executions"]


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text  # one line, no traceback
    return lines[0]


# ------------------------------------------------------------------ bad input: exit 2, no AWS call


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--input", "no-such-file.json"], "cannot read no-such-file.json"),
        (["--target-version", "2", "--strategy", "Nope"], "strategy"),
        (["--target-version", "2", "--timeout", "0"], "--timeout"),
        (["--target-version", "2", "--watch", "--no-wait"], "--watch"),
        (["--target-version", "2", "--watch", "--output", "json"], "not with --output json"),
    ],
    ids=["missing file", "unknown strategy", "zero timeout", "watch no-wait", "watch json"],
)
def test_bad_input_exits_2_before_any_aws_call(
    capsys: pytest.CaptureFixture[str], args: list[str], named: str
) -> None:
    # (a profile that does not exist: any AWS call would fail with exit 3)
    code = main(["deploy", "--profile", "no-such-profile", "--function", FUNCTION, *args])
    err = _one_line(capsys.readouterr().err)
    assert code == deploy.EXIT_BAD_INPUT
    assert named in err


def test_an_input_file_that_is_not_json_exits_2(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "deploy.json"
    bad.write_text('{"functionName": "brand-api",')
    code = main(["deploy", "--profile", "no-such-profile", "--input", str(bad)])
    assert code == deploy.EXIT_BAD_INPUT
    assert "is not valid JSON" in _one_line(capsys.readouterr().err)


# ------------------------------------------------------------------ AWS and tool errors: exit 3


def test_an_unknown_profile_exits_3_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["deploy", "--profile", "no-such-profile", "--function", FUNCTION,
                 "--target-version", "2"])  # fmt: skip
    assert code == deploy.EXIT_AWS_ERROR
    assert "no-such-profile" in _one_line(capsys.readouterr().err)


def test_a_state_machine_that_does_not_exist_exits_3(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = sandbox.stack.state_machine_arn + "-gone"
    code = main(["deploy", "--state-machine-arn", missing, "--region", "us-east-1",
                 "--function", FUNCTION, "--target-version", "2"])  # fmt: skip
    assert code == deploy.EXIT_AWS_ERROR
    assert _one_line(capsys.readouterr().err).startswith("coalmine: AWS: StateMachineDoesNotExist")
    assert _executions(sandbox) == []


def test_history_of_a_malformed_target_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", ":prod", "--profile", "no-such-profile"]) == deploy.EXIT_BAD_INPUT
    assert "FUNCTION[:ALIAS]" in _one_line(capsys.readouterr().err)


# ------------------------------------------------------------------ following: timeout, Ctrl-C


def test_timeout_exits_4_and_the_deployment_goes_on(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    target = sandbox.publish_version(FUNCTION, {"CLI_TEST_MARKER": "timeout"})
    code = main(_deploy(sandbox, "--target-version", target, "--timeout", "0.001"))
    err = capsys.readouterr().err
    assert code == deploy.EXIT_TIMEOUT
    [execution] = _executions(sandbox)
    assert execution["status"] == "RUNNING"
    assert "--timeout reached; the deployment goes on" in err
    assert f"stop-execution --execution-arn {execution['executionArn']}" in err
    sandbox.stop_execution(execution["executionArn"])


def test_ctrl_c_exits_130_and_says_how_to_stop_it(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = sandbox.publish_version(FUNCTION, {"CLI_TEST_MARKER": "ctrl-c"})

    def interrupted(self: Any) -> list[dict[str, Any]]:
        raise KeyboardInterrupt

    monkeypatch.setattr(deploy.HistoryReader, "new_events", interrupted)
    code = main(_deploy(sandbox, "--target-version", target))
    err = capsys.readouterr().err
    assert code == deploy.EXIT_INTERRUPTED
    [execution] = _executions(sandbox)
    assert "interrupted; the deployment goes on" in err
    assert execution["executionArn"] in err
    sandbox.stop_execution(execution["executionArn"])


# ------------------------------------------------------------------ --watch: status --watch's view


def test_watch_follows_with_the_status_view_and_exits_as_deploy_does(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    target = sandbox.publish_version(FUNCTION, {"CLI_TEST_MARKER": "watch"})
    request = tmp_path / "deploy.json"  # (no traffic here: no watch after the cutover)
    request.write_text(json.dumps({"analysis": {"watchSeconds": 0}}))
    code = main(_deploy(sandbox, "--input", str(request), "--target-version", target,
                        "--strategy", "AllAtOnce", "--watch"))  # fmt: skip
    # (without the JSON log and EMF lines the in-process handlers print)
    lines = [x for x in capsys.readouterr().out.splitlines() if not x.startswith("{")]
    assert code == deploy.EXIT_PROMOTED
    # not a terminal: started, the status once, a line per event, the status at the end
    assert lines[0].startswith("started arn:aws:states:")
    assert f"{FUNCTION}:prod  -> v{target}" in lines[1]
    assert any(f"[Promote] promoted: 100% -> v{target}" in line for line in lines)
    assert lines[-1] == "  ended   PROMOTED"
    assert sum(f"{FUNCTION}:prod  " in line for line in lines) == 2  # not redrawn per poll
    # and a deployment Prepare refuses (its version already the alias's) exits 1
    assert main(_deploy(sandbox, "--target-version", target, "--watch")) == 1
    ended = [x for x in capsys.readouterr().out.splitlines() if x.startswith("  ended")]
    assert len(ended) == 1
    assert ended[0].startswith("  ended   FAILED")


def test_watch_timeout_exits_4_and_the_deployment_goes_on(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    target = sandbox.publish_version(FUNCTION, {"CLI_TEST_MARKER": "watch-timeout"})
    code = main(_deploy(sandbox, "--target-version", target, "--watch", "--timeout", "0.001"))
    err = capsys.readouterr().err
    assert code == deploy.EXIT_TIMEOUT
    [execution] = _executions(sandbox)
    assert execution["status"] == "RUNNING"
    assert "--timeout reached; the deployment goes on" in err
    sandbox.stop_execution(execution["executionArn"])


# ------------------------------------------------------------------ --output json, list, history


def test_output_json_prints_the_final_document_on_stdout(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    target = sandbox.publish_version(FUNCTION, {"CLI_TEST_MARKER": "json"})
    request = tmp_path / "deploy.json"  # (no traffic here: no watch after the cutover)
    request.write_text(json.dumps({"analysis": {"watchSeconds": 0}}))
    code = main(_deploy(sandbox, "--input", str(request), "--target-version", target,
                        "--strategy", "AllAtOnce", "--output", "json"))  # fmt: skip
    printed = capsys.readouterr()
    # stdout holds the JSON alone (progress went to stderr), apart from the log and EMF lines the
    # sandbox's in-process handlers print (on AWS they go to the functions' log groups)
    [result] = [
        doc
        for doc in map(json.loads, printed.out.splitlines())
        if "_aws" not in doc and "level" not in doc
    ]
    assert code == 0
    assert result["status"] == "SUCCEEDED"
    assert result["deployment"]["outcome"] == "PROMOTED"
    assert result["deployment"]["toVersion"] == target
    assert "[Promote] promoted" in printed.err


def test_list_shows_a_running_deployment_and_history_its_end(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a canary started without waiting
    target = sandbox.publish_version(FUNCTION, {"CLI_TEST_MARKER": "list"})
    assert main(_deploy(sandbox, "--target-version", target, "--no-wait")) == 0
    [execution] = _executions(sandbox)
    capsys.readouterr()
    # When the running deployments are listed
    assert main(["list", *_aws(sandbox)]) == 0
    listed = capsys.readouterr().out
    # Then it is there, by function:alias, target and strategy
    assert f"{FUNCTION}:prod  -> v{target}  Canary10Percent5Minutes  running" in listed
    assert execution["name"] in listed
    # And once it is stopped, history tells how it ended
    sandbox.stop_execution(execution["executionArn"], cause="stopped by the test")
    sandbox.wait_for_execution(execution["executionArn"])
    assert main(["list", *_aws(sandbox)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "no deployment is running"
    assert main(["history", f"{FUNCTION}:prod", *_aws(sandbox)]) == 0
    past = capsys.readouterr().out
    assert "STOPPED" in past
    assert "stopped by the test" in past
    assert main(["history", "brand-other", *_aws(sandbox)]) == 0
    assert "no deployment of brand-other" in capsys.readouterr().out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("coalmine ")
