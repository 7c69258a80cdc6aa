"""A rehearsal: run one deployment scenario in the sandbox and return what happened.

The rehearsal plays the part of the world around coalmine, never coalmine itself: it publishes the
baseline and candidate versions (their behaviour set through the fault knobs), points the alias at
the baseline, sends synthetic traffic, starts the shipped state machine with the scenario's
deployment input, and reads the result back from the emulated services (the alias from Lambda,
the per-version counts from CloudWatch, the transitions from the execution history: results.py).
It prints nothing itself: progress lines go to `emit`, and the execution history's lines are
made by the formatter the caller passes (`coalmine rehearse` passes its progress lines).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..sandbox import Sandbox
from . import rehearsal_async
from .history_tail import HistoryTail
from .rehearsal_events import EventPlayer
from .results import result_document
from .samples import SAMPLES, Sample
from .scenario import Scenario
from .timeline_world import WorldLog, world_timeline
from .traffic import TrafficGenerator

Emit = Callable[[str], None]
# Lines for new execution-history events (coalmine_cli.progress.progress_lines is one).
HistoryLines = Callable[[list[dict[str, Any]]], Iterable[str]]


def quiet(line: str) -> None:
    """An `emit` that drops every line."""


def no_history(events: list[dict[str, Any]]) -> Iterable[str]:
    """A history formatter that says nothing."""
    return ()


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
    emit: Emit = quiet,
    inspect: Callable[[Sandbox, dict[str, Any]], None] | None = None,
    history: HistoryLines = no_history,
) -> dict[str, Any]:
    """Run the scenario; return the result document (see docs/reference.md, "Rehearsal result").
    Progress goes to `emit`, the execution history's new events as `history(events)` makes
    them, once per simulated minute; `inspect(sandbox, result)` runs before the sandbox closes
    (tests read the queues there)."""
    sample = SAMPLES.get(scenario.function)
    if sample is None:
        raise ValueError(f"function: unknown sample {scenario.function!r}; one of {list(SAMPLES)}")
    if sample.asynchronous and any(e.action == "candidate-change" for e in scenario.events):
        raise ValueError(
            "events: candidate-change changes how synchronous requests behave (brand-api); "
            f"{scenario.function} is invoked asynchronously"
        )
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
            # each request starts at its own arrival time within the clock's step, so requests
            # overlap (reserved concurrency) as they would, not all at the step's end
            result = sb.runtime.invoke_alias(
                sample.function_name, sample.alias, event, start=traffic.current_arrival
            )
            minute.add(result.executed_version, result.error, result.throttled)
            world.on_request(
                traffic.current_arrival or sb.clock.now(),
                result.executed_version,
                result.error,
                result.throttled,
                result.duration_ms,
            )

        world = WorldLog(sb, sample)
        if sample.asynchronous and sb.async_lambda is not None:
            sb.async_lambda.listeners.append(lambda a: minute.add(a.executed_version, a.error))
            # (no duration per attempt: an async sample's minutes have no latency)
            sb.async_lambda.listeners.append(
                lambda a: world.on_request(a.at, a.executed_version, a.error, False, None)
            )
        stop_world = sb.add_listener(world.on_clock)
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
        started = sb.clock.now()
        player.before_start(started)
        arn = sb.start_execution(request, name=f"rehearsal-{scenario.seed}")
        reader = HistoryTail(sb.client("stepfunctions"), arn)
        reporter = _Reporter(sb, sample, reader, history, minute, started, emit)
        remove = sb.add_listener(reporter.on_clock)
        remove_events = player.attach(arn, started)
        description = _wait(sb, arn, reporter)
        remove()
        remove_events()
        events = player.finish()
        # Traffic stops with the deployment; queued async invocations (the ending's Cleanup, an
        # async sample's uploads) play out with their retries; after the drain, the counts are
        # read back once CloudWatch has published the minute of the last request.
        stop_traffic()
        sb.settle()
        last_request = sb.clock.now()
        drain = scenario.drain_seconds
        if sample.asynchronous and "drain_seconds" not in scenario.model_fields_set:
            drain = sample.drain_seconds
        sb.clock.advance(drain)
        _until_published(sb, last_request)
        player.count_faults()
        result = result_document(sb, sample, scenario, description, reader, first, started, began)
        if sample.asynchronous:
            versions = result["invocations"].keys()
            result |= rehearsal_async.figures(sb, sample, versions, first, traffic.sent)
        result = {**result, "events": events} if scenario.events else result
        result["timeline"] = world_timeline(world, result, description, reader.events, events)
        stop_world()
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
        reader: HistoryTail,
        history: HistoryLines,
        minute: _MinuteCounts,
        started: datetime,
        emit: Emit,
    ) -> None:
        self.sb, self.sample, self.reader, self.history = sb, sample, reader, history
        self.minute, self.started, self.emit = minute, started, emit

    def flush_history(self) -> None:
        for line in self.history(self.reader.new_events()):
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


def _until_published(sb: Sandbox, last_request: datetime) -> None:
    """Let CloudWatch publish the minute of the last request (its publishing delay as it is
    now: it may have risen during the run) before the counts are read back."""
    needed = last_request.timestamp() // 60 * 60 + 60  # the end of that minute
    while sb.metrics.visible_until() < needed:
        sb.clock.advance(
            max(1.0, needed + sb.metrics.publish_delay_seconds - sb.clock.now().timestamp())
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
