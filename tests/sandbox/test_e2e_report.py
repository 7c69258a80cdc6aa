"""End to end: `coalmine report EXECUTION_ARN` on a real execution in the sandbox. The timeline it
rebuilds from AWS alone (Step Functions' history, the S3 evidence store, CloudWatch) agrees with
the one the rehearsal made from what the world saw (its own requests, the alias sampled each
minute); the page it writes draws the deployment; its one-line errors and exit codes."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import REPO

from coalmine_cli import deploy
from coalmine_cli.main import main
from coalmine_sandbox import Sandbox
from coalmine_sandbox.world.rehearsal import rehearse
from coalmine_sandbox.world.scenario import load_scenario

SCENARIOS = REPO / "scenarios"


def _reported(name: str, tmp: Path) -> tuple[dict[str, Any], dict[str, Any], int, str]:
    """(the rehearsal's timeline, the one `coalmine report ARN` rebuilt, its exit code, page)."""
    found: dict[str, Any] = {}

    def inspect(sb: Sandbox, result: dict[str, Any]) -> None:
        arn = result["executionArn"]
        found["code"] = main(["report", arn, "-o", str(tmp / "r.html"),
                              "--json", str(tmp / "r.json")])  # fmt: skip

    result = rehearse(load_scenario(SCENARIOS / f"{name}.json"), inspect=inspect)
    rebuilt = json.loads((tmp / "r.json").read_text())
    return result["timeline"], rebuilt, found["code"], (tmp / "r.html").read_text()


@pytest.mark.parametrize(
    ("name", "outcome"),
    [("faulty-canary", "ROLLED_BACK"), ("healthy-canary", "PROMOTED")],
)
def test_report_by_arn_agrees_with_the_rehearsal(name: str, outcome: str, tmp_path: Path) -> None:
    world, aws, code, page = _reported(name, tmp_path)
    assert code == 0
    # the same minutes, each with the same routing and the same requests and errors per version
    assert [m["at"] for m in aws["minutes"]] == [m["at"] for m in world["minutes"]]
    for seen, rebuilt in zip(world["minutes"], aws["minutes"], strict=True):
        assert rebuilt["weights"] == seen["weights"], seen["at"]
        for version, figures in seen["versions"].items():
            other = rebuilt["versions"][version]
            assert (other["requests"], other["errors"]) == (
                figures["requests"],
                figures["errors"],
            ), (seen["at"], version)
            for latency in ("p50Ms", "p99Ms"):  # CloudWatch's percentiles of the same requests
                assert other[latency] == pytest.approx(figures[latency], abs=0.01)
    # the same ticks and verdicts, and the same decision
    assert aws["ticks"] == world["ticks"]
    assert aws["decision"]["outcome"] == world["decision"]["outcome"] == outcome
    assert aws["decision"]["t"] == world["decision"]["t"] is not None
    # the routing moved during the deployment (the check above compared something)
    weights = [m["weights"] for m in world["minutes"]]
    assert {"weights": weights[0]} != {"weights": weights[3]}
    assert any(m["versions"][world["toVersion"]]["requests"] for m in world["minutes"])
    # and the page draws it
    assert f"v{world['fromVersion']} \u2192 v{world['toVersion']}" in page
    assert f"Decision: {outcome}" in page
    assert page.count('class="tick ') == len(world["ticks"]) > 0


def test_rehearse_with_report_writes_the_page_next_to_the_result(tmp_path: Path) -> None:
    out = tmp_path / "faulty.json"
    assert main(["rehearse", "faulty-canary", "--json", str(out), "--report"]) == 0
    page = out.with_suffix(".html").read_text()
    assert "Decision: ROLLED_BACK" in page
    assert json.loads(out.read_text())["timeline"]["decision"]["outcome"] == "ROLLED_BACK"


def test_an_execution_that_ended_before_prepare_has_no_evidence(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    arn = sandbox.start_execution({"functionName": "brand-api", "strategy": "Nope"})
    sandbox.wait_for_execution(arn)
    capsys.readouterr()
    code = main(["report", arn, "-o", str(tmp_path / "r.html")])
    err = capsys.readouterr().err.strip()
    assert code == deploy.EXIT_BAD_INPUT
    assert err.startswith("coalmine: ")
    assert "\n" not in err
    assert "no deployment document" in err
    assert not (tmp_path / "r.html").exists()


def test_an_execution_that_does_not_exist_exits_3(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    arn = sandbox.stack.state_machine_arn.replace(":stateMachine:", ":execution:") + ":gone"
    code = main(["report", arn, "-o", str(tmp_path / "r.html")])
    err = capsys.readouterr().err.strip()
    assert code == deploy.EXIT_AWS_ERROR
    assert err.startswith("coalmine: AWS: ExecutionDoesNotExist"), err


def test_a_deployment_without_ticks_is_drawn_with_its_decision(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # AllAtOnce with no watch: promoted without any analysis tick (no evidence location)
    target = sandbox.publish_version("brand-api", {"CLI_TEST_MARKER": "no-ticks"})
    arn = sandbox.start_execution(
        {
            "functionName": "brand-api",
            "targetVersion": target,
            "strategy": "AllAtOnce",
            "analysis": {"watchSeconds": 0},
        }
    )
    assert sandbox.wait_for_execution(arn)["status"] == "SUCCEEDED"
    out = tmp_path / "t.json"
    assert main(["report", arn, "-o", str(tmp_path / "r.html"), "--json", str(out)]) == 0
    drawn = json.loads(out.read_text())
    assert drawn["ticks"] == []
    assert drawn["decision"]["outcome"] == "PROMOTED"
    assert drawn["minutes"][-1]["weights"] == {target: 1.0}


def test_a_stopped_deployment_shows_the_stop_as_an_action_and_its_decision(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    target = sandbox.publish_version("brand-api", {"CLI_TEST_MARKER": "stopped"})
    arn = sandbox.start_execution(
        {
            "functionName": "brand-api",
            "targetVersion": target,
            "strategy": {"type": "steps", "steps": [{"weight": 0.1, "bakeSeconds": 21600}]},
            "analysis": {"intervalSeconds": 3600, "minInvocations": 0},
        }
    )
    sfn = sandbox.client("stepfunctions")
    deadline = time.perf_counter() + 30
    while not any(
        e.get("stateEnteredEventDetails", {}).get("name") == "Bake"
        for e in sfn.get_execution_history(executionArn=arn)["events"]
    ):
        assert time.perf_counter() < deadline, "it never baked"
        time.sleep(0.005)
    sandbox.stop_execution(arn, cause="stopped by the operator")
    sandbox.wait_for_execution(arn)
    out = tmp_path / "t.json"
    assert main(["report", arn, "-o", str(tmp_path / "r.html"), "--json", str(out)]) == 0
    drawn = json.loads(out.read_text())
    [stop] = drawn["actions"]
    assert stop["action"] == "stop"
    assert stop["detail"] == "stopped by the operator"
    assert drawn["decision"]["outcome"] == "STOPPED"
    assert drawn["decision"]["t"] == stop["t"]
    assert "stopped by the operator" in (tmp_path / "r.html").read_text()
