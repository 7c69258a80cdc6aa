"""`coalmine report EXECUTION_ARN`: a deployment's timeline (coalmine/timeline.py) rebuilt from
AWS alone, read-only:

- Step Functions: DescribeExecution (function, alias, versions, outcome, reason, start and end)
  and GetExecutionHistory (the routing after each ShiftTraffic/Promote/Rollback, the decision's
  time, a stop);
- S3: every tick of the evidence store (``evidence.location`` of the deployment document:
  ``reports/<function>/<alias>/<deploymentId>/``);
- CloudWatch: per minute and version, AWS/Lambda Invocations and Errors (Sum) and Duration
  (p50, p99) under ``{FunctionName, Resource=function:alias, ExecutedVersion}``, the dimensions
  the gates read.

The timeline is rebuilt rather than written by the state machine at its end because a stopped,
timed-out or failed execution never runs its last state (and these are the deployments one most
wants to see), and because the end of a deployment should not wait on reading back thousands of
ticks and CloudWatch minutes (docs/report.md, "Where the timeline comes from")."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from coalmine import timeline
from coalmine.metric_queries import NAMESPACE, PERIOD_SECONDS
from coalmine_cli.executions import row

EXECUTION_ARN = re.compile(
    r"^arn:aws[a-z-]*:states:(?P<region>[a-z0-9-]+):\d{12}:execution:[A-Za-z0-9_.-]+:[^:\s]+$"
)


class NoEvidence(Exception):
    """The execution holds no deployment evidence to draw (the message says why)."""


def arn_region(arn: str) -> str | None:
    """The region of a well-formed execution ARN; None if ``arn`` is not one."""
    found = EXECUTION_ARN.match(arn)
    return found.group("region") if found else None


def history_events(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def last_document(description: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """The deployment document as the execution last passed it on."""
    for text in [description.get("output")] + [
        (e.get("stateExitedEventDetails") or {}).get("output")
        for e in reversed(events)
        if e["type"] == "TaskStateExited"
    ]:
        try:
            found = json.loads(text or "null")
        except ValueError:
            continue
        if isinstance(found, dict) and found.get("functionName"):
            return found
    return {}


def stored_steps(s3: Any, document: dict[str, Any]) -> list[dict[str, Any]]:
    """The document's steps, each with every tick the evidence store holds (then the ticks the
    document holds that the store lacks: a write that failed)."""
    location = (document.get("evidence") or {}).get("location") or ""
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    stored: dict[int, dict[Any, dict[str, Any]]] = defaultdict(dict)
    paginator = s3.get_paginator("list_objects_v2")
    # (no location: no tick was made, e.g. a version that failed to publish; nothing to read)
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix) if bucket else []:
        for item in page.get("Contents", []):
            if not item["Key"].endswith(".json") or "/tick-" not in item["Key"]:
                continue
            body = json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
            step = body.pop("step")
            body.pop("weight", None)
            stored[step][body.get("seq")] = body
    steps = []
    for step in document.get("steps") or []:
        ticks = dict(stored.get(step["index"], {}))
        for tick in step.get("ticks") or []:
            ticks.setdefault(tick.get("seq"), tick)
        ordered = sorted(ticks, key=lambda s: (s is None, s or 0))
        steps.append({**step, "ticks": [ticks[s] for s in ordered]})
    return steps


def minute_figures(
    cloudwatch: Any,
    function: str,
    alias: str,
    versions: list[str],
    minutes: list[datetime],
) -> dict[datetime, dict[str, dict[str, Any]]]:
    """Per minute and version: Invocations, Errors, Duration p50 and p99 (one GetMetricData)."""
    queries = []
    for index, version in enumerate(versions):
        dimensions = [
            {"Name": "FunctionName", "Value": function},
            {"Name": "Resource", "Value": f"{function}:{alias}"},
            {"Name": "ExecutedVersion", "Value": version},
        ]
        for suffix, metric, stat in (
            ("inv", "Invocations", "Sum"),
            ("err", "Errors", "Sum"),
            ("p50", "Duration", "p50"),
            ("p99", "Duration", "p99"),
        ):
            queries.append(
                {
                    "Id": f"v{index}_{suffix}",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": NAMESPACE,
                            "MetricName": metric,
                            "Dimensions": dimensions,
                        },
                        "Period": PERIOD_SECONDS,
                        "Stat": stat,
                    },
                    "ReturnData": True,
                }
            )
    values: dict[str, dict[datetime, float]] = defaultdict(dict)
    kwargs: dict[str, Any] = {
        "MetricDataQueries": queries,
        "StartTime": minutes[0],
        "EndTime": minutes[-1] + timedelta(seconds=PERIOD_SECONDS),
        "ScanBy": "TimestampAscending",
    }
    while True:
        page = cloudwatch.get_metric_data(**kwargs)
        for result in page["MetricDataResults"]:
            for at, value in zip(result["Timestamps"], result["Values"], strict=True):
                values[result["Id"]][timeline.minute_floor(at)] = value
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    found: dict[datetime, dict[str, dict[str, Any]]] = {}
    for minute in minutes:
        per_version = {}
        for index, version in enumerate(versions):
            requests = int(values[f"v{index}_inv"].get(minute, 0))
            if not requests:
                continue
            per_version[version] = timeline.figures(
                requests,
                int(values[f"v{index}_err"].get(minute, 0)),
                values[f"v{index}_p50"].get(minute),
                values[f"v{index}_p99"].get(minute),
            )
        if per_version:
            found[minute] = per_version
    return found


def outcome(description: dict[str, Any], found: str | None) -> str:
    """The outcome as a rehearsal's result names it (`coalmine history`'s, with an abort and a
    timeout named)."""
    if description.get("error") == "DeploymentAborted":
        return "ABORTED"
    if description["status"] == "TIMED_OUT":
        return "TIMED_OUT"
    return found or description["status"]


def execution_timeline(sfn: Any, s3: Any, cloudwatch: Any, arn: str) -> dict[str, Any]:
    """The timeline of the deployment ``arn`` ran (NoEvidence if it holds none)."""
    description = sfn.describe_execution(executionArn=arn)
    events = history_events(sfn, arn)
    document = last_document(description, events)
    if not document:
        raise NoEvidence(f"{arn} holds no deployment document (it ended before Prepare)")
    started = timeline.utc(description["startDate"])
    ended = timeline.utc(
        description.get("stopDate") or (events[-1]["timestamp"] if events else datetime.now(UTC))
    )
    function, alias = document["functionName"], document.get("alias", "prod")
    old, new = document.get("fromVersion"), document.get("toVersion")
    changes = timeline.routing_changes(events)
    base = {str(old): 1.0} if old else {}
    minutes = timeline.window(started, ended)
    weights = {m: timeline.weights_at(changes, base, m + timedelta(minutes=1)) for m in minutes}
    versions = [v for v in (old, new) if v]
    figures = minute_figures(cloudwatch, function, alias, versions, minutes) if versions else {}
    summary = row(description)
    actions = [
        timeline.action(
            e["timestamp"],
            started,
            "stop",
            (e.get("executionAbortedEventDetails") or {}).get("cause")
            or description.get("cause")
            or "stopped",
        )
        for e in events
        if e["type"] == "ExecutionAborted"
    ]
    stopped = description["status"] == "ABORTED"
    steps = stored_steps(s3, document)
    return timeline.build(
        function=function,
        alias=alias,
        from_version=old,
        to_version=new,
        execution_arn=arn,
        started=started,
        ended=ended,
        minute_weights=weights,
        minute_figures=figures,
        steps=steps,
        actions=actions,
        outcome=outcome(description, summary.outcome),
        reason=summary.reason,
        decided=timeline.decision_at(events, {"steps": steps}) or (ended if stopped else None),
    )
