"""End to end through the shipped state machine: a cutover (blue/green, AllAtOnce) with no
``analysis`` field is still judged. The new version is watched after the cutover against the old
version's own minutes before it (coalmine/watch.py): a broken one (50% errors, or 100 ms slower
than a ~20 ms function) is rolled back during the watch, a healthy one is promoted after it.

The alias is watched from the outside once per simulated second, and brand-api serves 10
requests per simulated second throughout, from five minutes before the deployment starts (the
old version's before-window).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from e2e_helpers import (
    FUNCTION,
    Finished,
    alias_snapshot,
    publish_candidate,
    routing,
    run,
    start_traffic,
    watch,
)

from coalmine_sandbox import Sandbox

WARMUP_SECONDS = 300
BLUE_GREEN: dict[str, Any] = {"type": "blueGreen", "bakeSeconds": 300}


@dataclass(frozen=True)
class Case:
    strategy: str | dict[str, Any]
    fault: dict[str, str]  # the candidate's fault knobs (FAULT_ERROR_RATE, FAULT_LATENCY_MS)
    outcome: str  # PROMOTED or ROLLED_BACK
    gate: str | None = None  # the gate that rolls it back


CASES = {
    "blue/green, 50% errors": Case(
        BLUE_GREEN, {"FAULT_ERROR_RATE": "0.5"}, "ROLLED_BACK", "errors"
    ),
    "AllAtOnce, 50% errors": Case(
        "AllAtOnce", {"FAULT_ERROR_RATE": "0.5"}, "ROLLED_BACK", "errors"
    ),
    "AllAtOnce, 100 ms slower": Case(
        "AllAtOnce", {"FAULT_LATENCY_MS": "100"}, "ROLLED_BACK", "latency"
    ),
    "blue/green, healthy": Case(BLUE_GREEN, {}, "PROMOTED"),
    "AllAtOnce, healthy": Case("AllAtOnce", {}, "PROMOTED"),
}


@pytest.fixture(scope="module")
def deployer() -> Iterator[Sandbox]:
    with Sandbox(seed=21) as sb:
        yield sb


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_cutover_is_judged_before_after_with_no_analysis_field(
    deployer: Sandbox, case: Case
) -> None:
    # Given brand-api:prod wholly on its stable version, serving 10 rps for five minutes
    sb = deployer
    stable, weights = routing(alias_snapshot(sb))
    assert weights == {}
    knobs = {"FAULT_ERROR_RATE": "0", "FAULT_LATENCY_MS": "0", **case.fault}  # $LATEST's merge
    candidate = publish_candidate(sb, release=f"watch-{sb.clock.now():%H%M%S}", **knobs)
    counts, stop_traffic = start_traffic(sb, rps=10)
    sb.clock.advance(WARMUP_SECONDS)
    watcher = watch(sb)

    # When the new version is deployed with the strategy and no analysis field at all
    try:
        done = run(sb, {"functionName": FUNCTION, "targetVersion": candidate,
                        "strategy": case.strategy})  # fmt: skip
    finally:
        watcher.stop()
        stop_traffic()

    # Then the alias was cut over at once, and the new version served real traffic
    assert "Promote" in done.entered
    assert watcher.seconds_wholly_on(candidate) > 0
    assert watcher.weights_on(candidate) == []
    assert counts.invocations.get(candidate, 0) > 0
    watched = [t for t in _watch_ticks(sb, done) if t["gates"]]
    assert watched, "the watch after the cutover ran no analysis"
    errors = next(g for g in watched[-1]["gates"] if g["gate"] == "errors")
    assert errors["evidence"]["baseline"] == "before-cutover"
    assert errors["evidence"]["oldInvocations"] > 0  # the old version's minutes before it
    if case.outcome == "ROLLED_BACK":
        # And a broken one is rolled back during the watch, by the comparison before/after
        assert (done.status, done.error) == ("FAILED", "DeploymentRolledBack")
        assert done.cause.startswith(f"post-promotion bake failed analysis: {case.gate}: ")
        assert "before the cutover" in done.cause
        assert watcher.seconds_wholly_on(candidate) < 300, "rolled back before the watch ended"
        assert routing(alias_snapshot(sb)) == (stable, {})
    else:
        # And a healthy one is promoted once its watch passed, every gate judged
        assert done.status == "SUCCEEDED", f"{done.error}: {done.cause}"
        post = [s for s in done.output["steps"] if s["index"] == -1]
        assert [s["verdict"] for s in post] == ["PASS"]
        assert post[0]["reason"] == "2 gate(s) passed"
        assert watcher.seconds_wholly_on(candidate) >= 300
        assert routing(alias_snapshot(sb)) == (candidate, {})


def _watch_ticks(sb: Sandbox, done: Finished) -> list[dict[str, Any]]:
    """The watch's ticks, from the last document a state returned (a rolled-back execution has
    no output)."""
    sfn = sb.client("stepfunctions")
    arn = done.description["executionArn"]
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000, reverseOrder=True)
    document = next(
        json.loads(e["stateExitedEventDetails"]["output"])
        for e in events["events"]
        if e["type"] == "TaskStateExited" and e["stateExitedEventDetails"]["name"] == "Analyze"
    )
    return [t for s in document["steps"] if s["index"] == -1 for t in s["ticks"]]
