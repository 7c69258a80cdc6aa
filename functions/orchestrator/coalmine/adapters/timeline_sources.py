"""The AWS reads (and the one write) of a deployment's timeline (coalmine/execution_timeline.py):
DescribeExecution and GetExecutionHistory, the evidence store's ticks (S3 ListObjectsV2 and
GetObject under the document's ``evidence.location``), one GetMetricData, and ``timeline.json``
next to the ticks. Clients are passed in (the CLI's session, RecordTimeline's own); this module
imports no Powertools, so ``coalmine report`` runs with boto3 and pydantic alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from coalmine import execution_timeline as et
from coalmine import timeline
from coalmine.adapters.cloudwatch import CloudWatchApi
from coalmine.adapters.errors import error_code
from coalmine.evidence import REPORTS_PREFIX


def history_events(sfn: Any, arn: str) -> list[dict[str, Any]]:
    """Every event of the execution's history, oldest first."""
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def read_execution(sfn: Any, arn: str, now: datetime | None = None) -> et.Execution:
    """DescribeExecution and its history (NoEvidence: it holds no deployment document)."""
    description = sfn.describe_execution(executionArn=arn)
    return et.Execution(description, history_events(sfn, arn), now or datetime.now(UTC))


def stored_ticks(s3: Any, location: str) -> list[dict[str, Any]]:
    """Every tick under the document's ``evidence.location`` (none without one)."""
    bucket, prefix = et.tick_location(location)
    if not bucket:
        return []
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if et.is_tick_key(item["Key"]):
                body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                found.append(json.loads(body))
    return found


def minute_figures(cloudwatch: Any, execution: et.Execution) -> dict[datetime, Any]:
    """The execution's minutes' figures per version (one GetMetricData, its pages joined)."""
    if not execution.versions:
        return {}
    queries = et.minute_queries(execution.function, execution.alias, execution.versions)
    start, end = et.query_span(execution.minutes)
    results = CloudWatchApi(cloudwatch).get_metric_data(queries, start, end)
    return et.minute_figures(results, execution.versions, execution.minutes)


def build(
    execution: et.Execution,
    s3: Any,
    cloudwatch: Any,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> dict[str, Any]:
    """The timeline of ``execution``: its ticks read back, CloudWatch read now."""
    ticks = stored_ticks(s3, execution.evidence_location)
    read_at = clock()
    return execution.timeline(ticks, minute_figures(cloudwatch, execution), read_at)


def read_timeline(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """The stored ``timeline.json``; None when there is none (or it is not a timeline)."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error_code(error) in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
    try:
        found = json.loads(body)
    except ValueError:
        return None
    return found if isinstance(found, dict) and "minutes" in found else None


def find_timeline_key(s3: Any, bucket: str, deployment_id: str) -> str | None:
    """The key of deployment ``deployment_id``'s ``timeline.json`` when nothing else says which
    function and alias it was for (its execution gone): ``reports/<function>/<alias>/`` listed
    by prefix, then one listing per alias for ``<deploymentId>/timeline.json``."""
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=REPORTS_PREFIX, Delimiter="/"):
        for function in page.get("CommonPrefixes", []):
            for inner in paginator.paginate(
                Bucket=bucket, Prefix=function["Prefix"], Delimiter="/"
            ):
                for alias in inner.get("CommonPrefixes", []):
                    key = f"{alias['Prefix']}{deployment_id}/{et.TIMELINE_NAME}"
                    if s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("KeyCount"):
                        return key
    return None


def write_timeline(s3: Any, bucket: str, tl: dict[str, Any]) -> str:
    """``timeline.json`` next to the deployment's ticks; its key."""
    deployment_id = str(tl["executionArn"]).rsplit(":", 1)[-1]
    key = et.timeline_key(str(tl["function"]), str(tl["alias"]), deployment_id)
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(tl, separators=(",", ":")).encode(),
        ContentType="application/json",
    )
    return key


def timeline_of(
    sfn: Any,
    s3: Any,
    cloudwatch: Any,
    arn: str,
    bucket: str | None = None,
    rebuild: bool = False,
) -> dict[str, Any]:
    """``coalmine report EXECUTION_ARN``'s timeline: the stored ``timeline.json`` when it is
    complete (no CloudWatch read); else rebuilt from the execution, its ticks and CloudWatch;
    and, when the execution is gone (Step Functions keeps an ended one 90 days), the stored one
    found in ``bucket`` whatever it holds. ``bucket``: the reports bucket (default: the one the
    execution's document names). ``rebuild``: never the stored one while the execution exists."""
    deployment_id = arn.rsplit(":", 1)[-1]
    try:
        execution = read_execution(sfn, arn)
    except ClientError as error:
        if bucket is None or error_code(error) != "ExecutionDoesNotExist":
            raise
        key = find_timeline_key(s3, bucket, deployment_id)
        stored = read_timeline(s3, bucket, key) if key else None
        if stored is None:
            raise
        return stored
    where = bucket or et.tick_location(execution.evidence_location)[0]
    if where and not rebuild:
        key = et.timeline_key(execution.function, execution.alias, deployment_id)
        stored = read_timeline(s3, where, key)
        if stored is not None and timeline.is_complete(stored):
            return stored
    return build(execution, s3, cloudwatch)
