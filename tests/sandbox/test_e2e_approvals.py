"""Human gates end to end against a Sandbox (docs/approvals.md): the AwaitApproval state waits on
a task token whose wait the sandbox times out in simulated time; `coalmine approve|reject` (in
process: its boto3 clients reach the emulated AWS) and a scenario's events find the token in the
alias's lock, through adapters/operator_requests.py. Every operator move is made from a clock
listener once the lock says the deployment waits."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from e2e_helpers import (
    FUNCTION,
    REPO,
    alias_snapshot,
    finish,
    publish_candidate,
    routing,
    start_traffic,
)

from coalmine import lifecycle_events as E
from coalmine_cli import deploy
from coalmine_cli.main import main
from coalmine_sandbox import Sandbox
from coalmine_sandbox.world import moves
from coalmine_sandbox.world.rehearsal import rehearse
from coalmine_sandbox.world.scenario import load_scenario

REASON = "the partner checked the canary"
GATED = {"type": "steps", "steps": [
    {"weight": 0.1, "bakeSeconds": 120},
    {"approval": {"timeoutSeconds": 1800}},
    {"weight": 1.0, "bakeSeconds": 60},
]}  # fmt: skip


def _cli(sb: Sandbox, *args: str) -> int:
    return main([*args, "--lock-table", sb.stack["DeploymentLocksTable"], "--region", "us-east-1"])


def _lock(sb: Sandbox) -> dict[str, Any] | None:
    items = sb.client("dynamodb").scan(TableName=sb.stack["DeploymentLocksTable"])["Items"]
    return items[0] if items else None


def _waiting(sb: Sandbox) -> bool:
    held = _lock(sb)
    return held is not None and "approval" in held


def _once_waiting(sb: Sandbox, act: Callable[[], None]) -> Callable[[], None]:
    """A clock listener that runs ``act`` once, when the lock first names a waiting gate."""
    done: list[bool] = []

    def listener(t_from: Any, t_to: Any) -> None:
        if not done and _waiting(sb):
            done.append(True)
            act()

    return sb.add_listener(listener)


def _deploy(sb: Sandbox, act: Callable[[], None]) -> Any:
    candidate = publish_candidate(sb)
    _, stop_traffic = start_traffic(sb, rps=5)
    remove = _once_waiting(sb, act)
    request = {"functionName": FUNCTION, "targetVersion": candidate, "strategy": GATED,
               "analysis": {"intervalSeconds": 60}}  # fmt: skip
    done = finish(sb, sb.start_execution(request))
    remove()
    stop_traffic()
    return done


def _document(sb: Sandbox, done: Any) -> dict[str, Any]:
    output = done.description.get("output")
    if output:
        return dict(json.loads(output))
    events = sb.client("stepfunctions").get_execution_history(
        executionArn=done.description["executionArn"], maxResults=1000
    )["events"]
    for event in reversed(events):
        text = event.get("taskSucceededEventDetails", {}).get("output")
        if text and "deploymentId" in text:
            payload = json.loads(text)
            return dict(payload.get("Payload", payload))
    raise AssertionError("no deployment document in the history")


def test_coalmine_approve_wakes_the_wait_and_the_deployment_promotes(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    codes: list[int] = []

    def approve_twice() -> None:
        status = ["status", f"{FUNCTION}:prod", "--region", "us-east-1"]
        codes.append(main([*status, "--state-machine-arn", sandbox.stack.state_machine_arn]))
        codes.append(_cli(sandbox, "approve", f"{FUNCTION}:prod", "--reason", REASON))
        codes.append(_cli(sandbox, "approve", f"{FUNCTION}:prod", "--reason", "again"))

    done = _deploy(sandbox, approve_twice)
    out, err = capsys.readouterr()
    # the first approve was taken and woke the wait; the second was refused in one line
    assert codes == [0, 0, deploy.EXIT_BAD_INPUT]
    assert "gate    waiting for approval since " in out  # coalmine status says how to answer
    assert "coalmine approve|reject brand-api:prod" in out
    assert "approve requested on brand-api:prod" in out
    assert "it takes effect now" in out
    [refusal] = err.strip().splitlines()
    assert refusal.startswith("coalmine: the approval of step 1 (10%) of brand-api:prod was ")
    assert "already answered: approve by arn:aws:sts::" in refusal
    assert done.status == "SUCCEEDED"
    assert routing(alias_snapshot(sandbox))[1] == {}  # wholly on the new version
    waits = done.entered.count("AwaitApproval")
    assert waits >= 1
    # the approve acted at once: AwaitApproval -> Analyze -> Promote, no wait in between
    i = len(done.entered) - 1 - done.entered[::-1].index("AwaitApproval")
    assert done.entered[i : i + 4] == ["AwaitApproval", "Analyze", "NextAction", "Promote"]
    document = _document(sandbox, done)
    [action] = document["operatorActions"]
    assert (action["action"], action["reason"]) == ("approve", REASON)
    assert action["gate"] is not None  # the gate it answered (its opening, as the lock said)
    assert action["gate"] <= action["at"]
    assert document["approval"] is None
    assert f"approved by {action['principal']}: {REASON}" in document["steps"][0]["reason"]
    assert _lock(sandbox) is None
    requested = [e for e in sandbox.events_put if e["detail-type"] == E.APPROVAL_REQUESTED]
    assert len(requested) == 1  # once per gate, not per wait
    assert "coalmine approve|reject brand-api:prod" in requested[0]["detail"]["reason"]


def test_coalmine_reject_rolls_back_naming_the_operator(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    stable = routing(alias_snapshot(sandbox))[0]
    codes: list[int] = []
    done = _deploy(
        sandbox,
        lambda: codes.append(_cli(sandbox, "reject", f"{FUNCTION}:prod", "--reason", REASON)),
    )
    assert codes == [0]
    assert done.status == "FAILED"
    assert done.error == "DeploymentRolledBack"
    assert done.cause.startswith("step 1 (10%) rejected by arn:aws:sts::")
    assert done.cause.endswith(REASON)
    assert routing(alias_snapshot(sandbox)) == (stable, {})
    assert _lock(sandbox) is None


def test_a_fail_while_waiting_rolls_back_at_once(sandbox: Sandbox) -> None:
    stable = routing(alias_snapshot(sandbox))[0]
    candidate: list[str] = []

    def break_the_candidate() -> None:
        version = routing(alias_snapshot(sandbox))[1]
        candidate.extend(version)
        moves.change_behaviour(sandbox, FUNCTION, candidate[0], {"FAULT_ERROR_RATE": "0.6"})

    done = _deploy(sandbox, break_the_candidate)
    assert candidate
    assert "AwaitApproval" in done.entered  # it was waiting
    assert done.status == "FAILED"
    assert "failed analysis" in done.cause
    assert routing(alias_snapshot(sandbox)) == (stable, {})
    document = _document(sandbox, done)
    assert document["operatorActions"] == []
    assert "no approval within" not in done.cause  # long before the gate's 1800 s


def test_approve_and_reject_refuse_when_nothing_waits(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    # no deployment at all
    assert _cli(sandbox, "approve", f"{FUNCTION}:prod", "--reason", REASON) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"coalmine: no deployment of {FUNCTION}:prod is running"
    ]
    # an unknown function, an empty reason
    assert _cli(sandbox, "approve", "no-such-function:prod", "--reason", REASON) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "coalmine: function no-such-function does not exist"
    ]
    assert _cli(sandbox, "reject", f"{FUNCTION}:prod", "--reason", " ") == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("coalmine: --reason must say why")
    # a deployment baking its first step: not at a gate yet
    candidate = publish_candidate(sandbox)
    seen: list[tuple[int, str, Any]] = []

    def during_the_bake(t_from: Any, t_to: Any) -> None:
        held = _lock(sandbox)
        if seen or held is None or routing(alias_snapshot(sandbox))[1] == {}:
            return
        code = _cli(sandbox, "reject", f"{FUNCTION}:prod", "--reason", REASON)
        seen.append((code, capsys.readouterr().err, _lock(sandbox)))
        sandbox.stop_execution(arn)

    remove = sandbox.add_listener(during_the_bake)
    arn = sandbox.start_execution(
        {"functionName": FUNCTION, "targetVersion": candidate, "strategy": GATED}
    )
    finish(sandbox, arn)
    remove()
    [(code, err, lock_after)] = seen
    assert code == deploy.EXIT_BAD_INPUT
    [line] = err.strip().splitlines()
    assert line.startswith(f"coalmine: the deployment of {FUNCTION}:prod waits for no approval")
    assert "requests" not in lock_after  # nothing written


def test_an_answer_between_two_waits_is_not_lost() -> None:
    """The approve lands as the second AwaitApproval starts: the token it wakes has timed out,
    so the new wait finds the request in the lock and ends itself at once."""
    scenario = load_scenario(REPO / "scenarios" / "approval-approved.json")
    raw = json.loads((REPO / "scenarios" / "approval-approved.json").read_text())
    raw["events"] = [{"atState": "AwaitApproval", "atEntry": 2, "action": "approve",
                      "reason": REASON}]  # fmt: skip
    scenario = load_scenario_from(raw)
    result = rehearse(scenario)
    assert result["outcome"] == "PROMOTED"
    [event] = result["events"]
    assert event["result"].startswith("approve requested by arn:aws:sts::")
    # promoted at once, not a wait (60 s) later when that wait would have timed out
    started = datetime.fromisoformat(result["timeline"]["startedAt"])
    [watch] = [s for s in result["steps"] if s["weight"] == 1.0]
    promoted = (datetime.fromisoformat(watch["startedAt"]) - started).total_seconds()
    assert promoted - event["performedAtSeconds"] < 5


def load_scenario_from(raw: dict[str, Any]) -> Any:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scenario.json"
        path.write_text(json.dumps(raw))
        return load_scenario(path)


@pytest.mark.parametrize(
    ("name", "outcome", "reason"),
    [
        ("approval-approved", "PROMOTED", None),
        ("approval-timeout", "ROLLED_BACK", "no approval within 300 s"),
        ("approval-rejected", "ROLLED_BACK", "step 1 (10%) rejected by arn:aws:sts::"),
        ("approval-low-traffic-ask", "PROMOTED", None),
    ],
)
def test_the_approval_scenarios(name: str, outcome: str, reason: str | None) -> None:
    scenario = load_scenario(REPO / "scenarios" / f"{name}.json")
    seen: dict[str, Any] = {}

    def inspect(sb: Sandbox, result: dict[str, Any]) -> None:
        seen["lock"] = _lock(sb)
        seen["routing"] = routing(alias_snapshot(sb))

    result = rehearse(scenario, inspect=inspect)
    assert result["outcome"] == outcome
    assert seen["lock"] is None
    if reason is not None:
        assert reason in result["reason"]
        assert seen["routing"] == (result["fromVersion"], {})
        [step] = [s for s in result["steps"] if s["weight"] == 0.1]
        if name == "approval-timeout":  # it held 10% for its 300 s, analysing every minute
            assert step["tickCount"] >= 5 + 2
        else:  # approveBeforePromotion: the canary's gate; the reject acted at once
            [event] = result["events"]
            assert result["reason"].endswith(event["reason"])
            assert result["decisionAtSeconds"] - event["performedAtSeconds"] < 5
    else:
        assert seen["routing"] == (result["toVersion"], {})
        [event] = result["events"]
        assert event["result"].startswith("approve requested by arn:aws:sts::")
        assert result["steps"][0]["reason"].endswith(event["reason"])
        if name == "approval-low-traffic-ask":  # the canary was never judged: a human decided
            assert result["steps"][0]["verdict"] == "INCONCLUSIVE"
            assert "a human decides (lowTrafficPolicy ask)" in result["steps"][0]["reason"]
