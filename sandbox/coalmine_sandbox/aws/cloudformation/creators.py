"""One creator per CloudFormation resource type: properties -> public API calls on moto (the
Lambda ones are in lambda_creators.py); CREATORS maps each type the sandbox stands up to its own.

Each returns `Created(ref, attrs)` (Ref value, Fn::GetAtt attributes), or None when the resource
does not matter locally (permissions, API Gateway: traffic reaches functions directly).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .lambda_creators import alias, event_invoke_config, function, layer, version
from .stack import Created, StackContext


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def role(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    p = ctx.resolve(props)
    name = p.get("RoleName") or ctx.physical_name(logical_id)
    iam = ctx.client("iam")
    arn = iam.create_role(
        RoleName=name,
        Path=p.get("Path", "/"),
        AssumeRolePolicyDocument=_json(p.get("AssumeRolePolicyDocument", {})),
    )["Role"]["Arn"]
    for policy in p.get("Policies") or []:
        iam.put_role_policy(
            RoleName=name,
            PolicyName=policy["PolicyName"],
            # moto insists on a Version that AWS defaults
            PolicyDocument=_json({"Version": "2012-10-17", **policy["PolicyDocument"]}),
        )
    return Created(name, {"Arn": arn, "RoleId": name})


def table(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    p = ctx.resolve(props)
    name = p.get("TableName") or ctx.physical_name(logical_id)
    kwargs: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": p["AttributeDefinitions"],
        "KeySchema": p["KeySchema"],
        "BillingMode": p.get("BillingMode", "PROVISIONED"),
    }
    if kwargs["BillingMode"] == "PROVISIONED":
        kwargs["ProvisionedThroughput"] = p.get(
            "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        )
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "StreamSpecification"):
        if p.get(key):
            kwargs[key] = p[key]
    dynamodb = ctx.client("dynamodb")
    description = dynamodb.create_table(**kwargs)["TableDescription"]
    if (p.get("TimeToLiveSpecification") or {}).get("Enabled"):
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification=p["TimeToLiveSpecification"]
        )
    attrs = {"Arn": description["TableArn"]}
    if description.get("LatestStreamArn"):
        attrs["StreamArn"] = description["LatestStreamArn"]
    return Created(name, attrs)


def bucket(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    p = ctx.resolve(props)
    name = p.get("BucketName") or ctx.physical_name(logical_id, 63, lower=True)
    s3 = ctx.client("s3")
    s3.create_bucket(Bucket=name)
    if p.get("VersioningConfiguration"):
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=p["VersioningConfiguration"])
    notification = p.get("NotificationConfiguration") or {}
    config: dict[str, Any] = {}
    if (notification.get("EventBridgeConfiguration") or {}).get("EventBridgeEnabled"):
        config["EventBridgeConfiguration"] = {}
    if notification.get("LambdaConfigurations"):  # S3 -> Lambda (a SAM S3 event: the alias)
        config["LambdaFunctionConfigurations"] = [
            {
                "LambdaFunctionArn": c["Function"],
                "Events": [c["Event"]],
                "Filter": {"Key": {"FilterRules": c.get("Filter", {}).get("S3Key", {})["Rules"]}},
            }
            if c.get("Filter")
            else {"LambdaFunctionArn": c["Function"], "Events": [c["Event"]]}
            for c in notification["LambdaConfigurations"]
        ]
    if config:
        s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration=config)
    arn = f"arn:aws:s3:::{name}"
    return Created(name, {"Arn": arn, "DomainName": f"{name}.s3.amazonaws.com"})


def log_group(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    p = ctx.resolve(props)
    name = p.get("LogGroupName") or ctx.physical_name(logical_id, 512)
    logs = ctx.client("logs")
    logs.create_log_group(logGroupName=name)
    if p.get("RetentionInDays"):
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(p["RetentionInDays"]))
    arn = f"arn:aws:logs:{ctx.region}:{ctx.account_id}:log-group:{name}:*"
    return Created(name, {"Arn": arn})


def state_machine(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    p = ctx.resolve(props)
    location = p.get("DefinitionS3Location")
    if location:
        definition = ctx.local_path(location["Key"]).read_text()
    else:
        definition = _json(p.get("Definition") or p["DefinitionString"])
    for key, value in (p.get("DefinitionSubstitutions") or {}).items():
        definition = definition.replace("${" + key + "}", str(value))
    name = p.get("StateMachineName") or ctx.physical_name(logical_id, 80)
    kwargs: dict[str, Any] = {
        "name": name,
        "definition": definition,
        "roleArn": p["RoleArn"],
        "type": p.get("StateMachineType", "STANDARD"),
    }
    arn = ctx.client("stepfunctions").create_state_machine(**kwargs)["stateMachineArn"]
    return Created(arn, {"Arn": arn, "Name": name})


def rule(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    p = ctx.resolve(props)
    name = p.get("Name") or ctx.physical_name(logical_id)
    events = ctx.client("events")
    kwargs: dict[str, Any] = {"Name": name, "State": p.get("State", "ENABLED")}
    for key in ("Description", "ScheduleExpression", "EventBusName", "RoleArn"):
        if p.get(key):
            kwargs[key] = p[key]
    if p.get("EventPattern"):
        kwargs["EventPattern"] = _json(p["EventPattern"])
    arn = events.put_rule(**kwargs)["RuleArn"]
    targets = p.get("Targets") or []
    if targets:
        bus = {"EventBusName": p["EventBusName"]} if p.get("EventBusName") else {}
        events.put_targets(Rule=name, Targets=targets, **bus)
    return Created(name, {"Arn": arn})


def alarm(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    p = ctx.resolve(props)
    name = p.get("AlarmName") or ctx.physical_name(logical_id, 255)
    ctx.client("cloudwatch").put_metric_alarm(**{**p, "AlarmName": name})
    arn = f"arn:aws:cloudwatch:{ctx.region}:{ctx.account_id}:alarm:{name}"
    return Created(name, {"Arn": arn})


def queue(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    p = ctx.resolve(props)
    name = p.pop("QueueName", None) or ctx.physical_name(logical_id, 80)
    attributes = {k: _json(v) if isinstance(v, dict) else str(v) for k, v in p.items()}
    sqs = ctx.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = f"arn:aws:sqs:{ctx.region}:{ctx.account_id}:{name}"
    return Created(url, {"Arn": arn, "QueueName": name, "QueueUrl": url})


def topic(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    p = ctx.resolve(props)
    name = p.get("TopicName") or ctx.physical_name(logical_id, 256)
    attributes = {
        key: str(p[key])
        for key in ("KmsMasterKeyId", "DisplayName", "FifoTopic", "ContentBasedDeduplication")
        if p.get(key) not in (None, "")
    }
    arn = ctx.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
    for subscription_props in p.get("Subscription") or []:
        _subscribe(ctx, arn, subscription_props)
    return Created(arn, {"TopicName": name, "TopicArn": arn})


# Email (and SMS, HTTP) subscriptions cannot be confirmed locally: recorded here, (stack name,
# topic ARN, protocol, endpoint), and left pending as on AWS until someone confirms.
UNCONFIRMED: list[tuple[str, str, str, str]] = []


def _subscribe(ctx: StackContext, topic_arn: str, p: dict[str, Any]) -> str:
    protocol, endpoint = p["Protocol"], p["Endpoint"]
    attributes = {
        key: _json(p[key]) if isinstance(p[key], dict) else str(p[key])
        for key in ("FilterPolicy", "RawMessageDelivery", "RedrivePolicy")
        if p.get(key) is not None
    }
    arn: str = ctx.client("sns").subscribe(
        TopicArn=topic_arn,
        Protocol=protocol,
        Endpoint=endpoint,
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    if protocol in ("email", "email-json", "sms", "http", "https"):
        UNCONFIRMED.append((ctx.stack.name, topic_arn, protocol, endpoint))
    return arn


def subscription(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    p = ctx.resolve(props)
    arn = _subscribe(ctx, p["TopicArn"], p)
    return Created(arn, {"Arn": arn})


def kms_key(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    p = ctx.resolve(props)
    kms = ctx.client("kms")
    kwargs: dict[str, Any] = {
        "KeyUsage": p.get("KeyUsage", "ENCRYPT_DECRYPT"),
        "KeySpec": p.get("KeySpec", "SYMMETRIC_DEFAULT"),
    }
    if p.get("KeyPolicy"):
        kwargs["Policy"] = _json(p["KeyPolicy"])
    if p.get("Description"):
        kwargs["Description"] = p["Description"]
    metadata = kms.create_key(**kwargs)["KeyMetadata"]
    if p.get("EnableKeyRotation"):
        kms.enable_key_rotation(KeyId=metadata["KeyId"])
    return Created(metadata["KeyId"], {"Arn": metadata["Arn"], "KeyId": metadata["KeyId"]})


def kms_alias(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    p = ctx.resolve(props)
    ctx.client("kms").create_alias(AliasName=p["AliasName"], TargetKeyId=p["TargetKeyId"])
    return Created(p["AliasName"], {})


def topic_policy(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> None:
    """The topic's Policy attribute (moto keeps it and does not enforce it; the sandbox reads it
    where AWS checks it first: EventBridge's SNS targets, aws/sns.py)."""
    p = ctx.resolve(props)
    for topic_arn in p["Topics"]:
        ctx.client("sns").set_topic_attributes(
            TopicArn=topic_arn, AttributeName="Policy", AttributeValue=_json(p["PolicyDocument"])
        )


def dashboard(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    p = ctx.resolve(props)
    name = p.get("DashboardName") or ctx.physical_name(logical_id, 255)
    ctx.client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=p["DashboardBody"])
    return Created(name, {})


def _not_needed(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> None:
    return None


CREATORS: dict[str, Callable[[StackContext, str, dict[str, Any]], Created | None]] = {
    "AWS::IAM::Role": role,
    "AWS::Lambda::LayerVersion": layer,
    "AWS::Lambda::Function": function,
    "AWS::Lambda::Version": version,
    "AWS::Lambda::Alias": alias,
    "AWS::Lambda::Permission": _not_needed,
    "AWS::Lambda::EventInvokeConfig": event_invoke_config,
    # SQS queue policies (who may send): moto does not enforce them locally.
    "AWS::SQS::QueuePolicy": _not_needed,
    "AWS::DynamoDB::Table": table,
    "AWS::S3::Bucket": bucket,
    # moto evaluates bucket policies but sees every request as insecure transport, so the
    # template's "deny aws:SecureTransport false" would refuse all access: not applied.
    "AWS::S3::BucketPolicy": _not_needed,
    "AWS::Logs::LogGroup": log_group,
    "AWS::StepFunctions::StateMachine": state_machine,
    "AWS::Events::Rule": rule,
    "AWS::CloudWatch::Alarm": alarm,
    "AWS::SQS::Queue": queue,
    "AWS::SNS::Topic": topic,
    # moto does not enforce topic policies (who may publish): kept as the topic's Policy; the
    # alarm emulation checks only the topic's KMS key policy (cloudwatch/alarm_actions.py),
    # EventBridge's SNS targets both (sns.py).
    "AWS::SNS::TopicPolicy": topic_policy,
    "AWS::CloudWatch::Dashboard": dashboard,
    "AWS::SNS::Subscription": subscription,
    "AWS::KMS::Key": kms_key,
    "AWS::KMS::Alias": kms_alias,
}
