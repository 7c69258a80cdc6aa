"""End to end: a business metric per version (analysis.metrics) inside the deployed state
machine. brand-api's Powertools Metrics line (BrandLookup{service, FunctionVersion, Outcome})
becomes a metric in the sandbox's CloudWatch; a new version that only answers "not found" more
often (no error, no latency) is rolled back on it, side by side and after a blue/green cutover
(before/after), and one that answers like the old version is promoted."""

from __future__ import annotations

from typing import Any

import pytest
from e2e_helpers import REPO

from coalmine_sandbox.world.rehearsal import rehearse
from coalmine_sandbox.world.scenario import load_scenario

GATE = "metric:brand-not-found"
NAMES = ("regression", "healthy", "blue-green")


@pytest.fixture(scope="module")
def rehearsed() -> dict[str, dict[str, Any]]:
    out = {}
    for name in NAMES:
        scenario = load_scenario(REPO / "scenarios" / f"business-metric-{name}.json")
        out[name] = rehearse(scenario, lambda line: None)
    return out


def _ticks(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [tick for step in result["steps"] for tick in step["ticks"]]


def _gates(tick: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["gate"]: g for g in tick["gates"]}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["regression", "blue-green"])
def test_only_the_business_metric_regresses_and_it_rolls_back(
    rehearsed: dict[str, dict[str, Any]], name: str
) -> None:
    result = rehearsed[name]
    assert result["outcome"] == "ROLLED_BACK"
    assert result["reason"].count(GATE) == 1
    last = _gates(_ticks(result)[-1])
    assert last[GATE]["verdict"] == "FAIL"
    assert last["errors"]["verdict"] != "FAIL"
    assert last["latency"]["verdict"] != "FAIL"
    ev = last[GATE]["evidence"]
    assert ev["newRate"] > 2 * ev["oldRate"] > 0  # both versions' EMF reached CloudWatch
    assert result["invocations"]["3"]["errors"] == 0
    assert result["decisionAtSeconds"] < 300  # at the first tick that proves it, in the bake


@pytest.mark.slow
def test_the_watch_compares_the_business_metric_with_the_minutes_before_the_cutover(
    rehearsed: dict[str, dict[str, Any]],
) -> None:
    (watch,) = rehearsed["blue-green"]["steps"]
    assert watch["index"] == -1
    gate = _gates(watch["ticks"][-1])[GATE]
    assert gate["evidence"]["baseline"] == "before-cutover"


@pytest.mark.slow
def test_a_new_version_answering_like_the_old_one_is_promoted(
    rehearsed: dict[str, dict[str, Any]],
) -> None:
    result = rehearsed["healthy"]
    assert result["outcome"] == "PROMOTED"
    ticks = _ticks(result)
    assert all(_gates(t)[GATE]["verdict"] != "FAIL" for t in ticks)
    final = _gates(ticks[-1])[GATE]
    assert final["verdict"] == "PASS"
    assert final["evidence"]["newCount"] > 0
    assert final["evidence"]["oldCount"] > 0
