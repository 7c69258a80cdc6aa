"""Alarm actions (aws/cloudwatch/alarm_actions.py): an alarm's SNS actions get CloudWatch's
notification, delivered only when the topic's KMS key lets cloudwatch.amazonaws.com use it; and
the template's CleanupFailedAlarm reaches a subscriber of AlertsTopic (its customer-managed key)
but would not on the AWS-managed alias/aws/sns key."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import FUNCTION, alias_snapshot, publish_candidate, routing

from coalmine_sandbox import Sandbox
from coalmine_sandbox.aws.cloudformation.build import build_stack
from coalmine_sandbox.aws.cloudformation.creators import UNCONFIRMED
from coalmine_sandbox.aws.cloudwatch import statistics as st
from coalmine_sandbox.aws.cloudwatch.alarm_actions import kms_denial
from coalmine_sandbox.aws.cloudwatch.sqs_metrics import watched_queues
from coalmine_sandbox.aws.sns import received, subscribe_queue

ACCOUNT = "123456789012"
ALARM_ARN = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:a"
CONTEXT = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": ALARM_ARN}
ROOT = {
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}


def _cloudwatch(actions: Any, effect: str = "Allow", **condition: Any) -> dict[str, Any]:
    statement = {
        "Effect": effect,
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": actions,
        "Resource": "*",
    }
    return statement | ({"Condition": condition} if condition else {})


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [ROOT, *statements]}


BOTH = ["kms:Decrypt", "kms:GenerateDataKey*"]


@pytest.mark.parametrize(
    ("policy", "allowed"),
    [
        (_policy(_cloudwatch(BOTH)), True),
        (_policy(_cloudwatch("kms:*")), True),
        (_policy(_cloudwatch(BOTH, StringEquals={"aws:SourceAccount": ACCOUNT})), True),
        (_policy(_cloudwatch(BOTH, StringEquals={"aws:SourceAccount": "999999999999"})), False),
        (
            _policy(_cloudwatch(BOTH, ArnLike={"aws:SourceArn": "arn:aws:cloudwatch:*:*:alarm:*"})),
            True,
        ),
        (_policy(), False),  # the account's root only: a service principal is not the account
        (_policy(_cloudwatch(["kms:Decrypt"])), False),
        (_policy(_cloudwatch(["kms:Decrypt", "kms:GenerateDataKey"])), False),  # not the `*` form
        (_policy(_cloudwatch(BOTH), _cloudwatch("kms:Decrypt", effect="Deny")), False),
        (_policy({**_cloudwatch(BOTH), "Principal": {"Service": "events.amazonaws.com"}}), False),
    ],
)
def test_the_key_policy_rule(policy: dict[str, Any], allowed: bool) -> None:
    assert (kms_denial(policy, CONTEXT) is None) is allowed


# --- the delivery rule, through moto ---------------------------------------------------------


@pytest.fixture
def bare() -> Any:
    with Sandbox(seed=7, template=None) as sb:
        yield sb


def _alarm_on(sb: Sandbox, topic_arn: str) -> dict[str, Any]:
    cw = sb.client("cloudwatch")
    cw.put_metric_alarm(
        AlarmName="a",
        Namespace="Test",
        MetricName="M",
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=0.0,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
        AlarmActions=[topic_arn],
    )
    alarm: dict[str, Any] = cw.describe_alarms(AlarmNames=["a"])["MetricAlarms"][0]
    return alarm


def _topic(sb: Sandbox, name: str, key: str | None) -> tuple[str, str]:
    sns = sb.client("sns")
    attributes = {"KmsMasterKeyId": key} if key else {}
    arn = sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
    return arn, subscribe_queue(sns, sb.client("sqs"), arn, f"{name}-inbox")


def _key(sb: Sandbox, policy: dict[str, Any]) -> str:
    return str(sb.client("kms").create_key(Policy=json.dumps(policy))["KeyMetadata"]["KeyId"])


@pytest.mark.parametrize(
    ("case", "delivered"),
    [("unencrypted", True), ("aws-managed", False), ("allows", True), ("root-only", False)],
)
def test_a_notification_reaches_the_topic_only_if_cloudwatch_may_use_its_key(
    bare: Sandbox, case: str, delivered: bool
) -> None:
    # Given a topic (unencrypted, on alias/aws/sns, or on a customer key whose policy does or
    # does not allow CloudWatch) with an SQS subscriber, and an alarm notifying it
    key = {
        "unencrypted": None,
        "aws-managed": "alias/aws/sns",
        "allows": _key(
            bare, _policy(_cloudwatch(BOTH, StringEquals={"aws:SourceAccount": ACCOUNT}))
        ),
        "root-only": _key(bare, _policy()),
    }[case]
    topic, inbox = _topic(bare, case, key)
    alarm = _alarm_on(bare, topic)
    notifier = bare.alarms.notifier  # type: ignore[union-attr]
    # When the alarm goes to ALARM
    notifier.on_change(alarm, "OK", "ALARM", "Threshold Crossed", bare.clock.now())
    # Then CloudWatch's message reaches the subscriber, or is dropped and recorded
    messages = received(bare.client("sqs"), inbox)
    if delivered:
        assert [json.loads(m["Message"])["NewStateValue"] for m in messages] == ["ALARM"]
        assert messages[0]["Subject"] == 'ALARM: "a" in US East (N. Virginia)'
        assert notifier.undelivered == []
    else:
        assert messages == []
        [failed] = notifier.undelivered
        assert (failed.alarm_name, failed.action, failed.new_state) == ("a", topic, "ALARM")
        assert "cloudwatch.amazonaws.com" in failed.reason


def test_ok_actions_run_on_ok_and_disabled_actions_not(bare: Sandbox) -> None:
    topic, inbox = _topic(bare, "plain", None)
    alarm = _alarm_on(bare, topic) | {"OKActions": [topic]}
    notifier = bare.alarms.notifier  # type: ignore[union-attr]
    notifier.on_change(alarm, "ALARM", "OK", "back", bare.clock.now())
    notifier.on_change({**alarm, "ActionsEnabled": False}, "OK", "ALARM", "x", bare.clock.now())
    notifier.on_change(alarm, "OK", "INSUFFICIENT_DATA", "none", bare.clock.now())  # no actions
    states = [
        json.loads(m["Message"])["NewStateValue"] for m in received(bare.client("sqs"), inbox)
    ]
    assert states == ["OK"]


# --- end to end: the template's CleanupFailedAlarm -------------------------------------------


def _dead_letter_then_wait(sb: Sandbox) -> tuple[list[dict[str, Any]], str]:
    """Subscribe a queue to AlertsTopic, put a Cleanup failure into CleanupDeadLetterQueue (as
    Lambda's OnFailure destination does after > 40 min of retries), let 4 minutes pass."""
    sqs = sb.client("sqs")
    inbox = subscribe_queue(sb.client("sns"), sqs, sb.stack["AlertsTopic"], "operator-inbox")
    sb.clock.advance(180)  # the alarm settles on OK first (notBreaching, an empty queue)
    sqs.send_message(
        QueueUrl=sb.stack["CleanupDeadLetterQueue"],
        MessageBody=json.dumps({"requestContext": {"condition": "RetriesExhausted"}}),
    )
    sb.clock.advance(240)
    # AlertsTopic also hears coalmine's lifecycle events (DeploymentAlertsRule): alarms have
    # an AlarmName
    alarms = [m for m in received(sqs, inbox) if "AlarmName" in json.loads(m["Message"])]
    return alarms, sb.stack["CleanupFailedAlarm"]


def test_cleanup_failed_alarm_reaches_a_subscriber_of_alerts_topic(sandbox: Sandbox) -> None:
    # Given the stack as deployed: AlertsTopic on the customer-managed AlertsKey
    kms = sandbox.client("kms")
    key = sandbox.client("sns").get_topic_attributes(TopicArn=sandbox.stack["AlertsTopic"])[
        "Attributes"
    ]["KmsMasterKeyId"]
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyManager"] == "CUSTOMER"
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is True
    # When a Cleanup failure lands in its dead-letter queue
    messages, alarm_name = _dead_letter_then_wait(sandbox)
    # Then the alarm fires on AWS/SQS ApproximateNumberOfMessagesVisible and the operator is told
    alarm = sandbox.client("cloudwatch").describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM"
    alarms = [json.loads(m["Message"]) for m in messages]
    assert [(a["AlarmName"], a["OldStateValue"], a["NewStateValue"]) for a in alarms] == [
        (alarm_name, "OK", "ALARM")
    ]
    assert alarms[0]["Trigger"]["Namespace"] == "AWS/SQS"
    assert alarms[0]["Trigger"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarms[0]["NewStateReason"].startswith("Threshold Crossed")
    assert "update-alias" in alarms[0]["AlarmDescription"]
    assert sandbox.alarms.notifier.undelivered == []  # type: ignore[union-attr]


def test_on_the_aws_managed_key_the_alarm_fires_but_nobody_is_told(tmp_path: Path) -> None:
    # Given the template as it was: AlertsTopic on alias/aws/sns
    repo = Path(__file__).resolve().parents[2]
    text = (repo / "template.yaml").read_text()
    old = "      KmsMasterKeyId: !Ref AlertsKey\n"
    assert text.count(old) == 1
    patched = repo / f".template-alerts-{tmp_path.name}.yaml"  # beside it: CodeUri is relative
    patched.write_text(text.replace(old, "      KmsMasterKeyId: alias/aws/sns\n"))
    try:
        with Sandbox(seed=7, template=patched) as sb:
            # When a Cleanup failure lands in its dead-letter queue
            messages, alarm_name = _dead_letter_then_wait(sb)
            # Then the alarm is in ALARM, but its notification never reaches the topic
            alarm = sb.client("cloudwatch").describe_alarms(AlarmNames=[alarm_name])
            assert alarm["MetricAlarms"][0]["StateValue"] == "ALARM"
            assert messages == []
            [failed] = sb.alarms.notifier.undelivered  # type: ignore[union-attr]
            assert (failed.alarm_name, failed.new_state) == (alarm_name, "ALARM")
            assert "alias/aws/sns" in failed.reason
    finally:
        patched.unlink()


def test_the_dead_letter_queue_depth_is_a_metric(sandbox: Sandbox) -> None:
    # AWS/SQS ApproximateNumberOfMessagesVisible, per minute, dimension QueueName: the depth
    sqs = sandbox.client("sqs")
    url = sandbox.stack["CleanupDeadLetterQueue"]
    start = sandbox.clock.now()
    sandbox.clock.advance(120)
    sqs.send_message(QueueUrl=url, MessageBody="a")
    sqs.send_message(QueueUrl=url, MessageBody="b")
    sandbox.clock.advance(180)
    stat = st.parse_stat("Maximum")
    depth = [
        st.compute(stat, summary)
        for _, summary in sandbox.metrics.buckets(
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": url.rsplit("/", 1)[-1]},
            60,
            start,
            sandbox.clock.now(),
        )
    ]
    assert depth[:1] == [0.0]
    assert depth[-2:] == [2.0, 2.0]
    assert depth == sorted(depth)


def test_alert_email_subscribes_an_address_left_pending(bare: Sandbox) -> None:
    # Given the template stood up with AlertEmail (default: empty, no subscription)
    repo = Path(__file__).resolve().parents[2]
    stack = build_stack(
        repo / "template.yaml",
        bare.client,
        stack_name="with-email",
        region="us-east-1",
        parameters={"AlertEmail": "ops@example.com"},
    )
    # Then AlertsTopic has the e-mail subscription, recorded as unconfirmable locally
    subscriptions = bare.client("sns").list_subscriptions_by_topic(TopicArn=stack["AlertsTopic"])
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions["Subscriptions"]] == [
        ("email", "ops@example.com")
    ]
    assert ("with-email", stack["AlertsTopic"], "email", "ops@example.com") in UNCONFIRMED


def test_without_alert_email_nobody_is_subscribed(sandbox: Sandbox) -> None:
    topic = sandbox.stack["AlertsTopic"]
    assert sandbox.client("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    assert "AlertsEmailSubscription" in [s[0] for s in sandbox.stack.skipped]


@pytest.mark.slow
def test_a_cleanup_that_fails_for_good_reaches_the_operator(sandbox: Sandbox) -> None:
    # Given an operator's queue subscribed to AlertsTopic, and a 10% canary baking
    sqs = sandbox.client("sqs")
    inbox = subscribe_queue(sandbox.client("sns"), sqs, sandbox.stack["AlertsTopic"], "operator")
    candidate = publish_candidate(sandbox)
    request = {
        "functionName": FUNCTION,
        "targetVersion": candidate,
        "strategy": {"type": "steps", "steps": [{"weight": 0.1, "bakeSeconds": 21600}]},
        "analysis": {"intervalSeconds": 3600, "minInvocations": 0},
    }
    execution = sandbox.start_execution(request, name="stopped-cleanup-fails")
    deadline = time.perf_counter() + 30
    while not routing(alias_snapshot(sandbox))[1]:
        assert time.perf_counter() < deadline, "the deployment never shifted"
        time.sleep(0.005)
    # When every UpdateAlias of Cleanup is throttled and the deployment is stopped
    sandbox.faults.inject_api("UpdateAlias", service="lambda", caller="Cleanup", times=None)
    sandbox.stop_execution(execution, "stopped")
    sandbox.settle(limit_seconds=4 * 3600)
    # Then Cleanup kept trying (its 3 async attempts, each retrying within the invocation)
    assert len([f for f in sandbox.faults.fired if f["api"] == "UpdateAlias"]) > 9
    assert received(sqs, inbox) == []  # the alarm had nothing to say yet
    # And after all its attempts the event is in CleanupDeadLetterQueue, the alias still weighted
    assert routing(alias_snapshot(sandbox))[1]
    depth = sqs.get_queue_attributes(
        QueueUrl=sandbox.stack["CleanupDeadLetterQueue"],
        AttributeNames=["ApproximateNumberOfMessages"],
    )["Attributes"]["ApproximateNumberOfMessages"]
    assert depth == "1"
    # And within minutes CleanupFailedAlarm tells the operator
    sandbox.clock.advance(240)
    alarms = [json.loads(m["Message"]) for m in received(sqs, inbox)]
    assert [(a["AlarmName"], a["NewStateValue"]) for a in alarms] == [
        (sandbox.stack["CleanupFailedAlarm"], "ALARM")
    ]


def test_only_queues_an_alarm_watches_are_sampled() -> None:
    depth = {"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible"}
    alarms = [
        {**depth, "Dimensions": [{"Name": "QueueName", "Value": "dlq"}]},
        {
            "Metrics": [
                {
                    "Id": "m",
                    "MetricStat": {
                        "Metric": {**depth, "Dimensions": [{"Name": "QueueName", "Value": "other"}]}
                    },
                }
            ]
        },
        {
            **depth,
            "MetricName": "NumberOfMessagesSent",
            "Dimensions": [{"Name": "QueueName", "Value": "sent"}],
        },
        {"Namespace": "AWS/Lambda", "MetricName": "Errors", "Dimensions": []},
    ]
    assert watched_queues(alarms) == {"dlq", "other"}
