"""Analyze: judge the new version (gates -> verdict), then bake on, move on, or roll back.

Issue 2's only gate is the user's CloudWatch alarms. The alias is checked first: analysing a
split someone else has changed would judge the wrong thing.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from coalmine import analysis, deployment
from coalmine.adapters.cloudwatch import CloudWatchApi
from coalmine.adapters.lambda_api import LambdaApi
from coalmine.models import Action, Deployment, GateResult
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
    return deployment.ticked(current, gates(current, cloudwatch))


def gates(current: Deployment, cloudwatch: CloudWatchApi) -> list[GateResult]:
    alarms = current.analysis.alarms
    states = cloudwatch.alarm_states(alarms) if alarms else {}
    states |= {name: "MISSING" for name in alarms if name not in states}
    return [gate for gate in (analysis.alarms_gate(states),) if gate is not None]
