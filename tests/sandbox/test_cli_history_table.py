"""`coalmine history` read from the DeploymentHistory table (one item per deployment, written by
the state machine: coalmine/history.py), against a Sandbox; the state machine's executions stay
the fallback when no table is given or found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coalmine_cli.main import main
from coalmine_sandbox import Sandbox

FUNCTION = "brand-api"


def _aws(sb: Sandbox) -> list[str]:
    return ["--state-machine-arn", sb.stack.state_machine_arn, "--region", "us-east-1"]


def _promote(sb: Sandbox, tmp_path: Path, marker: str) -> str:
    target = sb.publish_version(FUNCTION, {"CLI_TEST_MARKER": marker})
    request = tmp_path / "deploy.json"  # (no traffic here: no watch after the cutover)
    request.write_text(json.dumps({"analysis": {"watchSeconds": 0}}))
    args = ["--input", str(request), "--target-version", target, "--strategy", "AllAtOnce"]
    code = main(["deploy", *_aws(sb), "--function", FUNCTION, "--poll-seconds", "0.01", *args])
    assert code == 0
    return target


def test_history_reads_the_table_newest_first(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given two promoted deployments and one stopped while it ran
    first = _promote(sandbox, tmp_path, "one")
    second = _promote(sandbox, tmp_path, "two")
    third = sandbox.publish_version(FUNCTION, {"CLI_TEST_MARKER": "three"})
    assert main(["deploy", *_aws(sandbox), "--function", FUNCTION,
                 "--target-version", third, "--no-wait"]) == 0  # fmt: skip
    [running] = [
        e["executionArn"]
        for e in sandbox.client("stepfunctions").list_executions(
            stateMachineArn=sandbox.stack.state_machine_arn, statusFilter="RUNNING"
        )["executions"]
    ]
    sandbox.clock.advance(90)  # it shifts traffic and bakes (its item is written)
    sandbox.stop_execution(running, cause="stopped by the test")
    sandbox.wait_for_execution(running)
    capsys.readouterr()
    table = sandbox.stack["DeploymentHistoryTable"]
    # When history is read from the table
    code = main(["history", f"{FUNCTION}:prod", "--history-table", table, *_aws(sandbox)])
    lines = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("  ")]
    # Then each deployment is there once, newest first, with its versions and outcome
    assert code == 0
    assert len(lines) == 3, lines
    assert f"-> v{third}" in lines[0]
    assert "STOPPED" in lines[0]
    assert f"-> v{second}" in lines[1]
    assert "AllAtOnce  PROMOTED" in lines[1]
    assert f"-> v{first}" in lines[2]
    # --limit, and every alias of the function when none is named (a Scan)
    assert (
        main(["history", FUNCTION, "--history-table", table, "--limit", "1", *_aws(sandbox)]) == 0
    )
    [only] = capsys.readouterr().out.strip().splitlines()[:1]
    assert f"-> v{third}" in only
    assert main(["history", "brand-other", "--history-table", table, *_aws(sandbox)]) == 0
    assert capsys.readouterr().out.strip() == f"no deployment of brand-other in {table}"


def test_history_without_a_table_reads_the_executions(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _promote(sandbox, tmp_path, "fallback")
    capsys.readouterr()
    assert main(["history", "brand-other", *_aws(sandbox)]) == 0
    assert "among the newest 200 executions" in capsys.readouterr().out
