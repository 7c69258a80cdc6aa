"""End to end: `rehearse()` on the shipped scenarios (20 rps, Canary10Percent5Minutes, the
errors alarm). The healthy candidate is promoted, the one failing 20% of requests is rolled back,
and the result document carries every field a user reads, read back from emulated AWS.

Each scenario is rehearsed once for the module and checked by several tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import ERRORS_ALARM, REPO

from coalmine.models import AnalysisConfig
from coalmine_cli.progress import progress_lines
from coalmine_sandbox.world.rehearsal import rehearse
from coalmine_sandbox.world.scenario import Scenario, load_scenario

SCENARIOS = REPO / "scenarios"
CANARY_WEIGHT = 0.1
CANARY_BAKE_SECONDS = 300
# a step passes once its last minute's metrics are in (analysis.metricsDelaySeconds' default)
METRICS_DELAY_SECONDS = AnalysisConfig().metrics_delay_seconds


@dataclass(frozen=True)
class Rehearsed:
    scenario: Scenario
    result: dict[str, Any]
    lines: list[str]  # what it printed

    @property
    def candidate(self) -> dict[str, int]:
        return self.result["invocations"][self.result["toVersion"]]

    @property
    def baseline(self) -> dict[str, int]:
        return self.result["invocations"][self.result["fromVersion"]]


def _rehearse(path: Path) -> Rehearsed:
    scenario = load_scenario(path)
    lines: list[str] = []
    return Rehearsed(scenario, rehearse(scenario, lines.append, history=progress_lines), lines)


@pytest.fixture(scope="module")
def rehearsed() -> dict[str, Rehearsed]:
    return {
        name: _rehearse(SCENARIOS / f"{name}.json") for name in ("healthy-canary", "faulty-canary")
    }


@pytest.fixture
def healthy(rehearsed: dict[str, Rehearsed]) -> Rehearsed:
    return rehearsed["healthy-canary"]


@pytest.fixture
def faulty(rehearsed: dict[str, Rehearsed]) -> Rehearsed:
    return rehearsed["faulty-canary"]


@pytest.mark.parametrize("name", ["healthy-canary", "faulty-canary"])
def test_the_result_holds_every_documented_field(
    rehearsed: dict[str, Rehearsed], name: str
) -> None:
    result = rehearsed[name].result
    assert json.loads(json.dumps(result)) == result, "the result is plain JSON"
    assert result["status"] in {"SUCCEEDED", "FAILED"}
    assert result["outcome"] in {"PROMOTED", "ROLLED_BACK", "REJECTED"}
    assert result["outcome"] == rehearsed[name].scenario.expect.outcome  # type: ignore[union-attr]
    alias = result["alias"]
    assert isinstance(alias["functionVersion"], str)
    assert alias["functionVersion"].isdigit()
    assert isinstance(alias["additionalVersionWeights"], dict)
    assert result["reason"] is None or isinstance(result["reason"], str)
    assert isinstance(result["decisionAtSeconds"], int | float)
    assert isinstance(result["stateTransitions"], int)
    assert result["stateTransitions"] > 0
    assert isinstance(result["wallSeconds"], int | float)  # how fast: bench/, not a test
    assert isinstance(result["simulatedSeconds"], int | float)
    # invocations: per version, read back from CloudWatch, both versions served during the canary
    assert set(result["invocations"]) == {result["fromVersion"], result["toVersion"]}
    for counts in result["invocations"].values():
        assert set(counts) >= {"invocations", "errors"}
        assert counts["invocations"] > 0
        assert 0 <= counts["errors"] <= counts["invocations"]


@pytest.mark.parametrize("name", ["healthy-canary", "faulty-canary"])
def test_time_and_traffic_add_up(rehearsed: dict[str, Rehearsed], name: str) -> None:
    scenario, result = rehearsed[name].scenario, rehearsed[name].result
    decision = result["decisionAtSeconds"]
    # simulated: warm-up, then the deployment up to its decision (and a bit), then the drain,
    # then until CloudWatch has published the last request's minute (at most its 60-s delay)
    least = scenario.warmup_seconds + decision + scenario.drain_seconds
    assert least <= result["simulatedSeconds"] <= least + 30 + 60
    # every request sent (a Poisson process at rps, until the decision) was counted once
    total = sum(c["invocations"] for c in result["invocations"].values())
    expected = scenario.traffic.rps * (scenario.warmup_seconds + decision)
    assert 0.9 * expected <= total <= 1.1 * expected + 100
    # the candidate got about the canary's share while the canary ran
    on_candidate = rehearsed[name].candidate["invocations"]
    expected_candidate = scenario.traffic.rps * decision * CANARY_WEIGHT
    assert 0.6 * expected_candidate <= on_candidate <= 1.4 * expected_candidate + 20


def test_a_healthy_canary_is_promoted_with_the_alias_wholly_on_the_new_version(
    healthy: Rehearsed,
) -> None:
    result = healthy.result
    assert result["status"] == "SUCCEEDED"
    assert result["outcome"] == "PROMOTED"
    assert result["toVersion"] != result["fromVersion"]
    assert result["alias"] == {
        "name": "prod",
        "functionVersion": result["toVersion"],
        "additionalVersionWeights": {},
    }
    assert result["reason"] is None
    # decided once the 5-minute bake was over and its last minute's metrics were in, not before
    in_by = CANARY_BAKE_SECONDS + METRICS_DELAY_SECONDS
    assert in_by <= result["decisionAtSeconds"] < in_by + 60
    assert healthy.candidate["errors"] == 0
    assert healthy.baseline["errors"] == 0
    assert [(s["weight"], s["verdict"]) for s in result["steps"]] == [(CANARY_WEIGHT, "PASS")]
    assert len(result["steps"][0]["ticks"]) == in_by // 60


def test_a_canary_failing_20_percent_is_rolled_back_by_the_errors_gate(faulty: Rehearsed) -> None:
    result = faulty.result
    assert result["status"] == "FAILED"
    assert result["outcome"] == "ROLLED_BACK"
    assert result["alias"] == {
        "name": "prod",
        "functionVersion": result["fromVersion"],
        "additionalVersionWeights": {},
    }
    # by the errors comparison gate (the alarm is configured too, and recorded at every tick)
    assert "failed analysis: errors: new version's error rate" in result["reason"]
    ticks = result["steps"][0]["ticks"]
    assert all(ERRORS_ALARM in _alarms(t)["evidence"]["states"] for t in ticks)
    # at the first tick that proves it, well before the bake's end
    assert 60 <= result["decisionAtSeconds"] < CANARY_BAKE_SECONDS
    assert result["steps"][0]["verdict"] == "FAIL"
    # the candidate failed about its 20%, the baseline never
    share = faulty.candidate["errors"] / faulty.candidate["invocations"]
    assert 0.1 <= share <= 0.3
    assert faulty.baseline["errors"] == 0
    # and the run said so as it happened: the execution's own error
    assert any("DeploymentRolledBack" in line for line in faulty.lines)


def _alarms(tick: dict[str, Any]) -> dict[str, Any]:
    return next(g for g in tick["gates"] if g["gate"] == "alarms")


def test_the_rollback_costs_fewer_transitions_than_the_promotion(
    healthy: Rehearsed, faulty: Rehearsed
) -> None:
    assert faulty.result["stateTransitions"] < healthy.result["stateTransitions"]
