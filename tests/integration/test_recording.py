"""The history table and the evidence bucket against moto (adapters/history_table.py,
adapters/reports_bucket.py, coalmine/recording.py): the item written at the start and updated at
each phase change, every tick in S3 and out of the document, and a write that keeps failing
returning False, logged and counted, never raised."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from coalmine import analysis, deployment, evidence, recording, strategies
from coalmine.adapters import best_effort
from coalmine.adapters.history_table import HistoryTable
from coalmine.adapters.reports_bucket import ReportsBucket
from coalmine.lock import Lock
from coalmine.models import Action, AnalysisConfig, Deployment, GateResult, Outcome, Verdict
from coalmine.observability import metrics

TABLE, BUCKET = "coalmine-history", "coalmine-reports"
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
GATE = GateResult(gate="errors", verdict=Verdict.PASS, reason="ok", evidence={"eValue": 1.0})


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with mock_aws():
        dynamodb, s3 = boto3.client("dynamodb"), boto3.client("s3")
        dynamodb.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "deploymentKey", "AttributeType": "S"},
                {"AttributeName": "startedAt", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "deploymentKey", "KeyType": "HASH"},
                {"AttributeName": "startedAt", "KeyType": "RANGE"},
            ],
        )
        s3.create_bucket(Bucket=BUCKET)
        monkeypatch.setenv("HISTORY_TABLE_NAME", TABLE)
        monkeypatch.setenv("HISTORY_RETENTION_DAYS", "7")
        monkeypatch.setenv("REPORTS_BUCKET_NAME", BUCKET)
        monkeypatch.setattr(best_effort, "RETRY_DELAYS", (0.0, 0.0, 0.0))
        yield {"dynamodb": dynamodb, "s3": s3}


def _deployment() -> Deployment:
    plan = strategies.resolve("Canary10Percent5Minutes")
    d = deployment.prepared("d-1", "brand-api", "prod", "1", "r", plan, AnalysisConfig(), "2", None)
    return deployment.published(d.model_copy(update={"started_at": T0}), "2")


def _item(aws: dict[str, Any]) -> dict[str, Any]:
    key = {"deploymentKey": {"S": "brand-api:prod"}, "startedAt": {"S": "2030-01-01T12:00:00.000Z"}}
    return aws["dynamodb"].get_item(TableName=TABLE, Key=key)["Item"]


def test_a_deployment_is_recorded_from_its_start_to_its_end(aws: dict[str, Any]) -> None:
    d = _deployment()
    recording.started(d, {"functionName": "brand-api", "targetVersion": "2"})
    shifted = recording.after_step(d, deployment.shifted(d, "r2"))
    ticked = analysis.ticked(shifted, [GATE], 10, now=T0 + timedelta(seconds=60))
    after = recording.after_step(shifted, ticked)  # a tick: offloaded, no phase change
    # the tick is in S3, not in the document (but for the running step's latest ticks)
    keys = [o["Key"] for o in aws["s3"].list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == ["reports/brand-api/prod/d-1/step-01/tick-00000.json"]
    body = json.loads(aws["s3"].get_object(Bucket=BUCKET, Key=keys[0])["Body"].read())
    assert body["gates"][0]["evidence"] == {"eValue": 1.0}
    assert after.evidence is not None
    assert after.evidence.location == f"s3://{BUCKET}/reports/brand-api/prod/d-1/"
    assert evidence.pending(after) == []
    done = after.model_copy(update={"outcome": Outcome.PROMOTED, "action": Action.FINISH})
    recording.after_step(done, done, ended=True)
    item = _item(aws)
    assert json.loads(item["input"]["S"]) == {"functionName": "brand-api", "targetVersion": "2"}
    assert [p["M"]["phase"]["S"] for p in item["phases"]["L"]] == [
        "PREPARED",
        "STEP 1 (10%)",
        "PROMOTED",
    ]
    assert item["outcome"]["S"] == "PROMOTED"
    assert item["evidence"]["S"] == f"s3://{BUCKET}/reports/brand-api/prod/d-1/"
    assert int(item["expiresAt"]["N"]) == int((T0 + timedelta(days=7)).timestamp())
    assert "endedAt" in item


def test_failing_writes_are_retried_then_counted_never_raised(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    d = _deployment()
    table = HistoryTable(TABLE, client=aws["dynamodb"])
    bucket = ReportsBucket(BUCKET, client=aws["s3"])
    with Stubber(aws["dynamodb"]) as ddb, Stubber(aws["s3"]) as s3:
        for _ in range(4):  # every attempt throttled
            ddb.add_client_error("put_item", "ProvisionedThroughputExceededException")
            s3.add_client_error("put_object", "SlowDown", http_status_code=503)
        assert table.started(d, {}, T0) is False
        ticked = analysis.ticked(deployment.shifted(d, "r"), [GATE], 10, now=T0)
        kept = recording.offloaded(ticked, bucket)
        ddb.assert_no_pending_responses()
        s3.assert_no_pending_responses()
    assert kept.evidence is not None
    assert (kept.evidence.ticks_written, kept.evidence.ticks_lost) == (0, 1)
    metrics.flush_metrics()
    out = capsys.readouterr().out
    assert '"HistoryWriteFailed"' in out
    assert '"EvidenceWriteFailed"' in out


def test_an_error_that_is_not_aws_propagates(aws: dict[str, Any]) -> None:
    # only AWS's errors (ClientError, BotoCoreError) are retried and counted; a bug is raised
    def broken() -> None:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        best_effort.best_effort(broken, "HistoryWriteFailed", "brand-api")


class _Locks:
    """The lock table as Cleanup reads it: one lock, holding the deployment."""

    def __init__(self, held: Lock) -> None:
        self.held: Lock | None = held

    def get(self, lock_id: str) -> Lock | None:
        return self.held

    def find(self, deployment_id: str) -> Lock | None:
        return self.held

    def release(self, lock_id: str, deployment_id: str) -> bool:
        self.held = None
        return True


@pytest.mark.parametrize(
    ("status", "outcome", "phase"),
    [
        ("ABORTED", Outcome.IN_PROGRESS, "STOPPED"),
        ("TIMED_OUT", Outcome.IN_PROGRESS, "TIMED_OUT"),
        ("FAILED", Outcome.IN_PROGRESS, "FAILED"),
        ("ABORTED", Outcome.PROMOTED, "PROMOTED"),  # stopped after the promotion was made
    ],
)
def test_cleanup_records_an_end_the_state_machine_did_not(
    aws: dict[str, Any], status: str, outcome: Outcome, phase: str
) -> None:
    d = _deployment()
    recording.started(d, {})
    stopped = d.model_copy(update={"outcome": outcome})
    locks = recording.EndingLocks(
        _Locks(Lock("brand-api:prod", "d-1", "arn", 0, 1, stopped)), status
    )
    assert locks.get("brand-api:prod") is not None
    assert locks.release("brand-api:prod", "d-1")
    item = _item(aws)
    assert [p["M"]["phase"]["S"] for p in item["phases"]["L"]] == ["PREPARED", phase]
    assert "endedAt" in item
