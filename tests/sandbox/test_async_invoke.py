"""Lambda's asynchronous invocation, emulated: 202 and queued; each attempt routed by the alias's
weights at that moment; retries after 1 and 2 simulated minutes; events older than the maximum
age dropped; destination records on real (moto) SQS queues; the async metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from coalmine_sandbox import Sandbox

FUNCTION = "brand-asset-processor"
# Failed invocations flush no metric, and leave their dimension behind: Powertools warns.
pytestmark = [
    pytest.mark.filterwarnings("ignore:No application metrics to publish"),
    pytest.mark.filterwarnings("ignore:Dimension 'FunctionVersion' has already been added"),
]
GOOD = json.dumps(
    {
        "brandId": "acme",
        "name": "Acme",
        "logo": {"format": "png", "width": 64, "height": 64},
        "colors": ["#000000"],
    }
).encode()


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=3) as sandbox:
        yield sandbox


def drain(sb: Sandbox, queue: str) -> list[dict[str, Any]]:
    sqs, url, out = sb.client("sqs"), sb.stack[queue], []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return out
        for message in got:
            out.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def upload(sb: Sandbox, key: str, body: bytes) -> None:
    sb.client("s3").put_object(Bucket=sb.stack["AssetsBucket"], Key=key, Body=body)


def test_an_event_invoke_is_accepted_with_202_and_queued(sb: Sandbox) -> None:
    event = {"Records": []}
    response = sb.client("lambda").invoke(
        FunctionName=FUNCTION, Qualifier="prod", InvocationType="Event", Payload=json.dumps(event)
    )
    assert response["StatusCode"] == 202
    assert sb.async_lambda is not None
    assert sb.async_lambda.pending == 1
    sb.settle()
    [record] = drain(sb, "AssetsProcessedQueue")
    assert record["requestContext"]["condition"] == "Success"
    assert record["responsePayload"] == {"processed": []}


def test_a_failing_event_is_retried_after_one_then_two_minutes(sb: Sandbox) -> None:
    assert sb.async_lambda is not None
    before = len(sb.async_lambda.attempts)
    start = sb.clock.now()
    upload(sb, "manifests/poison-retries.json", b"not json")
    sb.settle()
    attempts = sb.async_lambda.attempts[before:]
    assert [a.attempt for a in attempts] == [1, 2, 3]
    assert all(a.error for a in attempts)
    offsets = [(a.at - start).total_seconds() for a in attempts]
    assert offsets[1] - offsets[0] == pytest.approx(60, abs=1)
    assert offsets[2] - offsets[1] == pytest.approx(120, abs=1)
    [record] = drain(sb, "AssetsDeadLetterQueue")
    assert record["version"] == "1.0"
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "InvalidAsset"
    assert record["requestPayload"]["Records"][0]["s3"]["object"]["key"].endswith("retries.json")


def test_each_attempt_runs_on_the_version_the_alias_picks_then(sb: Sandbox) -> None:
    # Given prod on a version that always fails, and a fixed version published next to it
    lam = sb.client("lambda")
    failing = sb.publish_version(FUNCTION, {"FAULT_ERROR_RATE": "1", "SAMPLE_RELEASE": "bad"})
    fixed = sb.publish_version(FUNCTION, {"FAULT_ERROR_RATE": "0", "SAMPLE_RELEASE": "fixed"})
    lam.update_alias(FunctionName=FUNCTION, Name="prod", FunctionVersion=failing)
    assert sb.async_lambda is not None
    before = len(sb.async_lambda.attempts)
    # When a good manifest fails its first attempt and the alias moves before the retry
    upload(sb, "manifests/routed.json", GOOD)
    sb.clock.advance(5)
    lam.update_alias(FunctionName=FUNCTION, Name="prod", FunctionVersion=fixed)
    sb.settle()
    # Then the retry ran on the version the alias pointed to by then, and succeeded there
    attempts = sb.async_lambda.attempts[before:]
    assert [(a.executed_version, a.error) for a in attempts] == [(failing, True), (fixed, False)]
    [record] = drain(sb, "AssetsProcessedQueue")
    assert record["requestContext"]["functionArn"].endswith(f":function:{FUNCTION}:{fixed}")
    assert record["responseContext"]["executedVersion"] == fixed
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert "functionError" not in record["responseContext"]


def test_an_event_older_than_the_maximum_age_is_dropped(sb: Sandbox) -> None:
    lam = sb.client("lambda")
    config = lam.get_function_event_invoke_config(FunctionName=FUNCTION, Qualifier="prod")
    lam.put_function_event_invoke_config(
        FunctionName=FUNCTION,
        Qualifier="prod",
        MaximumRetryAttempts=2,
        MaximumEventAgeInSeconds=90,
        DestinationConfig=config["DestinationConfig"],
    )
    try:
        upload(sb, "manifests/poison-old.json", b"[]")
        sb.settle()
    finally:
        lam.put_function_event_invoke_config(
            FunctionName=FUNCTION,
            Qualifier="prod",
            MaximumRetryAttempts=2,
            MaximumEventAgeInSeconds=config["MaximumEventAgeInSeconds"],
            DestinationConfig=config["DestinationConfig"],
        )
    # attempts at 0 s and 60 s; the third, due at 180 s, is older than 90 s
    [record] = drain(sb, "AssetsDeadLetterQueue")
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 2


def test_the_async_metrics_are_emitted(sb: Sandbox) -> None:
    sb.clock.advance(120 - sb.clock.now().timestamp() % 60)  # a fresh minute: no earlier data
    start = sb.clock.now()
    upload(sb, "manifests/metric-good.json", GOOD)
    upload(sb, "manifests/metric-bad.json", b"{}")
    sb.settle()
    sb.clock.advance(180)  # CloudWatch's publishing delay
    drain(sb, "AssetsProcessedQueue")
    drain(sb, "AssetsDeadLetterQueue")
    cloudwatch = sb.client("cloudwatch")

    def stat(metric: str, statistic: str) -> float:
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/Lambda",
            MetricName=metric,
            Dimensions=[
                {"Name": "FunctionName", "Value": FUNCTION},
                {"Name": "Resource", "Value": f"{FUNCTION}:prod"},
            ],
            StartTime=start,
            EndTime=sb.clock.now(),
            Period=60,
            Statistics=[statistic],
        )["Datapoints"]
        values = [p[statistic] for p in points]
        return max(values) if statistic == "Maximum" else sum(values)

    assert stat("AsyncEventsReceived", "Sum") == 2
    assert stat("AsyncEventsDropped", "Sum") == 1
    assert stat("AsyncEventAge", "SampleCount") == 4  # 1 + 3 attempts
    assert stat("AsyncEventAge", "Maximum") >= 180_000  # the third attempt, 3 minutes old


def test_event_invoke_configs_are_kept_per_qualifier(sb: Sandbox) -> None:
    # AWS keeps one config per function, version or alias (moto: one per function, and Get
    # answers the first one put whatever the qualifier); SAM put this one on the alias
    lam = sb.client("lambda")
    alias = lam.get_function_event_invoke_config(FunctionName=FUNCTION, Qualifier="prod")
    assert alias["FunctionArn"].endswith(f":function:{FUNCTION}:prod")
    assert (alias["MaximumRetryAttempts"], alias["MaximumEventAgeInSeconds"]) == (2, 3600)
    with pytest.raises(lam.exceptions.ResourceNotFoundException, match="EventInvokeConfig"):
        lam.get_function_event_invoke_config(FunctionName=FUNCTION)  # $LATEST has none
    lam.put_function_event_invoke_config(FunctionName=FUNCTION, MaximumRetryAttempts=0)
    try:
        # the unqualified config is $LATEST's: the alias keeps its own
        again = lam.get_function_event_invoke_config(FunctionName=f"{FUNCTION}:prod")
        assert again["MaximumRetryAttempts"] == 2
        listed = lam.list_function_event_invoke_configs(FunctionName=FUNCTION)
        assert sorted(
            c["FunctionArn"].rsplit(":", 1)[1] for c in listed["FunctionEventInvokeConfigs"]
        ) == ["$LATEST", "prod"]
        # Update changes only the fields it names
        lam.update_function_event_invoke_config(
            FunctionName=FUNCTION, Qualifier="prod", MaximumEventAgeInSeconds=1800
        )
        updated = lam.get_function_event_invoke_config(FunctionName=FUNCTION, Qualifier="prod")
        assert (updated["MaximumRetryAttempts"], updated["MaximumEventAgeInSeconds"]) == (2, 1800)
        assert updated["DestinationConfig"] == alias["DestinationConfig"]
        with pytest.raises(lam.exceptions.ResourceNotFoundException):
            lam.get_function_event_invoke_config(FunctionName=FUNCTION, Qualifier="missing")
    finally:
        lam.delete_function_event_invoke_config(FunctionName=FUNCTION)
        lam.update_function_event_invoke_config(
            FunctionName=FUNCTION, Qualifier="prod", MaximumEventAgeInSeconds=3600
        )
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_event_invoke_config(FunctionName=FUNCTION, Qualifier="$LATEST")


def test_an_alias_invocation_runs_with_the_aliass_own_config(sb: Sandbox) -> None:
    lam = sb.client("lambda")
    lam.put_function_event_invoke_config(FunctionName=FUNCTION, MaximumRetryAttempts=0)
    try:
        before = len(sb.async_lambda.attempts) if sb.async_lambda else 0
        upload(sb, "manifests/poison-config.json", b"[]")  # S3 -> the prod alias
        sb.settle()
    finally:
        lam.delete_function_event_invoke_config(FunctionName=FUNCTION)
    assert sb.async_lambda is not None
    assert len(sb.async_lambda.attempts) - before == 3  # the alias's 2 retries, not $LATEST's 0
    [record] = drain(sb, "AssetsDeadLetterQueue")
    assert record["requestContext"]["approximateInvokeCount"] == 3
