"""End to end: the deployment document stays small however long the plan (coalmine/evidence.py),
its history is recorded (coalmine/history.py), and neither write can change an outcome.

- The longest valid plan of 10-minute steps (10 steps of 600 s, judged every 10 s, every gate
  on: alarms, the absolute limits, both lifecycle hooks) promotes a healthy brand-api, and the
  largest state input or output in its execution history (GetExecutionHistory) is <= 32 KiB;
  every tick is in the evidence store, and the rehearsal result carries them all.
- With the history table's writes and the evidence bucket's writes throttled on every attempt, a
  healthy canary is promoted exactly as without (same decision time), the failures logged and
  counted (HistoryWriteFailed, EvidenceWriteFailed).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from e2e_helpers import FUNCTION, alias_snapshot, publish_candidate, routing, run, start_traffic

from coalmine.evidence import TARGET_BYTES
from coalmine_sandbox import Sandbox
from coalmine_sandbox.world.rehearsal import rehearse
from coalmine_sandbox.world.scenario import Scenario

HOOK = "brand-api-smoke"
# 10 steps of 10 minutes (5%, then 10% ... 90%): what Prepare still accepts at 10-s ticks with
# every default (execution_limits.py: ~24,500 events in the worst case)
TEN_STEPS = [{"weight": 0.05, "bakeSeconds": 600}] + [
    {"weight": w / 10, "bakeSeconds": 600} for w in range(1, 10)
]


def _history(sb: Sandbox, arn: str) -> list[dict[str, Any]]:
    sfn, events = sb.client("stepfunctions"), []
    request: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**request)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        request["nextToken"] = page["nextToken"]


def _largest_payload(events: list[dict[str, Any]]) -> int:
    """The largest state input or output (and execution input/output) in the history, in bytes."""
    sizes = [0]
    for event in events:
        for key, details in event.items():
            if key.endswith("EventDetails") and isinstance(details, dict):
                sizes += [len(details[f].encode()) for f in ("input", "output") if details.get(f)]
    return max(sizes)


@pytest.fixture(scope="module")
def long_plan() -> dict[str, Any]:
    scenario = Scenario.model_validate(
        {
            "name": "longest plan, every gate",
            "function": FUNCTION,
            "seed": 11,
            "traffic": {"rps": 2},
            "baseline": {"errorRate": 0.0, "latencyMs": 20},
            "candidate": {"errorRate": 0.0, "latencyMs": 20},
            "warmupSeconds": 60,
            "deployment": {
                "strategy": {"type": "steps", "steps": TEN_STEPS},
                "analysis": {
                    "intervalSeconds": 10,
                    "minInvocations": 0,
                    "alarms": ["brand-api-prod-errors"],
                    "latencyLimitMs": 2000,
                    "maxErrorRate": 0.2,
                    "maxThrottles": 10,
                    "preTrafficHook": HOOK,
                    "postTrafficHook": HOOK,
                },
            },
        }
    )
    seen: dict[str, Any] = {}

    def inspect(sb: Sandbox, result: dict[str, Any]) -> None:
        seen["events"] = _history(sb, result["executionArn"])
        table = sb.stack["DeploymentHistoryTable"]
        seen["history"] = sb.client("dynamodb").scan(TableName=table)["Items"]

    result = rehearse(scenario, inspect=inspect)
    return result | seen


@pytest.mark.slow
def test_the_longest_plan_promotes_with_every_state_under_32_kib(long_plan: dict[str, Any]) -> None:
    assert long_plan["outcome"] == "PROMOTED", long_plan["reason"]
    assert [h["gate"] for h in long_plan["hooks"]] == ["pre-traffic-hook", "post-traffic-hook"]
    events = long_plan["events"]
    largest = _largest_payload(events)
    assert largest <= TARGET_BYTES, f"largest state payload {largest} bytes"
    ticks = sum(1 for e in events if e.get("stateEnteredEventDetails", {}).get("name") == "Analyze")
    assert ticks > 600  # 10 x 60 ticks of bake, plus the waits for the last minutes' metrics
    assert len(events) < 25_000


@pytest.mark.slow
def test_the_result_carries_every_tick_read_back_from_the_evidence_store(
    long_plan: dict[str, Any],
) -> None:
    evidence = long_plan["evidence"]
    assert evidence["location"].startswith("s3://")
    assert evidence["ticksLost"] == 0
    steps = long_plan["steps"]
    assert len(steps) == 10
    assert [len(s["ticks"]) for s in steps] == [s["tickCount"] for s in steps]
    assert sum(s["tickCount"] for s in steps) == evidence["ticksWritten"]
    for step in steps:  # in order, each with its gates' evidence
        assert [t["seq"] for t in step["ticks"]] == list(range(step["tickCount"]))
        gates = {g["gate"] for g in step["ticks"][-1]["gates"]}
        assert {"errors", "latency", "latency-limit", "error-rate-limit", "throttles"} <= gates
        assert step["verdict"] == "PASS"


@pytest.mark.slow
def test_the_history_item_records_the_deployment_phase_by_phase(long_plan: dict[str, Any]) -> None:
    (item,) = long_plan["history"]
    assert item["deploymentKey"]["S"] == "brand-api:prod"
    phases = [p["M"]["phase"]["S"] for p in item["phases"]["L"]]
    assert phases[0] == "PREPARED"
    assert phases[-1] == "PROMOTED"
    assert [p for p in phases if p.startswith("STEP ")][:3] == [
        "STEP 1 (5%)",
        "STEP 1 (5%) PASS",
        "STEP 2 (10%)",
    ]
    assert item["outcome"]["S"] == "PROMOTED"
    verdicts = json.loads(item["verdicts"]["S"])
    assert [v["verdict"] for v in verdicts] == ["PASS"] * 10
    assert json.loads(item["input"]["S"])["analysis"]["intervalSeconds"] == 10
    assert float(item["durationSeconds"]["N"]) > 6000


def _canary(sb: Sandbox) -> dict[str, Any]:
    candidate = publish_candidate(sb)
    _, stop = start_traffic(sb, rps=20)
    done = run(
        sb,
        {
            "functionName": FUNCTION,
            "targetVersion": candidate,
            "strategy": "Canary10Percent5Minutes",
            "analysis": {"alarms": ["brand-api-prod-errors"]},
        },
    )
    stop()
    assert done.status == "SUCCEEDED", done.cause
    assert routing(alias_snapshot(sb)) == (candidate, {})
    return done.output


def test_throttled_history_and_evidence_writes_never_change_the_outcome() -> None:
    with Sandbox(seed=7) as sb:
        clean = _canary(sb)
    with Sandbox(seed=7) as sb:
        # Given every history write of Analyze and every evidence write throttled, every attempt
        sb.faults.inject_api("UpdateItem", service="dynamodb", caller="Analyze", times=None)
        sb.faults.inject_api("PutObject", service="s3", caller="Analyze", times=None)
        throttled = _canary(sb)
        logs = sb.runtime.logs[sb.stack["AnalyzeFunction"]].text()
    # Then the canary is promoted as without the faults, at the same tick
    assert throttled["outcome"] == clean["outcome"] == "PROMOTED"
    assert throttled["steps"][0]["tickCount"] == clean["steps"][0]["tickCount"]
    assert throttled["steps"][0]["verdict"] == clean["steps"][0]["verdict"]
    # and the lost evidence is counted, in the document and as metrics
    assert clean["evidence"]["ticksLost"] == 0
    assert throttled["evidence"]["ticksLost"] == throttled["steps"][0]["tickCount"]
    assert '"EvidenceWriteFailed"' in logs
    assert '"HistoryWriteFailed"' in logs


def test_a_stopped_deployment_is_recorded_stopped_by_cleanup() -> None:
    with Sandbox(seed=7) as sb:
        # Given a canary stopped from the console in the middle of its bake
        candidate = publish_candidate(sb)
        _, stop = start_traffic(sb, rps=5)
        request = {"functionName": FUNCTION, "targetVersion": candidate}
        arn = sb.start_execution(request)
        shifted = time.monotonic() + 120  # (wall) once ShiftTraffic has weighted the canary
        while routing(alias_snapshot(sb))[1] == {} and time.monotonic() < shifted:
            time.sleep(0.02)
        began = sb.clock.now()
        while (sb.clock.now() - began).total_seconds() < 150:
            sb.clock.advance(1)
        sb.stop_execution(arn)
        sb.wait_for_execution(arn)  # and what the stop triggers: Cleanup
        stop()
        (item,) = sb.client("dynamodb").scan(TableName=sb.stack["DeploymentHistoryTable"])["Items"]
    # Then its history item says so: the state machine's last phase, then STOPPED
    phases = [p["M"]["phase"]["S"] for p in item["phases"]["L"]]
    assert phases[:2] == ["PREPARED", "STEP 1 (10%)"]
    assert phases[-1] == "STOPPED"
    assert item["phase"]["S"] == "STOPPED"
    assert "endedAt" in item
