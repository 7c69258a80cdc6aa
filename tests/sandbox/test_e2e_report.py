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
        found["code"] = main(["report", arn, "-o", str(tmp / "r.html"), "--rebuild",
                              "--json", str(tmp / "r.json")])  # fmt: skip

    result = rehearse(load_scenario(SCENARIOS / f"{name}.json"), inspect=inspect)
    rebuilt = json.loads((tmp / "r.json").read_text())
    return result["timeline"], rebuilt, found["code"], (tmp / "r.html").read_text()


def _agree(
    world: dict[str, Any],
    aws: dict[str, Any],
    routed: slice = slice(None),
    counted: slice = slice(None),
) -> None:
    """Two timelines of one deployment agree: the same minutes, each with the same routing and
    the same requests and errors per version, percentiles (to 0.01 ms); the same ticks and
    verdicts; the same decision (``routed``, ``counted``: the minutes whose routing, whose
    figures are compared)."""
    assert [m["at"] for m in aws["minutes"]] == [m["at"] for m in world["minutes"]]
    for seen, rebuilt in zip(world["minutes"][routed], aws["minutes"][routed], strict=True):
        assert rebuilt["weights"] == seen["weights"], seen["at"]
    for seen, rebuilt in zip(world["minutes"][counted], aws["minutes"][counted], strict=True):
        for version, figures in seen["versions"].items():
            other = rebuilt["versions"][version]
            assert (other["requests"], other["errors"]) == (
                figures["requests"],
                figures["errors"],
            ), (seen["at"], version)
            for latency in ("p50Ms", "p99Ms"):  # CloudWatch's percentiles of the same requests
                assert other[latency] == pytest.approx(figures[latency], abs=0.01)
    assert aws["ticks"] == world["ticks"]
    assert aws["decision"]["outcome"] == world["decision"]["outcome"]
    assert aws["decision"]["t"] == world["decision"]["t"] is not None


@pytest.mark.parametrize(
    ("name", "outcome"),
    [("faulty-canary", "ROLLED_BACK"), ("healthy-canary", "PROMOTED")],
)
def test_report_by_arn_agrees_with_the_rehearsal(name: str, outcome: str, tmp_path: Path) -> None:
    world, aws, code, page = _reported(name, tmp_path)
    assert code == 0
    _agree(world, aws)
    assert aws["decision"]["outcome"] == outcome
    # the routing moved during the deployment (the check above compared something)
    weights = [m["weights"] for m in world["minutes"]]
    assert {"weights": weights[0]} != {"weights": weights[3]}
    assert any(m["versions"][world["toVersion"]]["requests"] for m in world["minutes"])
    # and the page draws it
    assert f"v{world['fromVersion']} \u2192 v{world['toVersion']}" in page
    assert f"Decision: {outcome}" in page
    assert page.count('class="tick ') == len(world["ticks"]) > 0


MARKER = ("metricsComplete", "metricsThrough", "metricsReadAt")


def _without_end(tl: dict[str, Any]) -> dict[str, Any]:
    """The timeline but for its metrics marker and its end minute's figures."""
    found = {k: v for k, v in tl.items() if k not in MARKER}
    *minutes, end = tl["minutes"]
    return {**found, "minutes": [*minutes, {k: v for k, v in end.items() if k != "versions"}]}


@pytest.mark.parametrize(
    ("name", "outcome"),
    [("healthy-canary", "PROMOTED"), ("stop-mid-canary", "STOPPED")],
)
def test_every_ending_stores_a_timeline_report_draws_even_once_the_execution_is_gone(
    name: str, outcome: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: dict[str, Any] = {}

    def inspect(sb: Sandbox, result: dict[str, Any]) -> None:
        arn, bucket = result["executionArn"], sb.stack.resources["ReportsBucket"].ref
        key = f"reports/brand-api/prod/{arn.rsplit(':', 1)[-1]}/timeline.json"
        body = sb.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        seen["stored"] = json.loads(body)  # RecordTimeline's, written as the execution ended
        for label, extra in (("rebuilt", ["--rebuild"]), ("default", [])):
            out = tmp_path / f"{label}.json"
            assert main(["report", arn, "-o", str(tmp_path / "r.html"), *extra,
                         "--json", str(out)]) == 0  # fmt: skip
            seen[label] = json.loads(out.read_text())
        # the execution gone (Step Functions keeps an ended one 90 days), CloudWatch refusing
        # (its 1-minute data lasts 15 days): the stored timeline still draws the deployment
        for api, service in (("DescribeExecution", "stepfunctions"),
                             ("GetExecutionHistory", "stepfunctions"),
                             ("GetMetricData", "cloudwatch")):  # fmt: skip
            code = "ExecutionDoesNotExist" if service == "stepfunctions" else "AccessDenied"
            sb.faults.inject_api(api, service, code=code, times=None)
        capsys.readouterr()
        seen["no bucket"] = main(["report", arn, "-o", str(tmp_path / "g.html")])
        seen["no bucket error"] = capsys.readouterr().err
        out = tmp_path / "gone.json"
        seen["gone code"] = main(["report", arn, "-o", str(tmp_path / "g.html"),
                                  "--reports-bucket", bucket, "--json", str(out)])  # fmt: skip
        seen["gone"] = json.loads(out.read_text()) if out.exists() else None
        seen["page"] = (tmp_path / "g.html").read_text() if out.exists() else ""
        sb.faults.clear()

    result = rehearse(load_scenario(SCENARIOS / f"{name}.json"), inspect=inspect)
    stored, rebuilt = seen["stored"], seen["rebuilt"]
    assert stored["decision"]["outcome"] == outcome == result["timeline"]["decision"]["outcome"]
    # complete: RecordTimeline read CloudWatch once the end minute had settled
    assert stored["metricsComplete"] is True
    assert stored["metricsThrough"] == stored["minutes"][-1]["at"]
    # it agrees with the timeline `coalmine report` rebuilds from AWS (the comparisons made with
    # the rehearsal's) and is that timeline but for when CloudWatch was read and the end
    # minute's figures: the sandbox's clock stands still while RecordTimeline waits (on AWS the
    # traffic after the end goes on during its wait), so its end minute stops at the end
    before_end = slice(None, -1)
    _agree(rebuilt, stored, counted=before_end)
    assert _without_end(stored) == _without_end(rebuilt)
    # and with the rehearsal's, where the world sampled the routing (a stop's last minute:
    # Cleanup's restore is in no history)
    world = result["timeline"]
    first = next(i for i, m in enumerate(world["minutes"]) if m["weights"])
    routed = slice(first, -1 if outcome == "STOPPED" else None)
    _agree(world, stored, routed=routed, counted=before_end)
    assert routed.indices(len(world["minutes"]))[1] - first >= 3  # (routing compared)
    assert stored["ticks"]
    # `coalmine report ARN` draws the stored one when it is complete
    assert seen["default"] == stored
    # once the execution is gone: from the reports bucket, with no CloudWatch read
    assert seen["no bucket"] == deploy.EXIT_AWS_ERROR
    assert "ExecutionDoesNotExist" in seen["no bucket error"]
    assert seen["gone code"] == 0
    assert seen["gone"] == stored
    assert f"Decision: {outcome}" in seen["page"]


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


def test_a_timeline_that_cannot_be_written_changes_no_outcome(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # S3 refuses every PutObject RecordTimeline makes (botocore's retries, then Lambda's two)
    sandbox.faults.inject_api(
        "PutObject", "s3", kind="service-error", caller="RecordTimeline", times=None
    )
    target = sandbox.publish_version("brand-api", {"CLI_TEST_MARKER": "no-timeline"})
    arn = sandbox.start_execution(
        {
            "functionName": "brand-api",
            "targetVersion": target,
            "strategy": "AllAtOnce",
            "analysis": {"watchSeconds": 0},
        }
    )
    # the deployment is promoted and the alias wholly on the new version, as without the fault
    assert sandbox.wait_for_execution(arn)["status"] == "SUCCEEDED"
    alias = sandbox.alias("brand-api", "prod")
    assert alias["FunctionVersion"] == target
    assert not alias.get("RoutingConfig", {}).get("AdditionalVersionWeights")
    # the fault was met (by RecordTimeline alone), and its event went to its dead-letter queue
    assert sandbox.faults.fired
    assert {f["caller"] for f in sandbox.faults.fired} == {"RecordTimeline"}
    sqs = sandbox.client("sqs")
    queue = sandbox.stack["RecordTimelineDeadLetterQueue"]
    [message] = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert arn in message["Body"]
    # no timeline.json; `coalmine report` rebuilds the timeline as before
    bucket = sandbox.stack["ReportsBucket"]
    keys = sandbox.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])
    assert not [k["Key"] for k in keys if k["Key"].endswith("timeline.json")]
    out = tmp_path / "t.json"
    assert main(["report", arn, "-o", str(tmp_path / "r.html"), "--json", str(out)]) == 0
    drawn = json.loads(out.read_text())
    assert drawn["decision"]["outcome"] == "PROMOTED"
    assert drawn["minutes"][-1]["weights"] == {target: 1.0}
