"""RecordTimeline against moto (S3, CloudWatch; Step Functions' describe and history as a stopped
canary left them): every ending writes timeline.json next to the ticks, with the ticks read back
from S3, CloudWatch's minutes, the stop and the decision; it waits for CloudWatch's last minute
first; an execution with no document gets none; a failed write raises (Lambda retries, then the
dead-letter queue) and is the only effect."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from coalmine import timeline
from coalmine.adapters import timeline_sources
from coalmine.handlers import record_timeline
from events import FakeLambdaContext, load_event

BUCKET = "coalmine-reports-123456789012"
PREFIX = "reports/brand-api/prod/deploy-brand-api-0001/"
ARN = "arn:aws:states:us-east-1:123456789012:execution:coalmine-deployment:deploy-brand-api-0001"


class _History:
    """DescribeExecution and GetExecutionHistory of one ended execution (paged by 2 events)."""

    def __init__(self, description: dict[str, Any], events: list[dict[str, Any]]) -> None:
        self.description, self.events = description, events

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        assert executionArn == ARN
        return self.description

    def get_execution_history(self, **kwargs: Any) -> dict[str, Any]:
        start = int(kwargs.get("nextToken") or 0)
        page = {"events": self.events[start : start + 2]}
        if start + 2 < len(self.events):
            page["nextToken"] = str(start + 2)
        return page


def _document(**changes: Any) -> dict[str, Any]:
    doc = load_event("analyze")
    doc.update(
        deploymentId="deploy-brand-api-0001",
        executionArn=ARN,
        fromVersion="1",
        toVersion="2",
        weight=0.1,
        evidence={"location": f"s3://{BUCKET}/{PREFIX}", "ticksWritten": 2, "ticksLost": 0},
    )
    doc.update(changes)
    return doc


def _stopped(started: datetime, document: dict[str, Any] | None) -> _History:
    stopped = started + timedelta(seconds=150)

    def exited(name: str, seconds: float, output: Any) -> dict[str, Any]:
        return {
            "type": "TaskStateExited",
            "timestamp": started + timedelta(seconds=seconds),
            "stateExitedEventDetails": {"name": name, "output": json.dumps(output)},
        }

    events = [{"type": "ExecutionStarted", "timestamp": started}]
    if document is not None:
        events += [
            exited("Prepare", 1, {**document, "weight": 0.0, "steps": []}),
            exited("ShiftTraffic", 5, document),
        ]
    events.append(
        {
            "type": "ExecutionAborted",
            "timestamp": stopped,
            "executionAbortedEventDetails": {"cause": "stopped by the operator"},
        }
    )
    return _History(
        {
            "executionArn": ARN,
            "status": "ABORTED",
            "startDate": started,
            "stopDate": stopped,
            "input": "{}",
            "cause": "stopped by the operator",
        },
        events,
    )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Any:
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        monkeypatch.setenv("REPORTS_BUCKET_NAME", BUCKET)
        slept: list[float] = []
        monkeypatch.setattr(record_timeline.time, "sleep", slept.append)
        yield s3, boto3.client("cloudwatch"), slept


def _use(monkeypatch: pytest.MonkeyPatch, history: _History) -> None:
    real = record_timeline._client
    monkeypatch.setattr(
        record_timeline,
        "_client",
        lambda service: history if service == "stepfunctions" else real(service),
    )


def _put_tick(s3: Any, seq: int, elapsed: int, verdict: str) -> None:
    body = {
        "step": 0,
        "weight": 0.1,
        "seq": seq,
        "elapsedSeconds": elapsed,
        "verdict": verdict,
        "action": "CONTINUE",
        "reason": "r",
        "gates": [
            {"gate": "errorRate", "verdict": verdict, "reason": "r", "evidence": {"seq": seq}}
        ],
    }
    s3.put_object(
        Bucket=BUCKET, Key=f"{PREFIX}step-01/tick-{seq:05d}.json", Body=json.dumps(body).encode()
    )


def test_a_stopped_canary_gets_its_timeline_next_to_its_ticks(
    aws: Any, monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    s3, cloudwatch, slept = aws
    started = timeline.minute_floor(datetime.now(UTC)) - timedelta(minutes=30)
    steps = [{"index": 0, "weight": 0.1, "bakeSeconds": 600, "ticks": []}]
    _use(monkeypatch, _stopped(started, _document(steps=steps)))
    _put_tick(s3, 1, 60, "PASS")
    _put_tick(s3, 2, 120, "INCONCLUSIVE")
    minute = started + timedelta(minutes=1)
    for version, requests, errors in (("1", 90, 1), ("2", 10, 2)):
        dims = [
            {"Name": "FunctionName", "Value": "brand-api"},
            {"Name": "Resource", "Value": "brand-api:prod"},
            {"Name": "ExecutedVersion", "Value": version},
        ]
        cloudwatch.put_metric_data(
            Namespace="AWS/Lambda",
            MetricData=[
                {
                    "MetricName": "Invocations",
                    "Dimensions": dims,
                    "Timestamp": minute,
                    "Value": requests,
                },
                {"MetricName": "Errors", "Dimensions": dims, "Timestamp": minute, "Value": errors},
            ],
        )

    out = record_timeline.handler(load_event("cleanup"), lambda_context)

    assert out["key"] == f"{PREFIX}timeline.json"
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=out["key"])["Body"].read())
    assert slept == [0.0]  # it ended half an hour ago: CloudWatch has every minute
    assert stored["metricsComplete"] is True
    assert out["metricsComplete"] is True
    assert [(t["seq"], t["verdict"]) for t in stored["ticks"]] == [(1, "PASS"), (2, "INCONCLUSIVE")]
    assert stored["decision"]["outcome"] == "STOPPED"
    assert stored["decision"]["t"] == 150.0
    assert [a["detail"] for a in stored["actions"]] == ["stopped by the operator"]
    [row] = [m for m in stored["minutes"] if m["at"] == timeline.iso(minute)]
    assert (row["versions"]["1"]["requests"], row["versions"]["1"]["errors"]) == (90, 1)
    assert (row["versions"]["2"]["requests"], row["versions"]["2"]["errors"]) == (10, 2)
    assert row["weights"] == {"1": 0.9, "2": 0.1}  # shifted 5 s into the start minute
    assert stored["minutes"][0]["weights"] == {"1": 1.0}  # before the start: the old version


@pytest.mark.parametrize(("seconds_left", "complete"), [(600, True), (120, False)])
def test_it_waits_for_cloudwatchs_last_minute_within_its_time(
    aws: Any, monkeypatch: pytest.MonkeyPatch, seconds_left: int, complete: bool
) -> None:
    s3, _, slept = aws
    started = datetime.now(UTC) - timedelta(seconds=150)  # so it stopped just now
    _use(monkeypatch, _stopped(started, _document(steps=[])))
    context = FakeLambdaContext(remaining_millis=seconds_left * 1000)
    before = datetime.now(UTC)
    out = record_timeline.handler(load_event("cleanup"), context)
    [waited] = slept
    needed = timeline.settle_wait(started + timedelta(seconds=150), before)
    assert needed >= timeline.SETTLE_SECONDS  # (the end minute ended at most 60 s ago)
    budget = seconds_left - record_timeline.MARGIN_SECONDS
    assert waited == pytest.approx(min(needed, budget), abs=1.0)
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=out["key"])["Body"].read())
    # read once the end minute had settled; or not (too little time left): said so
    assert stored["metricsComplete"] is complete
    last_minute = stored["minutes"][-1]["at"]
    assert (stored["metricsThrough"] == last_minute) is complete
    assert stored["ticks"] == []


def test_an_execution_that_ended_before_prepare_gets_no_timeline(
    aws: Any, monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    s3, _, slept = aws
    _use(monkeypatch, _stopped(datetime.now(UTC) - timedelta(hours=1), None))
    out = record_timeline.handler(load_event("cleanup"), lambda_context)
    assert out["key"] is None
    assert slept == []
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_a_write_that_fails_raises_for_lambdas_retries(
    aws: Any, monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    _use(monkeypatch, _stopped(datetime.now(UTC) - timedelta(hours=1), _document(steps=[])))
    monkeypatch.setenv("REPORTS_BUCKET_NAME", "no-such-bucket")
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="NoSuchBucket"):
        record_timeline.handler(load_event("cleanup"), lambda_context)


class _Gone:
    """Step Functions once the execution is gone (90 days after it ended)."""

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        error = {"Error": {"Code": "ExecutionDoesNotExist", "Message": "gone"}}
        raise ClientError(error, "DescribeExecution")


class _NoCloudWatch:
    def get_metric_data(self, **kwargs: Any) -> dict[str, Any]:
        raise AssertionError("CloudWatch read")


def _stored(s3: Any, **marker: Any) -> dict[str, Any]:
    tl = {"schema": timeline.SCHEMA, "function": "brand-api", "alias": "prod",
          "executionArn": ARN, "minutes": [], "ticks": [], "actions": [],
          "decision": {"outcome": "STOPPED"}, **marker}  # fmt: skip
    timeline_sources.write_timeline(s3, BUCKET, tl)
    return tl


@pytest.mark.parametrize(
    ("complete", "rebuild", "source"),
    [(True, False, "stored"), (False, False, "rebuilt"), (True, True, "rebuilt")],
)
def test_report_reads_a_complete_stored_timeline_else_rebuilds(
    aws: Any, complete: bool, rebuild: bool, source: str
) -> None:
    s3, cloudwatch, _ = aws
    stored = _stored(s3, metricsComplete=complete)
    history = _stopped(datetime.now(UTC) - timedelta(hours=1), _document(steps=[]))
    reader = _NoCloudWatch() if source == "stored" else cloudwatch
    found = timeline_sources.timeline_of(history, s3, reader, ARN, rebuild=rebuild)
    if source == "stored":
        assert found == stored
    else:
        assert found["decision"]["outcome"] == "STOPPED"
        assert found["metricsComplete"] is True  # read an hour after the end
        assert found != stored


def test_once_the_execution_is_gone_report_finds_the_stored_one_in_the_bucket(aws: Any) -> None:
    s3, _, _ = aws
    stored = _stored(s3, metricsComplete=False)  # whatever it holds: all there is
    other = "reports/brand-api/staging/deploy-brand-api-0002/timeline.json"
    s3.put_object(Bucket=BUCKET, Key=other, Body=b"{}")
    found = timeline_sources.timeline_of(_Gone(), s3, _NoCloudWatch(), ARN, bucket=BUCKET)
    assert found == stored
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="ExecutionDoesNotExist"):  # no bucket given
        timeline_sources.timeline_of(_Gone(), s3, _NoCloudWatch(), ARN)
    s3.delete_object(Bucket=BUCKET, Key=f"{PREFIX}timeline.json")
    with pytest.raises(ClientError, match="ExecutionDoesNotExist"):  # none stored
        timeline_sources.timeline_of(_Gone(), s3, _NoCloudWatch(), ARN, bucket=BUCKET)
