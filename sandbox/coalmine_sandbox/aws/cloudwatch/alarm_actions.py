"""CloudWatch alarm actions for the sandbox: an alarm's SNS actions get CloudWatch's notification.

When an alarm changes to ALARM (resp. OK, INSUFFICIENT_DATA), each SNS topic ARN among its
AlarmActions (resp. OKActions, InsufficientDataActions) is published CloudWatch's alarm message
(JSON: AlarmName, NewStateValue, NewStateReason, StateChangeTime, Trigger, ...) through the public
SNS API, if ActionsEnabled. Other action kinds (EC2, Auto Scaling, SSM, Lambda) are not emulated.

As on AWS, CloudWatch publishes as the service principal cloudwatch.amazonaws.com, so a topic
encrypted with KMS receives the message only if the key's policy lets that principal
kms:GenerateDataKey* and kms:Decrypt ("Enable compatibility between event sources from AWS
services and encrypted topics", https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
The AWS-managed key alias/aws/sns never does (its policy admits only principals of the account,
through SNS). An undelivered notification is dropped and kept in `undelivered` with the reason
(CloudWatch's alarm history shows "Failed to execute action"). moto does not enforce topic
policies (sns:Publish), so they are not checked here.

`kms_denial` (the policy rule) is pure; `AlarmNotifier` reads the topic and key through the
public SNS and KMS APIs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

log = logging.getLogger(__name__)

CLOUDWATCH = "cloudwatch.amazonaws.com"
NEEDED = ("kms:GenerateDataKey*", "kms:Decrypt")
ACTIONS_OF = {
    "ALARM": "AlarmActions",
    "OK": "OKActions",
    "INSUFFICIENT_DATA": "InsufficientDataActions",
}
REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "EU (Ireland)",
    "eu-central-1": "EU (Frankfurt)",
}


@dataclass(frozen=True, slots=True)
class Undelivered:
    alarm_name: str
    action: str
    new_state: str
    reason: str
    timestamp: datetime


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _covers(patterns: Iterable[str], action: str) -> bool:
    """IAM action matching: case-insensitive, `*` and `?` wildcards."""
    return any(fnmatchcase(action.lower(), p.lower()) for p in patterns)


def _grants(statement: dict[str, Any], action: str) -> bool:
    """Does `action` (possibly itself with a wildcard, e.g. kms:GenerateDataKey*) fall under the
    statement's Action? A wildcard action is covered only by a pattern that covers it whole."""
    patterns = [str(a) for a in _as_list(statement.get("Action"))]
    if "*" not in action:
        return _covers(patterns, action)
    stem = action.rstrip("*").lower()
    return any(
        p.lower() in ("*", "kms:*") or (p.endswith("*") and stem.startswith(p[:-1].lower()))
        for p in patterns
    )


def _principal_is(statement: dict[str, Any], service: str) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    if "*" in _as_list(principal.get("AWS")):
        return True
    return service in _as_list(principal.get("Service"))


def _conditions_hold(statement: dict[str, Any], context: dict[str, str]) -> bool:
    """StringEquals / StringLike / ArnLike / ArnEquals on the keys the context carries; any other
    operator or key is not met (CloudWatch's request carries only these)."""
    for operator, tests in (statement.get("Condition") or {}).items():
        for key, expected in tests.items():
            actual = context.get(key)
            if actual is None:
                return False
            values = [str(v) for v in _as_list(expected)]
            if operator in ("StringEquals", "ArnEquals"):
                ok = actual in values
            elif operator in ("StringLike", "ArnLike"):
                ok = any(fnmatchcase(actual, v) for v in values)
            else:
                ok = False
            if not ok:
                return False
    return True


def kms_denial(
    policy: dict[str, Any], context: dict[str, str], service: str = CLOUDWATCH
) -> str | None:
    """None if the key policy lets `service`'s principal (CloudWatch's by default) use the key
    to publish to an encrypted topic (both kms:GenerateDataKey* and kms:Decrypt allowed, none
    denied); else why not. `context`: the request's condition keys (aws:SourceAccount,
    aws:SourceArn)."""
    return policy_denial(policy, service, NEEDED, context, "the key policy")


def policy_denial(
    policy: dict[str, Any],
    service: str,
    actions: Iterable[str],
    context: dict[str, str],
    what: str = "the policy",
) -> str | None:
    """None if the resource policy allows `service`'s principal every one of `actions` (and
    denies none) in the request `context`; else why not."""
    statements = _as_list(policy.get("Statement"))
    missing = []
    for action in actions:
        applicable = [
            s
            for s in statements
            if _principal_is(s, service) and _grants(s, action) and _conditions_hold(s, context)
        ]
        if any(s.get("Effect") == "Deny" for s in applicable):
            return f"{what} denies {service} {action}"
        if not any(s.get("Effect") == "Allow" for s in applicable):
            missing.append(action)
    if missing:
        return f"{what} does not allow {service} {' and '.join(missing)}"
    return None


def notification(
    alarm: dict[str, Any],
    old_state: str,
    new_state: str,
    reason: str,
    when: datetime,
    account_id: str,
    region: str,
) -> tuple[str, str]:
    """(Subject, Message) of CloudWatch's SNS notification for a metric alarm's state change."""
    region_name = REGION_NAMES.get(region, region)
    trigger: dict[str, Any] = {
        "Period": alarm.get("Period"),
        "EvaluationPeriods": alarm.get("EvaluationPeriods"),
        "DatapointsToAlarm": alarm.get("DatapointsToAlarm") or alarm.get("EvaluationPeriods"),
        "ComparisonOperator": alarm.get("ComparisonOperator"),
        "Threshold": alarm.get("Threshold"),
        "TreatMissingData": alarm.get("TreatMissingData") or "missing",
        "EvaluateLowSampleCountPercentile": alarm.get("EvaluateLowSampleCountPercentile") or "",
    }
    if alarm.get("Metrics"):
        trigger["Metrics"] = alarm["Metrics"]
    else:
        extended = alarm.get("ExtendedStatistic")
        trigger.update(
            {
                "MetricName": alarm.get("MetricName"),
                "Namespace": alarm.get("Namespace"),
                "StatisticType": "ExtendedStatistic" if extended else "Statistic",
                "Statistic": extended or str(alarm.get("Statistic", "")).upper(),
                "Unit": alarm.get("Unit"),
                "Dimensions": [
                    {"value": d["Value"], "name": d["Name"]} for d in alarm.get("Dimensions", [])
                ],
            }
        )
    updated = alarm.get("AlarmConfigurationUpdatedTimestamp")
    message = {
        "AlarmName": alarm["AlarmName"],
        "AlarmDescription": alarm.get("AlarmDescription"),
        "AWSAccountId": account_id,
        "AlarmConfigurationUpdatedTimestamp": _stamp(updated) if updated else None,
        "NewStateValue": new_state,
        "NewStateReason": reason,
        "StateChangeTime": _stamp(when),
        "Region": region_name,
        "AlarmArn": alarm.get("AlarmArn")
        or f"arn:aws:cloudwatch:{region}:{account_id}:alarm:{alarm['AlarmName']}",
        "OldStateValue": old_state,
        "OKActions": alarm.get("OKActions", []),
        "AlarmActions": alarm.get("AlarmActions", []),
        "InsufficientDataActions": alarm.get("InsufficientDataActions", []),
        "Trigger": trigger,
    }
    subject = f'{new_state}: "{alarm["AlarmName"]}" in {region_name}'
    return subject[:100], json.dumps(message)


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}+0000"


class AlarmNotifier:
    """Runs an alarm's SNS actions on a state change, through the public SNS and KMS APIs."""

    def __init__(self, sns_client: Any, kms_client: Any) -> None:
        self.sns = sns_client
        self.kms = kms_client
        self.undelivered: list[Undelivered] = []
        self.delivered: list[tuple[str, str]] = []  # (alarm name, topic ARN)

    def on_change(
        self, alarm: dict[str, Any], old_state: str, new_state: str, reason: str, when: datetime
    ) -> None:
        if alarm.get("ActionsEnabled") is False:
            return
        arn = alarm.get("AlarmArn") or ""
        parts = arn.split(":")
        region, account_id = (parts[3], parts[4]) if len(parts) > 4 else ("us-east-1", "")
        for action in alarm.get(ACTIONS_OF[new_state], []) or []:
            if not action.startswith("arn:aws:sns:"):
                log.debug("alarm %s: action %s is not emulated", alarm["AlarmName"], action)
                continue
            context = {"aws:SourceAccount": account_id, "aws:SourceArn": arn}
            why = self._refusal(action, context)
            if why is not None:
                log.warning(
                    "alarm %s: Failed to execute action %s: %s", alarm["AlarmName"], action, why
                )
                self.undelivered.append(
                    Undelivered(alarm["AlarmName"], action, new_state, why, when)
                )
                continue
            subject, message = notification(
                alarm, old_state, new_state, reason, when, account_id, region
            )
            self.sns.publish(TopicArn=action, Subject=subject, Message=message)
            self.delivered.append((alarm["AlarmName"], action))

    def _refusal(self, topic_arn: str, context: dict[str, str]) -> str | None:
        return topic_key_refusal(self.sns, self.kms, topic_arn, context, CLOUDWATCH)


def topic_key_refusal(
    sns: Any, kms: Any, topic_arn: str, context: dict[str, str], service: str
) -> str | None:
    """Why `service` cannot publish to the topic because of its KMS key (None: it can), read
    through the public SNS and KMS APIs."""
    try:
        attributes = sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]
    except sns.exceptions.NotFoundException:
        return "the topic does not exist"
    key = attributes.get("KmsMasterKeyId") or ""
    if not key:
        return None
    if key.startswith("alias/aws/") or ":alias/aws/" in key:
        return f"the topic's key {key} is AWS-managed: its policy does not allow {service}"
    try:
        metadata = kms.describe_key(KeyId=key)["KeyMetadata"]
    except kms.exceptions.NotFoundException:
        return f"the topic's KMS key {key} does not exist"
    if metadata.get("KeyManager") == "AWS":
        return f"the topic's key {key} is AWS-managed: its policy does not allow {service}"
    if metadata.get("KeyState") != "Enabled":
        return f"the topic's KMS key {key} is {metadata.get('KeyState')}"
    policy = kms.get_key_policy(KeyId=metadata["KeyId"], PolicyName="default")["Policy"]
    return kms_denial(json.loads(policy), context, service)
