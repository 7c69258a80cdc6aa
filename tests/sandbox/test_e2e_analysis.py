"""End to end: the analysis gates inside the deployed state machine (scenarios/analysis-*.json).

Each gate rolls back a rehearsal it should, and a healthy A/A rehearsal with every gate configured
is promoted; low traffic never promotes blind; a dry run records a FAIL yet promotes. Each
scenario is rehearsed once for the module and checked by several tests.
"""

from __future__ import annotations

from typing import Any

import pytest
from e2e_helpers import REPO

from coalmine_sandbox.world.rehearsal import rehearse
from coalmine_sandbox.world.scenario import load_scenario

NAMES = [
    "errors-5x",
    "latency-3x",
    "max-error-rate",
    "latency-limit",
    "throttles",
    "alarms",
    "a-a-healthy",
    "low-traffic",
    "low-traffic-promote",
    "dry-run",
]
CANARY_BAKE_SECONDS = 300
MIN_INVOCATIONS = 100  # the default
DATA_WAIT_SECONDS = 120  # after a bake, until its last minute is in (metricsDelaySeconds)


@pytest.fixture(scope="module")
def rehearsed() -> dict[str, dict[str, Any]]:
    out = {}
    for name in NAMES:
        scenario = load_scenario(REPO / "scenarios" / f"analysis-{name}.json")
        out[name] = rehearse(scenario, lambda line: None)
    return out


def _ticks(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [tick for step in result["steps"] for tick in step["ticks"]]


def _gate(tick: dict[str, Any], name: str) -> dict[str, Any]:
    return next(g for g in tick["gates"] if g["gate"] == name)


@pytest.mark.parametrize(
    ("name", "gate"),
    [
        ("errors-5x", "errors"),
        ("latency-3x", "latency"),
        ("max-error-rate", "error-rate-limit"),
        ("latency-limit", "latency-limit"),
        ("throttles", "throttles"),
        ("alarms", "alarms"),
    ],
)
def test_each_gate_rolls_back_a_regression_during_the_bake(
    rehearsed: dict[str, dict[str, Any]], name: str, gate: str
) -> None:
    result = rehearsed[name]
    assert result["outcome"] == "ROLLED_BACK"
    assert result["reason"].startswith(f"step 1 (10%) failed analysis: {gate}: ")
    last = _ticks(result)[-1]
    assert last["action"] == "ROLLBACK"
    assert _gate(last, gate)["verdict"] == "FAIL"
    assert last["elapsedSeconds"] < CANARY_BAKE_SECONDS, "caught at a tick, not at the bake's end"
    earlier = _ticks(result)[:-1]
    assert all(t["verdict"] != "FAIL" for t in earlier), "rolled back at the first FAIL"


def test_the_comparison_gate_records_its_evidence(rehearsed: dict[str, dict[str, Any]]) -> None:
    evidence = _gate(_ticks(rehearsed["errors-5x"])[-1], "errors")["evidence"]
    assert evidence["newErrorRate"] > 3 * evidence["oldErrorRate"]
    # 1 / (1% x 9/10): the errors gate's share of the false-rollback rate beside latency's
    assert evidence["eValue"] >= evidence["rejectAt"] == pytest.approx(111.111)
    assert evidence["newInvocations"] > 0 < evidence["oldInvocations"]


def test_throttles_are_counted_for_the_version_that_was_throttled(
    rehearsed: dict[str, dict[str, Any]],
) -> None:
    # Given a reserved concurrency of 2 and a new version that holds an environment for 1.5 s
    last = _ticks(rehearsed["throttles"])[-1]
    evidence = _gate(last, "throttles")["evidence"]
    # Then the new version's requests were refused by Lambda, and counted against it
    assert evidence["newThrottles"] > evidence["maxThrottles"] == 5
    # while errors stay errors: a throttled request is not an invocation
    assert _gate(last, "errors")["evidence"]["newErrors"] == 0


def test_a_healthy_version_passes_every_gate(rehearsed: dict[str, dict[str, Any]]) -> None:
    result = rehearsed["a-a-healthy"]
    assert result["outcome"] == "PROMOTED"
    last = _ticks(result)[-1]
    gates = {g["gate"]: g["verdict"] for g in last["gates"]}
    assert gates == {
        "errors": "PASS",
        "latency": "PASS",
        "latency-limit": "PASS",
        "error-rate-limit": "PASS",
        "throttles": "PASS",
    }
    assert _gate(last, "errors")["evidence"]["newInvocations"] >= MIN_INVOCATIONS


def test_low_traffic_is_never_promoted_blind(rehearsed: dict[str, dict[str, Any]]) -> None:
    result = rehearsed["low-traffic"]
    assert result["outcome"] == "ROLLED_BACK"
    assert "not enough traffic: " in result["reason"]
    assert "invocations of the new version < minInvocations" in result["reason"]
    assert result["invocations"][result["toVersion"]]["invocations"] < MIN_INVOCATIONS
    actions = [t["action"] for t in _ticks(result)]
    # once the bake's minutes are in (420 s) the bake is extended to 480 s (180 s, the limit);
    # its minutes are in at 600 s
    assert actions[-4:] == ["EXTEND", "CONTINUE", "CONTINUE", "ROLLBACK"], "extended up to 180 s"


def test_low_traffic_with_the_promote_policy_promotes_after_the_extension(
    rehearsed: dict[str, dict[str, Any]],
) -> None:
    result = rehearsed["low-traffic-promote"]
    assert result["outcome"] == "PROMOTED"
    ticks = _ticks(result)
    assert [t["action"] for t in ticks[-4:]] == ["EXTEND", "CONTINUE", "CONTINUE", "PASS"]
    # the extended bake (480 s) and the wait for its last minute's metrics (120 s)
    assert ticks[-1]["elapsedSeconds"] == CANARY_BAKE_SECONDS + 180 + DATA_WAIT_SECONDS
    assert result["steps"][0]["verdict"] == "INCONCLUSIVE"


def test_a_dry_run_records_the_fail_and_promotes(rehearsed: dict[str, dict[str, Any]]) -> None:
    result = rehearsed["dry-run"]
    assert result["outcome"] == "PROMOTED"
    failed = [t for t in _ticks(result) if t["verdict"] == "FAIL"]
    assert failed, "the FAIL is recorded"
    assert all(t["enforced"] is False and t["action"] == "ROLLBACK" for t in failed)
    assert result["reason"].startswith("dry run: step 1 (10%) would have failed: errors: ")


@pytest.mark.parametrize("name", ["a-a-healthy", "errors-5x"])
def test_a_canary_stays_within_the_state_transition_budget(
    rehearsed: dict[str, dict[str, Any]], name: str
) -> None:
    assert rehearsed[name]["stateTransitions"] <= 40
