"""Analyze: judge the new version (gates -> verdict), then bake on, extend, move on, or roll back.

One GetMetricData call reads both versions' counts since the step began (metric_queries.py), the
metric gates judge them (gates.py), plus the user's alarms. The alias is checked first: analysing
a split someone else has changed would judge the wrong thing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from coalmine import analysis, deployment, gates, metric_queries
from coalmine.adapters.cloudwatch import CloudWatchApi
from coalmine.adapters.lambda_api import LambdaApi
from coalmine.models import Action, Deployment, GateResult, Outcome
from coalmine.observability import count, logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    current = parse(event=event, model=Deployment)
    logger.set_correlation_id(current.deployment_id)
    result = analyze(current, LambdaApi(), CloudWatchApi())
    tick = result.steps[-1].ticks[-1]
    logger.info("analysed", extra={"verdict": tick.verdict, "action": result.action})
    if result.action == Action.ROLLBACK:
        count("AnalysisFailed", result.function_name)
    return result.to_json()


def analyze(current: Deployment, lambda_api: LambdaApi, cloudwatch: CloudWatchApi) -> Deployment:
    observed = lambda_api.get_alias(current.function_name, current.alias)
    deployment.claim_alias(current, observed, deployment.current_routing(current))
    metric_results, new_invocations = metric_gates(current, cloudwatch)
    return deployment.ticked(current, metric_results + alarm_gates(current, cloudwatch),
                             new_invocations)  # fmt: skip


def metric_gates(current: Deployment, cloudwatch: CloudWatchApi) -> tuple[list[GateResult], float]:
    """The metric gates on this step's counts so far, and the new version's invocations."""
    now = datetime.now(UTC)
    since = now - timedelta(seconds=current.bake.elapsed_seconds + current.bake.wait_seconds)
    versions = {"n": str(current.to_version)}
    if current.outcome != Outcome.PROMOTED:  # after promotion the old version serves nothing
        versions["o"] = current.from_version
    queries = metric_queries.queries(current.function_name, current.alias, versions,
                                     current.analysis)  # fmt: skip
    results = cloudwatch.get_metric_data(queries, metric_queries.start_time(since), now)
    periods = metric_queries.periods(results, current.analysis)
    return gates.evaluate(periods, current.analysis), sum(p.new.invocations for p in periods)


def alarm_gates(current: Deployment, cloudwatch: CloudWatchApi) -> list[GateResult]:
    alarms = current.analysis.alarms
    states = cloudwatch.alarm_states(alarms) if alarms else {}
    states |= {name: "MISSING" for name in alarms if name not in states}
    return [gate for gate in (analysis.alarms_gate(states),) if gate is not None]
