"""Pure: a deployment's timeline (coalmine/timeline.py) from what AWS recorded of its execution:
DescribeExecution and GetExecutionHistory (the document, the routing after each ShiftTraffic,
Promote and Rollback, the decision's time, a stop), the evidence store's ticks and CloudWatch's
per-minute figures. The reads are in coalmine/adapters/timeline_sources.py; the two callers are
``coalmine report EXECUTION_ARN`` (cli/coalmine_cli/main.py) and RecordTimeline
(handlers/record_timeline.py), which writes ``timeline.json`` next to the ticks as an execution
ends (docs/report.md)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from coalmine import timeline
from coalmine.execution_history import cause_message
from coalmine.metric_queries import NAMESPACE, PERIOD_SECONDS

#: The timeline's object, next to the deployment's ticks (coalmine/evidence.py's prefix).
TIMELINE_NAME = "timeline.json"

#: The figures GetMetricData reads per version: (query id suffix, metric, statistic).
FIGURES = (
    ("inv", "Invocations", "Sum"),
    ("err", "Errors", "Sum"),
    ("p50", "Duration", "p50"),
    ("p99", "Duration", "p99"),
)


class NoEvidence(Exception):
    """The execution holds no deployment evidence to draw (the message says why)."""


def timeline_key(function: str, alias: str, deployment_id: str) -> str:
    """``reports/<function>/<alias>/<deploymentId>/timeline.json`` (next to the ticks)."""
    return f"reports/{function}/{alias}/{deployment_id}/{TIMELINE_NAME}"


def last_document(
    description: Mapping[str, Any], events: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
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


def tick_location(location: str) -> tuple[str, str]:
    """``(bucket, prefix)`` of the document's ``evidence.location`` (``s3://bucket/prefix``);
    ``("", "")`` when there is none (no tick was made)."""
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    return (bucket, prefix) if bucket else ("", "")


def is_tick_key(key: str) -> bool:
    return key.endswith(".json") and "/tick-" in key


def stored_steps(
    document: Mapping[str, Any], stored_ticks: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The document's steps, each with every tick the evidence store holds (then the ticks the
    document holds that the store lacks: a write that failed)."""
    stored: dict[int, dict[Any, dict[str, Any]]] = defaultdict(dict)
    for stored_tick in stored_ticks:
        body = dict(stored_tick)
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


def minute_queries(function: str, alias: str, versions: Sequence[str]) -> list[dict[str, Any]]:
    """One GetMetricData request's queries: per version, Invocations and Errors (Sum), Duration
    p50 and p99 under ``{FunctionName, Resource=function:alias, ExecutedVersion}`` (the gates')."""
    queries = []
    for index, version in enumerate(versions):
        dimensions = [
            {"Name": "FunctionName", "Value": function},
            {"Name": "Resource", "Value": f"{function}:{alias}"},
            {"Name": "ExecutedVersion", "Value": version},
        ]
        for suffix, metric, stat in FIGURES:
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
    return queries


def query_span(minutes: Sequence[datetime]) -> tuple[datetime, datetime]:
    """GetMetricData's StartTime and EndTime for the timeline's minutes."""
    return minutes[0], minutes[-1] + timedelta(seconds=PERIOD_SECONDS)


def minute_figures(
    results: Iterable[Mapping[str, Any]], versions: Sequence[str], minutes: Sequence[datetime]
) -> dict[datetime, dict[str, dict[str, Any]]]:
    """Per minute and version, the figures of ``minute_queries``' results (a minute with no
    request is left out)."""
    values: dict[str, dict[datetime, float]] = defaultdict(dict)
    for result in results:
        for at, value in zip(result["Timestamps"], result["Values"], strict=True):
            values[result["Id"]][timeline.minute_floor(at)] = value
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


def status_outcome(description: Mapping[str, Any]) -> str | None:
    """The outcome an ended execution's status names when its output does not (``coalmine
    history``'s): a rollback, a stop, a failure with its error; None while it runs."""
    status, error = description["status"], description.get("error")
    if status == "FAILED" and error == "DeploymentRolledBack":
        return "ROLLED_BACK"
    return {"FAILED": f"FAILED ({error})", "ABORTED": "STOPPED"}.get(status)


def ended(description: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``(outcome, reason)``: the output document's, else the status's and the cause's."""
    try:
        output = json.loads(description.get("output") or "{}")
    except ValueError:
        output = {}
    output = output if isinstance(output, dict) else {}
    outcome = output.get("outcome") or status_outcome(description)
    return outcome, output.get("reason") or cause_message(description.get("cause"))


def outcome(description: Mapping[str, Any], found: str | None) -> str:
    """The outcome as a rehearsal's result names it (`coalmine history`'s, with an abort and a
    timeout named)."""
    if description.get("error") == "DeploymentAborted":
        return "ABORTED"
    if description["status"] == "TIMED_OUT":
        return "TIMED_OUT"
    return found or str(description["status"])


class Execution:
    """What DescribeExecution and GetExecutionHistory say of one deployment, for the timeline."""

    def __init__(
        self, description: Mapping[str, Any], events: Sequence[Mapping[str, Any]], now: datetime
    ) -> None:
        self.description, self.events = description, events
        self.document = last_document(description, events)
        if not self.document:
            arn = description["executionArn"]
            raise NoEvidence(f"{arn} holds no deployment document (it ended before Prepare)")
        self.started = timeline.utc(description["startDate"])
        self.ended = timeline.utc(
            description.get("stopDate") or (events[-1]["timestamp"] if events else now)
        )
        self.function = str(self.document["functionName"])
        self.alias = str(self.document.get("alias", "prod"))
        self.old, self.new = self.document.get("fromVersion"), self.document.get("toVersion")
        self.versions = [str(v) for v in (self.old, self.new) if v]
        self.minutes = timeline.window(self.started, self.ended)

    @property
    def evidence_location(self) -> str:
        return str((self.document.get("evidence") or {}).get("location") or "")

    def timeline(
        self,
        stored_ticks: Iterable[Mapping[str, Any]],
        figures: Mapping[datetime, Mapping[str, Mapping[str, Any]]],
        metrics_read_at: datetime | None,
    ) -> dict[str, Any]:
        """The timeline document, from the ticks read back and ``minute_figures``' answer read
        at ``metrics_read_at``."""
        description, events, started = self.description, self.events, self.started
        changes = timeline.routing_changes(events)
        base = {str(self.old): 1.0} if self.old else {}
        weights = {
            m: timeline.weights_at(changes, base, m + timedelta(minutes=1)) for m in self.minutes
        }
        found, reason = ended(description)
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
        steps = stored_steps(self.document, stored_ticks)
        return timeline.build(
            function=self.function,
            alias=self.alias,
            from_version=self.old,
            to_version=self.new,
            execution_arn=str(description["executionArn"]),
            started=started,
            ended=self.ended,
            minute_weights=weights,
            minute_figures=figures,
            steps=steps,
            actions=actions,
            outcome=outcome(description, found),
            reason=reason,
            decided=timeline.decision_at(events, {"steps": steps})
            or (self.ended if stopped else None),
            metrics_read_at=metrics_read_at,
        )
