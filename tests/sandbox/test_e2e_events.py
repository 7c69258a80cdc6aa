"""End to end: coalmine's lifecycle events (and the history item) for a promoted, a rolled-back,
an aborted (the alias changed by hand) and a stopped deployment,
in order and valid against schemas/events/ (the conftest also checks every event any sandbox test
sees), the unhappy endings reaching a subscriber of AlertsTopic through DeploymentAlertsRule, the
deployment's metrics at its end in its log, and no handler warning of an empty metric set."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from e2e_helpers import (
    FUNCTION,
    alias_snapshot,
    finish,
    publish_candidate,
    routing,
    run,
    start_traffic,
)
from lifecycle_schemas import event_problems

from coalmine import lifecycle_events as E
from coalmine_sandbox import Sandbox
from coalmine_sandbox.aws.awslambda.runtime import current_function
from coalmine_sandbox.aws.sns import received, subscribe_queue

PLAN = {"type": "steps", "steps": [{"weight": 0.1, "bakeSeconds": 120}]}
ANALYSIS = {"intervalSeconds": 60}
STEPS = ("Prepare", "PublishVersion", "ShiftTraffic", "Analyze", "Promote", "Rollback",
         "ReleaseLock", "Cleanup")  # fmt: skip


@contextmanager
def _sandbox() -> Iterator[Sandbox]:
    """A Sandbox made inside the test (its log capture then sees the handlers' stdout), with a
    queue subscribed to AlertsTopic; no coalmine handler may warn of an empty metric set
    meanwhile (the samples may: brand-api's failing requests flush nothing)."""
    empty: list[str | None] = []

    def seen(message: Any, *args: Any, **kwargs: Any) -> None:
        if "No application metrics" in str(message):
            empty.append(current_function())  # the function whose invocation flushed

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = seen
        with Sandbox(seed=11) as sandbox:
            sandbox.alerts_inbox = subscribe_queue(  # type: ignore[attr-defined]
                sandbox.client("sns"), sandbox.client("sqs"), sandbox.stack["AlertsTopic"], "oncall"
            )
            yield sandbox
            steps = {sandbox.stack[f"{state}Function"] for state in STEPS}
    assert [f for f in empty if f in steps] == [], "a coalmine handler flushed no metric"


def _events(sb: Sandbox) -> list[dict[str, Any]]:
    return [e for e in sb.events_put if e["source"] == "coalmine"]


def _alerts(sb: Sandbox) -> list[dict[str, Any]]:
    """What AlertsTopic delivered: lifecycle events (alarm notifications have an AlarmName)."""
    messages = [json.loads(m["Message"]) for m in received(sb.client("sqs"), sb.alerts_inbox)]  # type: ignore[attr-defined]
    return [m for m in messages if "AlarmName" not in m]


def _history_item(sb: Sandbox) -> dict[str, Any]:
    """The one DeploymentHistory item of the sandbox's one deployment (DynamoDB JSON)."""
    (item,) = sb.client("dynamodb").scan(TableName=sb.stack["DeploymentHistoryTable"])["Items"]
    return item


def _check(events: list[dict[str, Any]], kinds: list[str], arn: str) -> None:
    assert [e["detail-type"] for e in events] == kinds
    for e in events:
        assert event_problems(e) == []
        assert e["resources"] == [arn]
        assert e["detail"]["executionArn"] == arn
        assert e["detail"]["consoleUrl"].endswith(f"#/v2/executions/details/{arn}")
    times = [e["detail"]["time"] for e in events]
    assert times == sorted(times)


def test_a_promoted_deployment() -> None:
    with _sandbox() as sb:
        candidate = publish_candidate(sb)
        _, stop = start_traffic(sb, rps=20)
        done = run(sb, {"functionName": FUNCTION, "targetVersion": candidate, "strategy": PLAN,
                        "analysis": ANALYSIS})  # fmt: skip
        stop()
        assert done.status == "SUCCEEDED", done.cause
        arn = done.description["executionArn"]
        events = _events(sb)
        _check(events, [E.STARTED, E.SHIFTED, E.SHIFTED, E.PROMOTED], arn)
        assert [(e["detail"]["step"], e["detail"]["weight"]) for e in events] == [
            (None, 0.0), (1, 0.1), (None, 1.0), (None, 1.0)
        ]  # fmt: skip
        promoted = events[-1]["detail"]
        assert promoted["toVersion"] == candidate
        assert promoted["report"].startswith(
            f"s3://{sb.stack['ReportsBucket']}/reports/{FUNCTION}/"
        )
        assert _alerts(sb) == []  # a promotion is not an alert
        item = _history_item(sb)
        assert (item["phase"]["S"], item["executionArn"]["S"]) == ("PROMOTED", arn)
        # the deployment's metrics at its end, one EMF document in ReleaseLock's log
        logs = sb.runtime.logs[sb.stack["ReleaseLockFunction"]].text()
        assert '"DeploymentPromoted":[1.0]' in logs
        assert '"DecisionTime"' in logs
        assert '"AnalysisTicks"' in logs


def test_a_rolled_back_deployment_reaches_alerts_topic() -> None:
    with _sandbox() as sb:
        candidate = publish_candidate(sb, FAULT_ERROR_RATE="0.3")
        _, stop = start_traffic(sb, rps=20)
        done = run(sb, {"functionName": FUNCTION, "targetVersion": candidate, "strategy": PLAN,
                        "analysis": ANALYSIS})  # fmt: skip
        stop()
        assert done.error == "DeploymentRolledBack"
        arn = done.description["executionArn"]
        events = _events(sb)
        _check(events, [E.STARTED, E.SHIFTED, E.ROLLED_BACK], arn)
        rolled_back = events[-1]["detail"]
        assert (rolled_back["step"], rolled_back["weight"]) == (1, 0.0)
        assert "errors" in rolled_back["reason"]
        item = _history_item(sb)
        assert (item["phase"]["S"], item["executionArn"]["S"]) == ("ROLLED_BACK", arn)
        [alert] = _alerts(sb)
        assert alert["detail-type"] == E.ROLLED_BACK
        assert alert["source"] == "coalmine"
        assert alert["detail"] == rolled_back
        assert sb.event_topics is not None
        assert sb.event_topics.undelivered == []
        assert (
            '"DeploymentRolledBack":[1.0]'
            in sb.runtime.logs[sb.stack["ReleaseLockFunction"]].text()
        )


def test_a_stopped_deployment_reaches_alerts_topic() -> None:
    with _sandbox() as sb:
        candidate = publish_candidate(sb)
        _, stop = start_traffic(sb, rps=5)
        arn = sb.start_execution({"functionName": FUNCTION, "targetVersion": candidate,
                                  "strategy": PLAN, "analysis": ANALYSIS})  # fmt: skip
        began = sb.clock.now()
        while (sb.clock.now() - began).total_seconds() < 90:
            sb.clock.advance(1)
        sb.stop_execution(arn)
        sb.wait_for_execution(arn)  # and Cleanup, which the ABORTED status change runs
        stop()
        assert routing(alias_snapshot(sb))[1] == {}
        events = _events(sb)
        _check(events, [E.STARTED, E.SHIFTED, E.STOPPED], arn)
        stopped = events[-1]["detail"]
        assert (stopped["status"], stopped["phase"]) == ("ABORTED", "STOPPED")
        assert _history_item(sb)["phase"]["S"] == "STOPPED"
        assert stopped["reason"].startswith("the execution was stopped")
        [alert] = _alerts(sb)
        assert alert["detail-type"] == E.STOPPED
        assert '"DeploymentStopped":[1.0]' in sb.runtime.logs[sb.stack["CleanupFunction"]].text()


def test_an_aborted_deployment_reaches_alerts_topic() -> None:
    with _sandbox() as sb:
        # Given a canary whose alias a human puts back on the stable version mid-bake
        stable, candidate = routing(alias_snapshot(sb))[0], publish_candidate(sb)
        _, stop = start_traffic(sb, rps=5)
        changed: list[bool] = []

        def by_hand(t_from: Any, t_to: Any) -> None:
            # (a clock listener: the Bake's Wait moves the clock itself, on the execution's
            # thread; the human acts once the canary is weighted)
            if not changed and routing(alias_snapshot(sb))[1]:
                changed.append(True)
                sb.client("lambda").update_alias(
                    FunctionName=FUNCTION, Name="prod", FunctionVersion=stable, RoutingConfig={}
                )

        remove = sb.add_listener(by_hand)
        arn = sb.start_execution({"functionName": FUNCTION, "targetVersion": candidate,
                                  "strategy": PLAN, "analysis": ANALYSIS})  # fmt: skip
        done = finish(sb, arn)
        remove()
        stop()
        assert changed
        # Then the deployment is aborted (the human's alias kept) and everyone hears of it
        assert done.error == "DeploymentAborted", done.cause
        assert routing(alias_snapshot(sb)) == (stable, {})
        events = _events(sb)
        _check(events, [E.STARTED, E.SHIFTED, E.ABORTED], arn)
        aborted = events[-1]["detail"]
        assert (aborted["fromVersion"], aborted["toVersion"]) == (stable, candidate)
        item = _history_item(sb)
        assert (item["phase"]["S"], item["executionArn"]["S"]) == ("ABORTED", arn)
        [alert] = _alerts(sb)
        assert alert["detail-type"] == E.ABORTED
        assert alert["detail"] == aborted


def test_without_the_topic_policy_statement_eventbridge_may_not_publish() -> None:
    with _sandbox() as sb:
        # Given AlertsTopic's policy without DeploymentAlertsRule's statement
        sns, topic = sb.client("sns"), sb.stack["AlertsTopic"]
        policy = json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
        policy["Statement"] = [
            s for s in policy["Statement"] if s.get("Sid") != "DeploymentAlertsRule"
        ]
        sns.set_topic_attributes(
            TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(policy)
        )
        # When a rollback's event is put, Then it never reaches the subscriber
        candidate = publish_candidate(sb, FAULT_ERROR_RATE="0.3")
        _, stop = start_traffic(sb, rps=20)
        done = run(sb, {"functionName": FUNCTION, "targetVersion": candidate, "strategy": PLAN,
                        "analysis": ANALYSIS})  # fmt: skip
        stop()
        assert done.error == "DeploymentRolledBack"
        assert _alerts(sb) == []
        assert sb.event_topics is not None
        [refused] = sb.event_topics.undelivered
        assert "the topic policy does not allow events.amazonaws.com sns:Publish" in refused.reason


def test_a_deployment_whose_rollback_fails_ends_failed_through_cleanup() -> None:
    with _sandbox() as sb:
        # Given Analyze crashing at step 1 and every UpdateAlias of Rollback throttled
        stable, candidate = routing(alias_snapshot(sb))[0], publish_candidate(sb)
        sb.faults.inject("Analyze", "crash", at_step=1, times=None)
        sb.faults.inject_api("UpdateAlias", kind="throttling", caller="Rollback", times=None)
        done = run(sb, {"functionName": FUNCTION, "targetVersion": candidate, "strategy": PLAN,
                        "analysis": {**ANALYSIS, "minInvocations": 0}})  # fmt: skip
        sb.settle()
        # Then the execution fails, Cleanup restores the alias and says so
        assert done.status == "FAILED"
        assert routing(alias_snapshot(sb)) == (stable, {})
        events = _events(sb)
        _check(events, [E.STARTED, E.SHIFTED, E.FAILED], done.description["executionArn"])
        assert events[-1]["detail"]["status"] == "FAILED"
        [alert] = _alerts(sb)
        assert alert["detail-type"] == E.FAILED
