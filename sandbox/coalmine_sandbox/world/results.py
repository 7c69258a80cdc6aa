"""A rehearsal's result document, read back from the emulated services after the run: the outcome
and reason from the execution's description and history, the alias from Lambda, the per-version
counts from CloudWatch (see docs/reference.md, "Rehearsal result")."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any

from coalmine import timeline
from coalmine.execution_history import cause_message, count_state_transitions

from ..sandbox import Sandbox
from .evidence_readback import steps_with_ticks
from .history_tail import HistoryTail
from .samples import Sample
from .scenario import Scenario


def _outcome(description: dict[str, Any], output: dict[str, Any]) -> tuple[str, str | None]:
    if description["status"] == "SUCCEEDED":
        return output.get("outcome", "UNKNOWN"), output.get("reason")
    error = description.get("error")
    cause = description.get("cause")
    if error == "DeploymentRolledBack":
        return "ROLLED_BACK", cause
    if error == "DeploymentAborted":
        return "ABORTED", cause_message(cause)
    if description["status"] in {"ABORTED", "TIMED_OUT"}:  # a console stop, the timeout
        return "STOPPED" if description["status"] == "ABORTED" else "TIMED_OUT", cause
    return "REJECTED", f"{error}: {cause_message(cause)}"


def _last_document(events: list[dict[str, Any]]) -> dict[str, Any]:
    for event in reversed(events):
        if event["type"] == "TaskStateExited":
            return json.loads(event["stateExitedEventDetails"].get("output") or "{}")
    return {}


def _decision_at(
    events: list[dict[str, Any]], started: datetime, document: dict[str, Any]
) -> float | None:
    """When the deployment was decided (coalmine/timeline.py's ``decision_at``), in seconds
    after ``started``; None: nothing was decided."""
    at = timeline.decision_at(events, document)
    return None if at is None else round((at - started).total_seconds(), 1)


def _invocations(
    sb: Sandbox, sample: Sample, versions: list[str], start: datetime
) -> dict[str, dict[str, int]]:
    """Per-version Invocations and Errors, read back from (emulated) CloudWatch."""
    cloudwatch = sb.client("cloudwatch")
    end = sb.clock.now() + timedelta(minutes=1)
    found: dict[str, dict[str, int]] = {}
    for version in versions:
        dimensions = [
            {"Name": "FunctionName", "Value": sample.function_name},
            {"Name": "Resource", "Value": f"{sample.function_name}:{sample.alias}"},
            {"Name": "ExecutedVersion", "Value": version},
        ]
        found[version] = lambda_sums(cloudwatch, dimensions, start - timedelta(minutes=1), end)
    return found


def lambda_sums(
    cloudwatch: Any, dimensions: list[dict[str, str]], start: datetime, end: datetime
) -> dict[str, int]:
    """``{"invocations", "errors"}``: the Sums of AWS/Lambda Invocations and Errors under exactly
    ``dimensions`` between ``start`` and ``end``, read back through GetMetricStatistics."""
    counts = {}
    for metric in ("Invocations", "Errors"):
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/Lambda",
            MetricName=metric,
            Dimensions=dimensions,
            StartTime=start,
            EndTime=end,
            Period=60,
            Statistics=["Sum"],
        )["Datapoints"]
        counts[metric.lower()] = int(sum(p["Sum"] for p in points))
    return counts


def result_document(
    sb: Sandbox,
    sample: Sample,
    scenario: Scenario,
    description: dict[str, Any],
    reader: HistoryTail,
    first: datetime,
    started: datetime,
    began: float,
) -> dict[str, Any]:
    reader.new_events()
    events = reader.events
    document = json.loads(description.get("output") or "null") or _last_document(events)
    outcome, reason = _outcome(description, document)
    alias = sb.alias(sample.function_name, sample.alias)
    versions = sorted({document.get("fromVersion"), document.get("toVersion")} - {None})
    return {
        "scenario": scenario.name,
        "status": description["status"],
        "outcome": outcome,
        "reason": reason,
        "function": sample.function_name,
        "fromVersion": document.get("fromVersion"),
        "toVersion": document.get("toVersion"),
        "alias": {
            "name": sample.alias,
            "functionVersion": alias["FunctionVersion"],
            "additionalVersionWeights": alias.get("RoutingConfig", {}).get(
                "AdditionalVersionWeights", {}
            ),
        },
        "decisionAtSeconds": _decision_at(events, started, document),
        "stateTransitions": count_state_transitions(events),
        "invocations": _invocations(sb, sample, versions, first),
        "steps": steps_with_ticks(sb, document),  # every tick, read back from the evidence store
        "hooks": document.get("hooks", []),
        "asyncTarget": document.get("asyncTarget"),
        "evidence": document.get("evidence"),
        "wallSeconds": round(time.perf_counter() - began, 2),
        "simulatedSeconds": round((sb.clock.now() - first).total_seconds(), 1),
        "executionArn": description["executionArn"],
    }
