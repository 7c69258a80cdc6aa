"""End to end: lifecycle hooks inside the deployed state machine (scenarios/hooks-*.json).

brand-api-smoke (a template.yaml function, run in-process) is invoked by ShiftTraffic / Promote
and invokes brand-api:<new version> directly. A new version it rejects before traffic is rolled
back having served no request through the alias; one it rejects after an AllAtOnce cut-over goes
back wholly to the old version; a healthy one passes both hooks within the usual transitions.
Each scenario is rehearsed once for the module.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from e2e_helpers import FUNCTION, REPO

from coalmine_cli.progress import progress_lines
from coalmine_sandbox import Sandbox
from coalmine_sandbox.world.rehearsal import rehearse
from coalmine_sandbox.world.results import lambda_sums
from coalmine_sandbox.world.scenario import Scenario, load_scenario

HOOK = "brand-api-smoke"
HEALTHY_CANARY_TRANSITIONS = 31  # Canary10Percent5Minutes promoted (7 ticks), with or without hooks
PUBLISH_DELAY_SECONDS = 120  # a minute's datapoints are visible a minute after it ends


def _direct_invocations(sb: Sandbox, version: str) -> dict[str, int]:
    """brand-api:<version> invoked by its version number (the hook), not through the alias."""
    dimensions = [
        {"Name": "FunctionName", "Value": FUNCTION},
        {"Name": "Resource", "Value": f"{FUNCTION}:{version}"},
    ]
    now = sb.clock.now()
    return lambda_sums(sb.client("cloudwatch"), dimensions, now - timedelta(hours=2), now)


def _rehearse(scenario: Scenario) -> dict[str, Any]:
    lines: list[str] = []
    extra: dict[str, Any] = {}

    def inspect(sb: Sandbox, result: dict[str, Any]) -> None:
        sb.clock.advance(PUBLISH_DELAY_SECONDS)  # the last hook's minute becomes visible
        extra["direct"] = _direct_invocations(sb, result["toVersion"])
        extra["locks"] = sb.client("dynamodb").scan(TableName=sb.stack["DeploymentLocksTable"])

    result = rehearse(scenario, lines.append, inspect, history=progress_lines)
    return result | extra | {"lines": lines}


def _scenario(name: str, **analysis: Any) -> Scenario:
    scenario = load_scenario(REPO / "scenarios" / f"hooks-{name}.json")
    scenario.deployment["analysis"] = scenario.deployment["analysis"] | analysis
    return scenario


@pytest.fixture(scope="module")
def rehearsed() -> dict[str, dict[str, Any]]:
    return {
        "healthy": _rehearse(_scenario("healthy")),
        "pre-traffic-fails": _rehearse(_scenario("pre-traffic-fails")),
        "post-traffic-fails": _rehearse(_scenario("post-traffic-fails")),
        "dry-run": _rehearse(_scenario("pre-traffic-fails", dryRun=True)),
        "missing-hook": _rehearse(_scenario("healthy", preTrafficHook="brand-nope")),
    }


def _whole_on(result: dict[str, Any]) -> str | None:
    """The version the alias routes wholly to at the end (None: it is weighted)."""
    alias = result["alias"]
    return None if alias["additionalVersionWeights"] else alias["functionVersion"]


def result_of_healthy_baseline(rehearsed: dict[str, dict[str, Any]]) -> str:
    """The baseline version every rehearsal of the module starts from (the same sample)."""
    return rehearsed["healthy"]["fromVersion"]


def _hooks(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [(h["gate"], h["verdict"]) for h in result["hooks"]]


def test_a_healthy_version_passes_both_hooks_and_is_promoted(
    rehearsed: dict[str, dict[str, Any]],
) -> None:
    result = rehearsed["healthy"]

    assert result["outcome"] == "PROMOTED"
    assert _hooks(result) == [("pre-traffic-hook", "PASS"), ("post-traffic-hook", "PASS")]
    for hook in result["hooks"]:
        assert hook["evidence"]["function"] == HOOK
        assert hook["evidence"]["enforced"] is True
        assert "SUCCEEDED" in hook["evidence"]["response"]
    # the hooks run inside ShiftTraffic and Promote: no extra state transitions
    assert result["stateTransitions"] == HEALTHY_CANARY_TRANSITIONS <= 40
    # each hook ran both checks on the new version directly (4 requests, none through the alias)
    assert result["direct"] == {"invocations": 4, "errors": 0}
    assert any("(pre-traffic hook brand-api-smoke PASS)" in line for line in result["lines"])


def test_a_version_the_pre_traffic_hook_rejects_never_serves_traffic(
    rehearsed: dict[str, dict[str, Any]],
) -> None:
    result = rehearsed["pre-traffic-fails"]
    new, old = result["toVersion"], result["fromVersion"]

    assert result["outcome"] == "ROLLED_BACK"
    assert result["reason"] == (
        f"pre-traffic hook {HOOK} failed: GET /brands/acme on {FUNCTION}:{new} raised "
        "InjectedFault: injected fault (FAULT_ERROR_RATE=1.0)"
    )
    assert _whole_on(result) == old
    # no request through the alias reached the new version; only the hook's one direct request
    assert result["invocations"][new] == {"invocations": 0, "errors": 0}
    assert result["direct"] == {"invocations": 1, "errors": 1}
    assert result["steps"] == []
    assert _hooks(result) == [("pre-traffic-hook", "FAIL")]
    assert result["locks"]["Items"] == [], "the lock is released"


def test_a_version_the_post_traffic_hook_rejects_goes_back_to_the_old_one(
    rehearsed: dict[str, dict[str, Any]],
) -> None:
    result = rehearsed["post-traffic-fails"]
    old = result["fromVersion"]

    assert result["outcome"] == "ROLLED_BACK"
    assert result["reason"].startswith(f"post-traffic hook {HOOK} failed: GET /brands/acme on ")
    assert _whole_on(result) == old
    assert _hooks(result) == [("post-traffic-hook", "FAIL")]
    assert result["locks"]["Items"] == [], "the lock is released"
    assert any(line.startswith("  [Promote] 100% -> v") for line in result["lines"])


def test_a_dry_run_records_failing_hooks_and_promotes(
    rehearsed: dict[str, dict[str, Any]],
) -> None:
    result = rehearsed["dry-run"]

    assert result["outcome"] == "PROMOTED"
    assert _hooks(result) == [("pre-traffic-hook", "FAIL"), ("post-traffic-hook", "FAIL")]
    assert [h["evidence"]["enforced"] for h in result["hooks"]] == [False, False]


def test_a_hook_that_does_not_exist_is_refused_in_prepare(
    rehearsed: dict[str, dict[str, Any]],
) -> None:
    result = rehearsed["missing-hook"]
    # refused before anything moved: Prepare checks a named hook exists and is opted in
    assert result["outcome"] == "REJECTED"
    assert result["reason"].startswith("InvalidInput: analysis.preTrafficHook: no Lambda function")
    assert result["toVersion"] is None, "nothing was published"
    assert not result["hooks"], "no hook was invoked"
    assert _whole_on(result) == result_of_healthy_baseline(rehearsed)
