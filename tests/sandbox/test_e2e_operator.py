"""Operators steering a running deployment (docs/operating.md), end to end against a Sandbox:
`coalmine abort` (in-process: its boto3 clients reach the emulated AWS) and a scenario's `abort`
event, both through adapters/operator_requests.py; the state machine acts at its next tick."""

from __future__ import annotations

import json
from typing import Any

import pytest
from e2e_helpers import FUNCTION, REPO, alias_snapshot, finish, publish_candidate, routing

from coalmine import lifecycle_events as E
from coalmine_cli import deploy
from coalmine_cli.main import main
from coalmine_cli.progress import progress_lines
from coalmine_sandbox import Sandbox
from coalmine_sandbox.world.rehearsal import rehearse
from coalmine_sandbox.world.scenario import load_scenario

REASON = "a partner reports wrong prices"
PLAN = {"type": "steps", "steps": [{"weight": 0.1, "bakeSeconds": 600}]}


def _cli(sb: Sandbox, *args: str) -> int:
    return main(
        [
            *args,
            "--lock-table",
            sb.stack["DeploymentLocksTable"],
            "--state-machine-arn",
            sb.stack.state_machine_arn,
            "--region",
            "us-east-1",
        ]
    )


def _locks(sb: Sandbox) -> list[dict[str, Any]]:
    return sb.client("dynamodb").scan(TableName=sb.stack["DeploymentLocksTable"])["Items"]


def _history_item(sb: Sandbox) -> dict[str, Any]:
    [item] = sb.client("dynamodb").scan(TableName=sb.stack["DeploymentHistoryTable"])["Items"]
    return item


def test_coalmine_abort_rolls_back_at_the_next_tick_and_names_the_operator(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a 10% canary baking for 10 minutes, analysed every minute
    stable = routing(alias_snapshot(sandbox))[0]
    candidate = publish_candidate(sandbox)
    request = {"functionName": FUNCTION, "targetVersion": candidate, "strategy": PLAN,
               "analysis": {"intervalSeconds": 60}}  # fmt: skip
    began = sandbox.clock.now()
    codes: list[int] = []

    def abort_at_150s(t_from: Any, t_to: Any) -> None:
        if (t_to - began).total_seconds() == 150 and not codes:
            codes.append(_cli(sandbox, "abort", f"{FUNCTION}:prod", "--reason", REASON))

    remove = sandbox.add_listener(abort_at_150s)
    # When an operator runs `coalmine abort` 150 s in
    done = finish(sandbox, sandbox.start_execution(request))
    remove()
    # Then the request was accepted and the next Analyze rolled back at once
    assert codes == [0]
    assert "abort requested on brand-api:prod" in capsys.readouterr().out
    assert done.status == "FAILED"
    assert done.error == "DeploymentAborted"
    assert REASON in done.cause
    assert "aborted by arn:aws:sts::" in done.cause
    tail = ["Analyze", "NextAction", "Rollback", "ReleaseLock", "Finished", "Aborted"]
    assert done.entered[-6:] == tail
    assert "Promote" not in done.entered
    assert routing(alias_snapshot(sandbox)) == (stable, {})  # wholly back on the old version
    assert _locks(sandbox) == []  # the lock is free
    # ... the document, the history item and the lifecycle event name the operator
    document = json.loads(done.description.get("output") or "null") or _last_output(sandbox, done)
    [action] = document["operatorActions"]
    assert (action["action"], action["reason"]) == ("abort", REASON)
    assert action["principal"].startswith("arn:aws:sts::")
    assert action["appliedAt"] > action["at"]  # acted on at the next tick, not at once
    item = _history_item(sandbox)
    assert item["phase"]["S"] == "ABORTED"
    assert REASON in item["reason"]["S"]
    assert json.loads(item["operatorActions"]["S"]) == [action]
    aborted = [e for e in sandbox.events_put if e["detail-type"] == E.ABORTED]
    assert len(aborted) == 1
    assert action["principal"] in aborted[0]["detail"]["reason"]


def _last_output(sb: Sandbox, done: Any) -> dict[str, Any]:
    """The last deployment document a state passed on (a failed execution has no output)."""
    events = sb.client("stepfunctions").get_execution_history(
        executionArn=done.description["executionArn"]
    )["events"]
    for event in reversed(events):
        output = event.get("taskSucceededEventDetails", {}).get("output")
        if output and "deploymentId" in output:
            payload = json.loads(output)
            return dict(payload.get("Payload", payload))
    raise AssertionError("no deployment document in the history")


@pytest.mark.parametrize(
    ("target", "named"),
    [
        ("no-such-function:prod", "function no-such-function does not exist"),
        (f"{FUNCTION}:prod", f"no deployment of {FUNCTION}:prod is running"),
    ],
    ids=["unknown function", "no running deployment"],
)
def test_abort_with_nothing_to_abort_exits_2_and_changes_nothing(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], target: str, named: str
) -> None:
    before = alias_snapshot(sandbox)
    code = _cli(sandbox, "abort", target, "--reason", REASON)
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == deploy.EXIT_BAD_INPUT
    assert lines == [f"coalmine: {named}"]  # one line, no traceback
    assert _locks(sandbox) == []
    assert alias_snapshot(sandbox) == before


@pytest.mark.parametrize(
    "verb",
    [["abort"], ["promote", "--now"], ["pause"], ["resume"], ["approve"], ["reject"]],
    ids=lambda v: v[0],
)
def test_every_steering_verb_refuses_when_no_deployment_runs(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], verb: list[str]
) -> None:
    code = _cli(sandbox, verb[0], f"{FUNCTION}:live", *verb[1:], "--reason", REASON)
    assert code == deploy.EXIT_BAD_INPUT
    assert capsys.readouterr().err.strip().splitlines() == [
        f"coalmine: no deployment of {FUNCTION}:live is running"
    ]
    assert _locks(sandbox) == []


def test_promote_without_now_exits_2_and_changes_nothing(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _cli(sandbox, "promote", f"{FUNCTION}:prod", "--reason", REASON)
    assert code == deploy.EXIT_BAD_INPUT
    assert capsys.readouterr().err.strip().splitlines() == [
        "coalmine: promote needs --now (to let a deployment waiting at a human gate go on: "
        "coalmine approve)"
    ]
    assert _locks(sandbox) == []


def test_the_promote_now_scenario_skips_the_bakes_and_still_watches() -> None:
    scenario = load_scenario(REPO / "scenarios" / "operator-promote-now.json")
    seen: dict[str, Any] = {}

    def inspect(sb: Sandbox, result: dict[str, Any]) -> None:
        seen["locks"] = _locks(sb)
        seen["routing"] = routing(alias_snapshot(sb))

    result = rehearse(scenario, inspect=inspect)
    assert result["outcome"] == "PROMOTED"
    assert result["reason"].startswith("promoted now by arn:aws:sts::")
    assert seen["locks"] == []
    assert seen["routing"] == (result["toVersion"], {})
    # the 10% step's bake was cut short (600 s planned), the 30% step never ran, the watch did
    assert result["steps"][0]["reason"].startswith("bake skipped: promoted now by ")
    assert result["decisionAtSeconds"] < 600 + 600  # (the two bakes the plan had)
    weights = [step["weight"] for step in result["steps"]]
    assert 0.3 not in weights
    watched = [step for step in result["steps"] if step["weight"] == 1.0]
    assert watched
    assert watched[-1]["verdict"] == "PASS"


def test_the_operator_abort_scenario_ends_aborted_whole_and_unlocked() -> None:
    scenario = load_scenario(REPO / "scenarios" / "operator-abort.json")
    seen: dict[str, Any] = {}

    def inspect(sb: Sandbox, result: dict[str, Any]) -> None:
        seen["locks"] = _locks(sb)
        seen["routing"] = routing(alias_snapshot(sb))

    lines: list[str] = []
    result = rehearse(scenario, lines.append, inspect=inspect, history=progress_lines)
    assert result["outcome"] == "ABORTED"
    # the progress names the operator's action, not the tick before it again
    assert any("[Analyze] abort by arn:aws:sts::" in line for line in lines), lines
    assert result["status"] == "FAILED"
    assert REASON in result["reason"]
    [event] = result["events"]
    assert event["action"] == "abort"
    assert event["reason"] == REASON
    assert event["result"].startswith("abort requested by arn:aws:sts::")
    assert seen["locks"] == []
    assert seen["routing"] == (result["fromVersion"], {})


def test_the_pause_resume_scenario_holds_the_weight_then_bakes_on() -> None:
    scenario = load_scenario(REPO / "scenarios" / "operator-pause-resume.json")
    weights: list[dict[str, float]] = []

    def inspect(sb: Sandbox, result: dict[str, Any]) -> None:
        weights.append(routing(alias_snapshot(sb))[1])

    result = rehearse(scenario, inspect=inspect)
    assert result["outcome"] == "PROMOTED"
    assert [e["action"] for e in result["events"]] == ["pause", "resume"]
    assert all(e["result"].startswith(f"{e['action']} requested by ") for e in result["events"])
    assert weights == [{}]
    # the 300 s bake, held for the 600 s pause: decided after the resume, not before it
    assert result["decisionAtSeconds"] > 690
    [step] = [s for s in result["steps"] if s["weight"] == 0.1]
    assert step["verdict"] == "PASS"
