"""End to end with provisioned concurrency on brand-api:prod (the sandbox's emulation:
aws/awslambda/provisioned.py): a canary's bake starts only once the alias's environments are
allocated for the new version's share, and an allocation that FAILs rolls back naming why.

Traffic runs from a clock listener; each invocation is noted with the simulated time it started
and whether it spilled over (a cold start beyond its version's provisioned environments).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from e2e_helpers import (
    ALIAS,
    FUNCTION,
    alias_snapshot,
    finish,
    publish_candidate,
    routing,
    run,
)

from coalmine_sandbox import Sandbox
from coalmine_sandbox.world.samples import SAMPLES
from coalmine_sandbox.world.traffic import TrafficGenerator

PROVISIONED = 20  # the 10% canary gets 2 environments: enough for its 2 rps


@dataclass
class Served:
    """Every invocation of the alias: (start, executed version, spilled over)."""

    calls: list[tuple[datetime, str, bool]] = field(default_factory=list)

    def of(self, version: str, start: datetime, end: datetime) -> tuple[int, int]:
        """(invocations, spillovers) of ``version`` started in [start, end)."""
        inside = [s for t, v, s in self.calls if v == version and start <= t < end]
        return len(inside), sum(inside)


def _traffic(sb: Sandbox, rps: float) -> tuple[Served, Any]:
    sample = SAMPLES[FUNCTION]
    sample.prepare(sb)
    served = Served()

    def invoke(event: dict[str, Any]) -> None:
        started = generator.current_arrival or sb.clock.now()  # its Poisson arrival time
        result = sb.runtime.invoke_alias(FUNCTION, ALIAS, event, start=started)
        served.calls.append((started, result.executed_version, result.spillover))

    generator = TrafficGenerator(invoke, rps, random.Random(3), sample.events(sb))
    return served, sb.add_listener(generator.on_clock)


def _provision(sb: Sandbox) -> None:
    """brand-api:prod gets provisioned concurrency, allocated before anything is deployed."""
    lam = sb.client("lambda")
    lam.put_provisioned_concurrency_config(
        FunctionName=FUNCTION, Qualifier=ALIAS, ProvisionedConcurrentExecutions=PROVISIONED
    )
    sb.clock.advance(sb.runtime.provisioned.allocation_seconds + 10)  # no execution running yet
    config = lam.get_provisioned_concurrency_config(FunctionName=FUNCTION, Qualifier=ALIAS)
    assert (config["Status"], config["AllocatedProvisionedConcurrentExecutions"]) == (
        "READY",
        PROVISIONED,
    )


def _state_times(sb: Sandbox, arn: str) -> dict[tuple[str, str], datetime]:
    """(state, "entered"|"exited") -> when, for the first time each happened."""
    sfn = sb.client("stepfunctions")
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    times: dict[tuple[str, str], datetime] = {}
    for event in events:
        for kind, key in (("entered", "stateEnteredEventDetails"),
                          ("exited", "stateExitedEventDetails")):  # fmt: skip
            if key in event:
                times.setdefault((event[key]["name"], kind), event["timestamp"])
    return times


@pytest.mark.slow
def test_the_canary_bakes_only_once_its_share_is_provisioned(sandbox: Sandbox) -> None:
    # Given brand-api:prod with 10 provisioned environments, READY, and 20 rps on it
    _provision(sandbox)
    stable, _ = routing(alias_snapshot(sandbox))
    candidate = publish_candidate(sandbox, release="warm-candidate")
    served, stop = _traffic(sandbox, rps=20)

    # When a 10% canary is deployed
    arn = sandbox.start_execution({"functionName": FUNCTION, "targetVersion": candidate})
    done = finish(sandbox, arn)
    stop()

    # Then it is promoted
    assert done.status == "SUCCEEDED", f"{done.error}: {done.message}"
    assert done.output["outcome"] == "PROMOTED"
    # And ShiftTraffic held the bake back while the new version's environment was allocated
    times = _state_times(sandbox, arn)
    shifted_at, baked_from = times[("ShiftTraffic", "entered")], times[("ShiftTraffic", "exited")]
    promoted_at = times[("Promote", "entered")]
    waited = (baked_from - shifted_at).total_seconds()
    assert waited >= sandbox.runtime.provisioned.allocation_seconds
    # (during that wait the new version's 10% ran cold: the emulation's spillover is real) ...
    _, cold_while_waiting = served.of(candidate, shifted_at, baked_from)
    assert cold_while_waiting > 0
    # ... but through the whole bake that judged it, none of its requests spilled over
    baked, cold_in_bake = served.of(candidate, baked_from, promoted_at)
    assert baked > 0
    assert cold_in_bake == 0
    assert served.of(stable, baked_from, promoted_at)[1] == 0
    # And the bake is judged from the first whole minute after the allocation (its metrics are
    # per minute): the first tick comes an interval (60 s) after that minute began
    next_minute = baked_from.replace(second=0, microsecond=0) + timedelta(minutes=1)
    assert times[("Analyze", "entered")] == next_minute + timedelta(seconds=60)
    assert routing(alias_snapshot(sandbox)) == (candidate, {})


@pytest.mark.slow
def test_an_allocation_that_fails_rolls_back_naming_the_reason(sandbox: Sandbox) -> None:
    # Given brand-api:prod with provisioned concurrency, and a new version whose environments
    # cannot be initialised (its init code fails)
    _provision(sandbox)
    stable, _ = routing(alias_snapshot(sandbox))
    candidate = publish_candidate(sandbox, release="cold-candidate")
    sandbox.runtime.provisioned.fail_allocation(FUNCTION, candidate, "FUNCTION_ERROR_INIT_FAILURE")
    _, stop = _traffic(sandbox, rps=5)

    # When it is deployed as a 10% canary
    done = run(sandbox, {"functionName": FUNCTION, "targetVersion": candidate})
    stop()

    # Then it is rolled back, the cause naming the allocation's failure
    assert done.status == "FAILED"
    assert done.error == "DeploymentRolledBack"
    assert "FAILED: FUNCTION_ERROR_INIT_FAILURE" in done.cause
    assert "brand-api:prod's provisioned concurrency could not be allocated" in done.cause
    assert "Analyze" not in done.entered  # never baked on cold environments
    assert "Rollback" in done.entered
    # And the alias is wholly back on the stable version
    assert routing(alias_snapshot(sandbox)) == (stable, {})
