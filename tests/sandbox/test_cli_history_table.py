"""`coalmine history` read from the DeploymentHistory table (one item per deployment, written by
the state machine: coalmine/history.py), against a Sandbox; the state machine's executions stay
the fallback when no table is given or found."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

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
    _until(lambda: _last_state(sandbox, running) == "Bake")  # its item is written
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


def _until(ready: Callable[[], bool], wall_seconds: float = 30.0) -> None:
    deadline = time.perf_counter() + wall_seconds
    while not ready():
        assert time.perf_counter() < deadline, "the deployment never got there"
        time.sleep(0.005)


def _events(sb: Sandbox, arn: str) -> list[dict[str, Any]]:
    return sb.client("stepfunctions").get_execution_history(executionArn=arn)["events"]


def _analyses(sb: Sandbox, arn: str) -> int:
    return sum(
        1
        for e in _events(sb, arn)
        if e["type"] == "TaskStateExited" and e["stateExitedEventDetails"]["name"] == "Analyze"
    )


def _last_state(sb: Sandbox, arn: str) -> str | None:
    entered = [e for e in _events(sb, arn) if "stateEnteredEventDetails" in e]
    return entered[-1]["stateEnteredEventDetails"]["name"] if entered else None


LONG_BAKE = {"type": "steps", "steps": [{"weight": 0.1, "bakeSeconds": 21600}]}


def test_status_shows_a_running_deployment_then_its_end(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a 10% step baking for 6 hours, judged every hour, one tick into its bake
    target = sandbox.publish_version(FUNCTION, {"CLI_TEST_MARKER": "status"})
    request = tmp_path / "deploy.json"  # (no traffic here: no invocation needed)
    analysis = {"intervalSeconds": 3600, "minInvocations": 0}
    request.write_text(json.dumps({"strategy": LONG_BAKE, "analysis": analysis}))
    args = ["--input", str(request), "--target-version", target, "--no-wait"]
    assert main(["deploy", *_aws(sandbox), "--function", FUNCTION, *args]) == 0
    sfn = sandbox.client("stepfunctions")
    [arn] = [
        e["executionArn"]
        for e in sfn.list_executions(stateMachineArn=sandbox.stack.state_machine_arn)["executions"]
    ]
    # (the Bake's Wait moves the simulated clock itself: the status is asked from a clock
    # listener, on the execution's thread, at the first minute after its first analysis)
    seen: dict[str, str] = {}

    def look(t_from: datetime, t_to: datetime) -> None:
        if seen or t_to.second != 0 or _analyses(sandbox, arn) != 1:
            return
        if _last_state(sandbox, arn) != "Bake":
            return
        capsys.readouterr()
        # When its status is asked by function:alias, and by ARN
        seen["alias_code"] = str(main(["status", f"{FUNCTION}:prod", *_aws(sandbox)]))
        seen["by_alias"] = capsys.readouterr().out
        seen["arn_code"] = str(main(["status", arn, "--region", "us-east-1"]))
        seen["by_arn"] = capsys.readouterr().out
        sandbox.stop_execution(arn, cause="stopped by the test")

    remove = sandbox.add_listener(look)
    try:
        sandbox.wait_for_execution(arn)
    finally:
        remove()
    assert (seen.get("alias_code"), seen.get("arn_code")) == ("0", "0"), seen
    by_alias, by_arn = seen["by_alias"], seen["by_arn"]
    # Then both tell the step, the routing, the bake and the latest verdicts
    assert by_alias == by_arn
    assert f"-> v{target}" in by_alias
    assert "  state   Bake (since " in by_alias
    assert f"  step    1/1 at 10%; routing v{int(target) - 1} 90%, v{target} 10%" in by_alias
    assert "  bake    3600 of 21600 s; next analysis at " in by_alias or (
        "  bake    3660 of 21600 s; next analysis at " in by_alias
    )
    assert "; step ends at " in by_alias
    assert (
        f"  traffic v{target}: 0 invocations, 0 errors; v{int(target) - 1}: 0 invocations, "
        "0 errors (this step, at 3600 s)"
    ) in by_alias
    assert "  verdicts 1 PASS (this step)" in by_alias
    assert "    at 3600 s: PASS (errors PASS, latency PASS): baking" in by_alias
    assert "  evidence s3://" in by_alias
    # And once stopped, by ARN it says how it ended; by alias that none is running
    assert main(["status", arn, "--region", "us-east-1"]) == 0
    assert "  ended   STOPPED" in capsys.readouterr().out
    assert main(["status", f"{FUNCTION}:prod", *_aws(sandbox)]) == 0
    assert capsys.readouterr().out.strip() == f"no deployment of {FUNCTION}:prod is running"
    assert main(["status", "arn:aws:states:nowhere"]) == 2


def test_the_history_names_who_started_each_deployment(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a deployment started by `coalmine deploy` (which sends its caller identity)
    target = _promote(sandbox, tmp_path, "who")
    caller = sandbox.client("sts").get_caller_identity()["Arn"]
    table = sandbox.stack["DeploymentHistoryTable"]
    # When the item is read, and `coalmine history` prints it
    items = sandbox.client("dynamodb").scan(TableName=table)["Items"]
    [item] = [i for i in items if i.get("toVersion", {}).get("S") == target]
    capsys.readouterr()
    assert main(["history", f"{FUNCTION}:prod", "--history-table", table, *_aws(sandbox)]) == 0
    out = capsys.readouterr().out
    # Then both name the caller, as the caller reported it
    assert item["startedBy"]["S"] == f"{caller} (as reported by the caller)"
    assert f"started by {caller} (as reported by the caller)" in out
