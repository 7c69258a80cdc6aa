"""`coalmine rehearse`: run one deployment scenario in the sandbox and report what happened.

The rehearsal plays the part of the world around coalmine, never coalmine itself: it publishes the
baseline and candidate versions (their behaviour set through the fault knobs), points the alias at
the baseline, sends synthetic traffic, starts the shipped state machine with the scenario's
deployment input, and reads the result back from the emulated services (the alias from Lambda,
the per-version counts from CloudWatch, the transitions from the execution history).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from coalmine_cli.progress import HistoryReader, count_state_transitions, progress_lines

from . import rehearsal_async
from .rehearsal_events import EventPlayer
from .samples import SAMPLES, Sample
from .sandbox import Sandbox
from .scenario import Scenario, ScenarioError, load_scenario
from .traffic import TrafficGenerator

Emit = Callable[[str], None]


@dataclass
class _MinuteCounts:
    """Per-version requests, errors and throttles of the current simulated minute (progress
    only)."""

    counts: dict[str, list[int]] = field(default_factory=dict)

    def add(self, version: str, error: bool, throttled: bool = False) -> None:
        row = self.counts.setdefault(version, [0, 0, 0])
        row[0] += 1
        row[1] += int(error and not throttled)
        row[2] += int(throttled)

    def line(self) -> str:
        parts = [
            f"v{v}: {n} req, {e} err" + (f", {t} throttled" if t else "")
            for v, (n, e, t) in sorted(self.counts.items())
        ]
        self.counts.clear()
        return " | ".join(parts) or "no requests"


def rehearse(
    scenario: Scenario,
    emit: Emit = print,
    inspect: Callable[[Sandbox, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run the scenario; return the result document (see README, "Rehearsal result").
    `inspect(sandbox, result)` runs before the sandbox closes (tests read the queues there)."""
    sample = SAMPLES.get(scenario.function)
    if sample is None:
        raise ValueError(f"function: unknown sample {scenario.function!r}; one of {list(SAMPLES)}")
    began = time.perf_counter()
    with Sandbox(seed=scenario.seed) as sb:
        baseline, candidate = _publish(sb, sample, scenario)
        versions = {"baseline": baseline, "candidate": candidate}
        if any(e.action == "tamper-alias" and e.version == "hotfix" for e in scenario.events):
            env = {**scenario.baseline.environment(), "SAMPLE_RELEASE": "hotfix"}
            versions["hotfix"] = sb.publish_version(sample.function_name, env)
        emit(
            f"== {scenario.name}: {sample.function_name}:{sample.alias} v{baseline} -> "
            f"v{candidate} at {scenario.traffic.rps:g} rps, strategy "
            f"{scenario.deployment.get('strategy', '(default)')}"
        )
        minute = _MinuteCounts()

        def invoke(event: dict[str, Any]) -> None:
            if sample.send is not None:  # async: the attempts are counted as they run
                sample.send(sb, event)
                return
            result = sb.runtime.invoke_alias(sample.function_name, sample.alias, event)
            minute.add(result.executed_version, result.error, result.throttled)

        if sample.asynchronous and sb.async_lambda is not None:
            sb.async_lambda.listeners.append(lambda a: minute.add(a.executed_version, a.error))
        rng = random.Random(scenario.seed)
        factory = sample.events(sb, scenario.traffic)
        traffic = TrafficGenerator(invoke, scenario.traffic.rps, rng, factory)
        stop_traffic = sb.add_listener(traffic.on_clock)
        first = sb.clock.now()
        sb.clock.advance(scenario.warmup_seconds)
        emit(f"  warm-up {scenario.warmup_seconds} s on v{baseline}: {minute.line()}")

        request = {
            **scenario.deployment,
            "functionName": sample.function_name,
            "targetVersion": candidate,
        }
        player = EventPlayer(sb, scenario.events, versions, request, emit)
        player.before_start()
        started = sb.clock.now()
        arn = sb.start_execution(request, name=f"rehearsal-{scenario.seed}")
        reader = HistoryReader(sb.client("stepfunctions"), arn)
        reporter = _Reporter(sb, sample, reader, minute, started, emit)
        remove = sb.add_listener(reporter.on_clock)
        remove_events = player.attach(arn, started)
        description = _wait(sb, arn, reporter)
        remove()
        remove_events()
        events = player.finish()
        # Traffic stops with the deployment; queued async invocations (the ending's Cleanup, an
        # async sample's uploads) play out with their retries; the drain lets CloudWatch's
        # publishing delay pass before the counts are read back.
        stop_traffic()
        sb.settle()
        drain = scenario.drain_seconds
        if sample.asynchronous and "drain_seconds" not in scenario.model_fields_set:
            drain = sample.drain_seconds
        sb.clock.advance(drain)
        result = _result(sb, sample, scenario, description, reader, first, started, began)
        if sample.asynchronous:
            versions = result["invocations"].keys()
            result |= rehearsal_async.figures(sb, sample, versions, first, traffic.sent)
        result = {**result, "events": events} if scenario.events else result
        if inspect is not None:
            inspect(sb, result)
        return result


class _Reporter:
    """A clock listener printing progress once per simulated minute, from the clock's thread,
    so traffic lines and state-machine lines come out in simulated-time order."""

    def __init__(
        self,
        sb: Sandbox,
        sample: Sample,
        reader: HistoryReader,
        minute: _MinuteCounts,
        started: datetime,
        emit: Emit,
    ) -> None:
        self.sb, self.sample, self.reader, self.minute = sb, sample, reader, minute
        self.started, self.emit = started, emit

    def flush_history(self) -> None:
        for line in progress_lines(self.reader.new_events()):
            self.emit(line)

    def on_clock(self, t_from: datetime, t_to: datetime) -> None:
        if t_to.timestamp() // 60 == t_from.timestamp() // 60:
            return
        self.flush_history()
        alias = self.sb.alias(self.sample.function_name, self.sample.alias)
        weights = alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {})
        routing = ", ".join(f"{w * 100:g}% v{v}" for v, w in weights.items()) or "no weights"
        seconds = int((t_to - self.started).total_seconds())
        self.emit(
            f"  t+{seconds // 60:>2}m  alias v{alias['FunctionVersion']} ({routing})  "
            f"{self.minute.line()}"
        )


def _wait(sb: Sandbox, arn: str, reporter: _Reporter) -> dict[str, Any]:
    """Until the execution ended and what its ending triggers (the status-change event's
    cleanup, with its retries) has run."""
    description = sb.wait_for_execution(arn, timeout_wall=3600, settle=False)
    reporter.flush_history()
    return description


def _publish(sb: Sandbox, sample: Sample, scenario: Scenario) -> tuple[str, str]:
    """Publish the baseline, make it production, publish the candidate (the world's doing)."""
    sample.prepare(sb)
    lam = sb.client("lambda")
    # SAMPLE_RELEASE stands for "new code": Lambda publishes a new version only when code or
    # configuration changed, and a healthy candidate may behave exactly like the baseline.
    baseline_env = {**scenario.baseline.environment(), "SAMPLE_RELEASE": "baseline"}
    baseline = sb.publish_version(sample.function_name, baseline_env)
    lam.update_alias(
        FunctionName=sample.function_name,
        Name=sample.alias,
        FunctionVersion=baseline,
        RoutingConfig={"AdditionalVersionWeights": {}},
    )
    candidate_env = {**scenario.candidate.environment(), "SAMPLE_RELEASE": "candidate"}
    candidate = sb.publish_version(sample.function_name, candidate_env)
    if scenario.reserved_concurrency is not None:
        lam.put_function_concurrency(
            FunctionName=sample.function_name,
            ReservedConcurrentExecutions=scenario.reserved_concurrency,
        )
    return baseline, candidate


def _outcome(description: dict[str, Any], output: dict[str, Any]) -> tuple[str, str | None]:
    if description["status"] == "SUCCEEDED":
        return output.get("outcome", "UNKNOWN"), output.get("reason")
    error = description.get("error")
    cause = description.get("cause")
    if error == "DeploymentRolledBack":
        return "ROLLED_BACK", cause
    if error == "DeploymentAborted":
        return "ABORTED", _message(cause)
    if description["status"] in {"ABORTED", "TIMED_OUT"}:  # a console stop, the timeout
        return "STOPPED" if description["status"] == "ABORTED" else "TIMED_OUT", cause
    return "REJECTED", f"{error}: {_message(cause)}"


def _message(cause: str | None) -> str | None:
    try:
        parsed = json.loads(cause or "")
    except ValueError:
        return cause
    return parsed.get("errorMessage", cause) if isinstance(parsed, dict) else cause


def _last_document(events: list[dict[str, Any]]) -> dict[str, Any]:
    for event in reversed(events):
        if event["type"] == "TaskStateExited":
            return json.loads(event["stateExitedEventDetails"].get("output") or "{}")
    return {}


def _decision_at(events: list[dict[str, Any]], started: datetime) -> float | None:
    for event in events:
        if event["type"] == "TaskStateEntered" and event["stateEnteredEventDetails"]["name"] in {
            "Promote",
            "Rollback",
        }:
            return round((event["timestamp"] - started).total_seconds(), 1)
    return None


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


def _result(
    sb: Sandbox,
    sample: Sample,
    scenario: Scenario,
    description: dict[str, Any],
    reader: HistoryReader,
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
        "decisionAtSeconds": _decision_at(events, started),
        "stateTransitions": count_state_transitions(events),
        "invocations": _invocations(sb, sample, versions, first),
        "steps": document.get("steps", []),
        "hooks": document.get("hooks", []),
        "asyncTarget": document.get("asyncTarget"),
        "wallSeconds": round(time.perf_counter() - began, 2),
        "simulatedSeconds": round((sb.clock.now() - first).total_seconds(), 1),
        "executionArn": description["executionArn"],
    }


def summary(result: dict[str, Any]) -> str:
    alias = result["alias"]
    weights = alias["additionalVersionWeights"]
    routing = f"v{alias['functionVersion']}" + (f" + {weights}" if weights else " (whole)")
    per_version = ", ".join(
        f"v{v}: {c['invocations']} inv / {c['errors']} err"
        for v, c in result["invocations"].items()
    )
    return (
        f"== {result['outcome']} ({result['status']}); alias {routing}; "
        f"decision at {result['decisionAtSeconds']} s simulated; "
        f"{result['stateTransitions']} state transitions; {per_version}; "
        f"{result['simulatedSeconds']:g} s simulated in {result['wallSeconds']:g} s wall"
        + (f"\n   reason: {result['reason']}" if result.get("reason") else "")
    )


def rehearse_file(
    path: Path, json_out: Path | None = None, check_expectation: bool = False, emit: Emit = print
) -> int:
    """The CLI's entry: load, run, print, write JSON. Exit code 0 unless the scenario is
    malformed (2) or, with `check_expectation`, ended other than its `expect.outcome` (1)."""
    try:
        scenario = load_scenario(path)
    except ScenarioError as error:
        emit(f"coalmine: bad scenario: {error}")
        return 2
    result = rehearse(scenario, emit)
    emit(summary(result))
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=2, default=str) + "\n")
        emit(f"   result JSON: {json_out}")
    expected = scenario.expect.outcome if scenario.expect else None
    if check_expectation and expected and expected != result["outcome"]:
        emit(f"   expected {expected}, got {result['outcome']}")
        return 1
    return 0
