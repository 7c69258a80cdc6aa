"""Analyze: judge the new version (gates -> verdict), then bake on, extend, move on, or roll back.

One GetMetricData call reads both versions' counts since the step began (metric_queries.py), the
metric gates judge them (gates.py), plus the user's alarms. The alias is checked first: analysing
a split someone else has changed would judge the wrong thing.

The same call reads the alias's asynchronous queue: for an async target (``asyncTarget``) the
async gates judge it too; an alias receiving async events that PublishVersion did not know as one
(no event invoke config: Lambda's defaults) becomes one at this tick (judging.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aws_lambda_powertools.utilities.typing import LambdaContext

from coalmine import analysis, deployment, judging, metric_queries, ownership
from coalmine.adapters.cloudwatch import CloudWatchApi
from coalmine.adapters.lambda_api import LambdaApi
from coalmine.models import Action, Deployment, GateResult
from coalmine.observability import count, deployment_step, logger


@deployment_step
def handler(current: Deployment, context: LambdaContext) -> Deployment:
    result = analyze(current, LambdaApi(), CloudWatchApi())
    tick = result.steps[-1].ticks[-1]
    logger.info("analysed", extra={"verdict": tick.verdict, "action": result.action})
    if result.action == Action.ROLLBACK:
        count("AnalysisFailed", result.function_name)
    return result


def analyze(current: Deployment, lambda_api: LambdaApi, cloudwatch: CloudWatchApi) -> Deployment:
    observed = lambda_api.get_alias(current.function_name, current.alias)
    ownership.claim_alias(current, observed, ownership.current_routing(current))
    current, metric_results, new_invocations = metric_gates(current, cloudwatch)
    return deployment.ticked(current, metric_results + alarm_gates(current, cloudwatch),
                             new_invocations)  # fmt: skip


def metric_gates(
    current: Deployment, cloudwatch: CloudWatchApi
) -> tuple[Deployment, list[GateResult], float]:
    """One GetMetricData request, judged (judging.py)."""
    now = datetime.now(UTC)
    since = now - timedelta(seconds=current.bake.elapsed_seconds + current.bake.wait_seconds)
    results = cloudwatch.get_metric_data(
        judging.metric_request(current), metric_queries.start_time(since), now
    )
    return judging.judge_metrics(current, results)


def alarm_gates(current: Deployment, cloudwatch: CloudWatchApi) -> list[GateResult]:
    alarms = current.analysis.alarms
    states = cloudwatch.alarm_states(alarms) if alarms else {}
    states |= {name: "MISSING" for name in alarms if name not in states}
    return [gate for gate in (analysis.alarms_gate(states),) if gate is not None]
