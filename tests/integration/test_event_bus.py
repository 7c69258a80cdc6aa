"""Lifecycle events against moto (adapters/event_bus.py, coalmine/recording.py): a deployment's
events on the default bus in order and valid against schemas/events/; PutEvents' per-entry
failures (FailedEntryCount in a 200 answer) retried entry by entry, then logged and counted
``EventWriteFailed``, never raised; the end's metrics as one EMF document."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from lifecycle_schemas import problems
from moto import mock_aws

from coalmine import deployment, lifecycle_events, recording, strategies
from coalmine.adapters import best_effort
from coalmine.adapters.event_bus import EventBus
from coalmine.lock import Lock
from coalmine.models import Action, AnalysisConfig, Deployment
from coalmine.observability import metrics

ARN = "arn:aws:states:us-east-1:123456789012:execution:coalmine-deployment:d-1"
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A rule on the default bus sending coalmine's events to an SQS queue: what was put."""
    with mock_aws():
        events, sqs = boto3.client("events"), boto3.client("sqs")
        url = sqs.create_queue(QueueName="seen")["QueueUrl"]
        queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        events.put_rule(Name="all", EventPattern=json.dumps({"source": ["coalmine"]}))
        events.put_targets(
            Rule="all", Targets=[{"Id": "q", "Arn": queue["Attributes"]["QueueArn"]}]
        )
        monkeypatch.setenv("EVENT_BUS_NAME", "default")
        monkeypatch.delenv("HISTORY_TABLE_NAME", raising=False)
        monkeypatch.delenv("REPORTS_BUCKET_NAME", raising=False)
        monkeypatch.setattr(best_effort, "RETRY_DELAYS", (0.0, 0.0, 0.0))

        def seen() -> list[dict[str, Any]]:
            out = []
            while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
                "Messages", []
            ):
                for m in messages:
                    out.append(json.loads(m["Body"]))
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            return out

        yield seen


def _deployment() -> Deployment:
    plan = strategies.resolve("Canary10Percent5Minutes")
    d = deployment.prepared("d-1", "brand-api", "prod", "1", "r", plan, AnalysisConfig(), "2", None)
    return deployment.published(d.model_copy(update={"started_at": T0}), "2")


def test_a_promoted_deployments_events_in_order_and_valid(inbox: Any) -> None:
    d = recording.started(_deployment(), {}, ARN)
    shifted = recording.after_step(d, deployment.shifted(d, "r2"))
    promoting = shifted.model_copy(update={"action": Action.PROMOTE})
    promoted = recording.after_step(promoting, deployment.promoted(promoting, "r3"))
    recording.after_step(promoted, promoted, ended=True)
    events = inbox()
    assert [e["detail-type"] for e in events] == [
        lifecycle_events.STARTED,
        lifecycle_events.SHIFTED,
        lifecycle_events.SHIFTED,
        lifecycle_events.PROMOTED,
    ]
    assert [e["detail"]["weight"] for e in events] == [0.0, 0.1, 1.0, 1.0]
    for e in events:
        assert e["source"] == "coalmine"
        assert e["resources"] == [ARN]
        assert problems(e["detail-type"], e["detail"]) == []


def test_cleanup_announces_a_stop(inbox: Any) -> None:
    d = recording.started(_deployment(), {}, ARN)
    shifted = deployment.shifted(d, "r2")
    inbox()

    class Held:
        def get(self, lock_id: str) -> Lock:
            return Lock("brand-api:prod", "d-1", ARN, 0, 1, shifted)

        def find(self, deployment_id: str) -> Lock:
            return self.get("")

        def release(self, lock_id: str, deployment_id: str) -> bool:
            return True

    locks = recording.EndingLocks(Held(), "ABORTED", table=None)
    locks.get("brand-api:prod")
    locks.release("brand-api:prod", "d-1")
    [stopped] = inbox()
    assert stopped["detail-type"] == lifecycle_events.STOPPED
    assert stopped["detail"]["status"] == "ABORTED"
    assert problems(stopped["detail-type"], stopped["detail"]) == []


def _entry(n: int) -> dict[str, Any]:
    return lifecycle_events.entry(lifecycle_events.SHIFTED, {"n": n}, T0)


def test_failed_entries_alone_are_sent_again() -> None:
    client = boto3.client("events", region_name="us-east-1")
    bus = EventBus("default", client)
    with Stubber(client) as stub:
        # a 200 answer with one of two entries throttled, then the one entry sent again
        stub.add_response(
            "put_events",
            {
                "FailedEntryCount": 1,
                "Entries": [{"EventId": "a"}, {"ErrorCode": "ThrottlingException"}],
            },
            {"Entries": ANY},
        )
        stub.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "b"}]},
                          {"Entries": [{**_entry(2), "EventBusName": "default"}]})  # fmt: skip
        assert bus.put([_entry(1), _entry(2)], "brand-api") is True
        stub.assert_no_pending_responses()


def test_entries_failing_every_time_are_counted_never_raised(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(best_effort, "RETRY_DELAYS", (0.0, 0.0, 0.0))
    client = boto3.client("events", region_name="us-east-1")
    bus = EventBus("default", client)
    with Stubber(client) as stub:
        for _ in range(2):
            failed = {"ErrorCode": "InternalFailure", "ErrorMessage": "x"}
            stub.add_response("put_events", {"FailedEntryCount": 1, "Entries": [failed]})
        for _ in range(2):
            stub.add_client_error("put_events", "ThrottlingException", http_status_code=400)
        assert bus.put([_entry(1)], "brand-api") is False
        stub.assert_no_pending_responses()
    metrics.flush_metrics()
    out = capsys.readouterr().out
    assert '"EventWriteFailed"' in out
    assert "EventWriteFailed: giving up" in caplog.text


def test_the_end_emits_the_deployments_metrics(
    inbox: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    d = recording.started(_deployment(), {}, ARN)
    promoted = deployment.promoted(d, "r3")
    recording.after_step(promoted, promoted, ended=True)
    documents = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{") and '"_aws"' in line
    ]
    [emf] = [doc for doc in documents if "DeploymentPromoted" in doc]
    directive = emf["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "coalmine"
    assert [d for d in directive["Dimensions"][0] if d != "service"] == [
        "DeployedFunction",
        "Alias",
    ]
    assert {m["Name"] for m in directive["Metrics"]} >= {"DeploymentDuration", "AnalysisTicks"}
    assert emf["DeploymentPromoted"] == [1.0]
    assert emf["deploymentId"] == "d-1"
