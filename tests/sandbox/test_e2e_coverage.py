"""End to end: a step is judged on the data that has arrived (coalmine/arrival.py).

Through the shipped state machine with 20 rps on brand-api:prod: a canary is never promoted on
minutes CloudWatch has not published yet (a publishing delay rising to 240 s; a candidate that
starts failing near the end of its bake), a throttled metrics read does not roll a healthy canary
back, and an alarm already in ALARM before the deployment is recorded, not judged, until it
changes state.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from e2e_helpers import (
    FUNCTION,
    Finished,
    alias_snapshot,
    finish,
    publish_candidate,
    routing,
    start_traffic,
)

from coalmine_sandbox import Sandbox
from coalmine_sandbox.world.evidence_readback import steps_with_ticks

CANARY = "Canary10Percent5Minutes"


def _at(sb: Sandbox, began: datetime, seconds: float, action: Any) -> None:
    """Run ``action()`` once, ``seconds`` simulated seconds after ``began`` (a clock listener)."""
    done: list[bool] = []

    def listener(t_from: datetime, t_to: datetime) -> None:
        if not done and t_to - began >= timedelta(seconds=seconds):
            done.append(True)
            action()

    sb.add_listener(listener)


def _candidate_fails_from(sb: Sandbox, version: str, began: datetime, seconds: float,
                          rate: float) -> None:  # fmt: skip
    """Test-only: the candidate's FAULT_ERROR_RATE becomes ``rate`` from that moment on (the
    runtime reads each invocation's environment from its spec)."""
    view = sb.runtime.view
    assert view is not None
    original = view.function_spec
    since = began + timedelta(seconds=seconds)

    def function_spec(function_name: str, qualifier: str) -> Any:
        spec = original(function_name, qualifier)
        if spec.version == version and sb.clock.now() >= since:
            return replace(spec, environment={**spec.environment, "FAULT_ERROR_RATE": f"{rate}"})
        return spec

    view.function_spec = function_spec  # type: ignore[method-assign]


def _deploy(sb: Sandbox, candidate: str, before: Any = None, **analysis: Any) -> Finished:
    request = {"functionName": FUNCTION, "targetVersion": candidate, "strategy": CANARY}
    if analysis:
        request["analysis"] = analysis
    began = sb.clock.now()
    if before is not None:
        before(began)
    return finish(sb, sb.start_execution(request))


def _ticks(sb: Sandbox, done: Finished) -> list[dict[str, Any]]:
    """Every tick of the deployment: the output keeps a summary per step, the ticks themselves
    are in the evidence store (coalmine/evidence.py), read back as the rehearsal does."""
    return [t for step in steps_with_ticks(sb, done.output) for t in step["ticks"]]


def test_a_canary_is_not_promoted_on_minutes_not_published_yet(sandbox: Sandbox) -> None:
    # Given a candidate that starts failing 50% of its requests 120 s into the execution, and
    # CloudWatch's publishing delay rising from 60 s to 240 s at 60 s
    stable, _ = routing(alias_snapshot(sandbox))
    candidate = publish_candidate(sandbox)
    _, stop = start_traffic(sandbox, rps=20)

    def before(began: datetime) -> None:
        _candidate_fails_from(sandbox, candidate, began, 120, 0.5)
        _at(sandbox, began, 60, lambda: sandbox.metrics.set_publish_delay(240))

    # When it is deployed as a 10% canary
    done = _deploy(sandbox, candidate, before)
    stop()
    # Then it is rolled back, never promoted on the minutes it had not seen
    assert done.error == "DeploymentRolledBack", done.cause
    assert "Promote" not in done.entered
    assert routing(alias_snapshot(sandbox)) == (stable, {})


def test_a_candidate_failing_in_the_last_minute_of_its_bake_is_rolled_back(
    sandbox: Sandbox,
) -> None:
    # Given a candidate that starts failing 30% at minute 4 of a 5-minute canary
    stable, _ = routing(alias_snapshot(sandbox))
    candidate = publish_candidate(sandbox)
    _, stop = start_traffic(sandbox, rps=20)
    done = _deploy(
        sandbox,
        candidate,
        lambda began: _candidate_fails_from(sandbox, candidate, began, 240, 0.3),
    )
    stop()
    # Then the last minutes of the bake are judged: rolled back by the errors gate
    assert done.error == "DeploymentRolledBack", done.cause
    assert "errors" in done.cause
    assert "Promote" not in done.entered
    assert routing(alias_snapshot(sandbox)) == (stable, {})


def test_a_throttled_metrics_read_does_not_roll_a_healthy_canary_back(sandbox: Sandbox) -> None:
    # Given GetMetricData throttled for two ticks (each call and its client retries)
    candidate = publish_candidate(sandbox)
    _, stop = start_traffic(sandbox, rps=20)
    sandbox.faults.inject_api("GetMetricData", service="cloudwatch", times=6)
    done = _deploy(sandbox, candidate)
    stop()
    # Then the healthy canary is promoted, the two unread ticks recorded as inconclusive
    assert done.status == "SUCCEEDED", done.cause
    unread = [t for t in _ticks(sandbox, done) if t["gates"][0]["gate"] == "metrics-read"]
    assert [t["gates"][0]["evidence"]["consecutive"] for t in unread] == [1, 2]
    assert all(t["verdict"] == "INCONCLUSIVE" for t in unread)
    assert routing(alias_snapshot(sandbox)) == (candidate, {})


def _incident_alarm(sb: Sandbox) -> str:
    """An alarm in ALARM while its metric has no data (missing data is breaching)."""
    sb.client("cloudwatch").put_metric_alarm(
        AlarmName="brand-api-incident",
        Namespace="Brand/Incidents",
        MetricName="Open",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="breaching",
    )
    sb.clock.advance(180)
    state = sb.client("cloudwatch").describe_alarms(AlarmNames=["brand-api-incident"])
    assert state["MetricAlarms"][0]["StateValue"] == "ALARM"
    return "brand-api-incident"


def test_an_alarm_firing_before_the_deployment_is_recorded_not_judged(sandbox: Sandbox) -> None:
    # Given an incident alarm in ALARM before the deployment and a healthy candidate (its fix)
    alarm = _incident_alarm(sandbox)
    candidate = publish_candidate(sandbox)
    _, stop = start_traffic(sandbox, rps=20)
    done = _deploy(sandbox, candidate, alarms=[alarm])
    stop()
    # Then it is promoted, the alarm recorded as firing before the deployment at every tick
    assert done.status == "SUCCEEDED", done.cause
    gates = [next(g for g in t["gates"] if g["gate"] == "alarms") for t in _ticks(sandbox, done)]
    assert gates
    assert all(g["evidence"]["preexisting"] == [alarm] for g in gates)


def test_an_alarm_back_to_ok_then_firing_again_rolls_back(sandbox: Sandbox) -> None:
    # Given the incident alarm in ALARM before the deployment, whose metric reports 0 from the
    # execution's start for 150 s (OK), then nothing (missing data breaches: ALARM again)
    alarm = _incident_alarm(sandbox)
    stable, _ = routing(alias_snapshot(sandbox))
    candidate = publish_candidate(sandbox)
    _, stop = start_traffic(sandbox, rps=20)

    def before(began: datetime) -> None:
        def report(t_from: datetime, t_to: datetime) -> None:
            if t_to - began <= timedelta(seconds=150):
                sandbox.metrics.record(namespace="Brand/Incidents", metric="Open",
                                       dimensions={}, timestamp=t_to, value=0)  # fmt: skip

        sandbox.add_listener(report)

    done = _deploy(sandbox, candidate, before, alarms=[alarm])
    stop()
    # Then the alarm gates again once it changed state: rolled back naming it
    assert done.error == "DeploymentRolledBack", done.cause
    assert alarm in done.cause
    assert routing(alias_snapshot(sandbox)) == (stable, {})
