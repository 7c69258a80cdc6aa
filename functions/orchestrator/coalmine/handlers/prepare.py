"""Prepare: validate the input, run the pre-flight checks (coalmine/preflight.py), take the
alias's lock. Changes nothing but the lock: a second deployment of the same alias is refused
here (DeploymentInProgress, naming the running execution), before anything moves."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from coalmine import deployment, lock, preflight, strategies, validation
from coalmine.adapters.cloudwatch import CloudWatchApi
from coalmine.adapters.lambda_api import LambdaApi
from coalmine.adapters.locks_table import LockTable
from coalmine.adapters.stepfunctions import StepFunctionsApi
from coalmine.models import Deployment, PrepareEvent
from coalmine.observability import count, logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    prepare_event = parse(event=event, model=PrepareEvent)
    logger.set_correlation_id(prepare_event.deployment_id)
    prepared = prepare(prepare_event, LambdaApi(), CloudWatchApi(), LockTable(), StepFunctionsApi())
    logger.info("deployment planned", extra={"plan": prepared.plan.to_json()})
    count("DeploymentStarted", prepared.function_name)
    return prepared.to_json()


def prepare(
    event: PrepareEvent,
    lambda_api: preflight.LambdaReads,
    cloudwatch: CloudWatchApi,
    locks: lock.LockStore,
    executions: lock.Executions,
) -> Deployment:
    request = validation.parse_request(event.request)
    plan = strategies.resolve(request.strategy)
    alias = preflight.check_request(request, lambda_api, cloudwatch.alarm_states)
    prepared = deployment.prepared(
        deployment_id=event.deployment_id,
        function_name=request.function_name,
        alias=request.alias,
        from_version=alias.function_version,
        revision_id=alias.revision_id,
        plan=plan,
        analysis_config=request.analysis,
        target_version=request.target_version,
        code=request.code,
    )
    held = lock.new_lock(prepared, event.execution_arn, int(time.time()))
    lock.acquire(locks, executions, held, held.started_at)
    with lock.released_on_error(locks, held):  # a running deployment is named, not its weights
        preflight.check_unweighted(alias, held.lock_id)
    return prepared
