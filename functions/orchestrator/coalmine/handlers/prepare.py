"""Prepare: the input validated, pre-flight checks, the alias's lock taken (a second deployment:
DeploymentInProgress). Changes nothing else but what an ended holder left (recovery.made_whole)."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from coalmine import deployment, lock, preflight, recording, recovery, validation
from coalmine.adapters.artifact_bucket import upload_context
from coalmine.adapters.cloudwatch import CloudWatchApi
from coalmine.adapters.lambda_api import LambdaApi
from coalmine.adapters.locks_table import LockTable
from coalmine.adapters.stepfunctions import StepFunctionsApi
from coalmine.handlers.rollback import roll_back
from coalmine.models import Deployment, PrepareEvent
from coalmine.observability import count, log_metrics, logger, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    prepare_event = parse(event=event, model=PrepareEvent)
    logger.set_correlation_id(prepare_event.deployment_id)
    prepared = prepare(prepare_event, LambdaApi(), CloudWatchApi(), LockTable(), StepFunctionsApi())
    logger.info("deployment planned", extra={"plan": prepared.plan.to_json(),
                                              "takenOver": prepared.taken_over})  # fmt: skip
    count("DeploymentStarted", prepared.function_name)
    # the history item and the Deployment Started event (best effort); the document names its ARN
    return recording.started(prepared, prepare_event.request, prepare_event.execution_arn).to_json()


def prepare(
    event: PrepareEvent,
    lambda_api: LambdaApi,
    cloudwatch: CloudWatchApi,
    locks: lock.LockStore,
    executions: lock.Executions,
) -> Deployment:
    request = validation.parse_request(event.request, *upload_context(lambda_api))
    alias = preflight.check_request(request, lambda_api, cloudwatch.alarm_states, event.from_upload)
    prepared = deployment.planned(event.deployment_id, request, alias, None, event.started_at)
    held = lock.new_lock(prepared, event.execution_arn, int(time.time()))

    def make_whole(dead: lock.Lock) -> lock.Lock:  # the alias whole again, then our lock on it
        read = partial(lambda_api.get_alias, request.function_name, request.alias)
        whole, note = recovery.made_whole(dead, read, partial(roll_back, lambda_api=lambda_api))
        mine = deployment.planned(event.deployment_id, request, whole, note, event.started_at)
        return lock.new_lock(mine, event.execution_arn, held.started_at)

    taken = lock.acquire(locks, executions, held, held.started_at, make_whole)
    if taken is held:
        with lock.released_on_error(locks, held):  # a running deployment is named, not weights
            preflight.check_unweighted(alias, held.lock_id)
    return taken.deployment or prepared
