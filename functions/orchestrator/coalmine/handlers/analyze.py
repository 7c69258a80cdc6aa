"""Analyze: an operator's request (operator_actions.py, approvals.py) acted on, else the new
version judged (analysis.py; a paused or gated step held): the alias checked, one GetMetricData
read (watch.py), the alarms; a throttled read is inconclusive up to arrival.MAX_UNREAD_TICKS."""

from __future__ import annotations

from datetime import UTC, datetime

from aws_lambda_powertools.utilities.typing import LambdaContext

from coalmine import analysis, approvals, arrival, ownership, watch
from coalmine.adapters import operator_requests
from coalmine.adapters.cloudwatch import CloudWatchApi
from coalmine.adapters.lambda_api import LambdaApi
from coalmine.adapters.locks_table import LockTable
from coalmine.adapters.target import clients_of
from coalmine.exceptions import AwsThrottled
from coalmine.models import Action, Deployment
from coalmine.observability import count, logger
from coalmine.operator_actions import held
from coalmine.recording import recorded_step


@recorded_step
def handler(current: Deployment, context: LambdaContext) -> Deployment:
    locks, now, on = LockTable(), datetime.now(UTC), clients_of(current)
    steered = operator_requests.acted_on(current, locks, now)
    judged = steered or analyze(current, on.lambda_api, on.cloudwatch)
    result = steered or approvals.after_tick(current, held(current, judged, now), now)
    locks.after_tick(current, result)  # the watch passed, or a human gate's wait is over
    if steered is not None:
        logger.warning("operator action", extra={"reason": steered.reason})
        return result
    tick = result.steps[-1].ticks[-1]
    logger.info("analysed", extra={"verdict": tick.verdict, "action": result.action})
    if result.action == Action.ROLLBACK:
        count("AnalysisFailed", result.function_name)
    return result


def analyze(current: Deployment, lambda_api: LambdaApi, cloudwatch: CloudWatchApi) -> Deployment:
    observed = lambda_api.get_alias(current.function_name, current.alias)
    ownership.claim_alias(current, observed, ownership.current_routing(current))
    now = datetime.now(UTC)
    unread: AwsThrottled | None = None
    try:
        metric_results = cloudwatch.get_metric_data(
            analysis.metric_request(current), watch.read_start(current, now), now
        )
    except AwsThrottled as error:
        if not arrival.may_skip_read(current):
            raise
        logger.warning("metrics read throttled", extra={"error": str(error)})
        unread = error
    alarms = cloudwatch.alarm_details(current.analysis.alarms) if current.analysis.alarms else {}
    states = {name: state for name, (state, _) in alarms.items()}
    changes = {name: at for name, (_, at) in alarms.items() if at is not None}
    if unread is not None:
        return analysis.unread_tick(current, str(unread), states, now=now, alarm_changes=changes)
    return analysis.tick(current, metric_results, states, now=now, alarm_changes=changes)
