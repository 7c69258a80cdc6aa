"""Prepare: the input validated, pre-flight checks, the alias's lock taken (a second deployment:
DeploymentInProgress). Changes nothing else but what an ended holder left (recovery.made_whole)."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from coalmine import deployment, lock, preflight, recording, recovery, validation
from coalmine.adapters import target
from coalmine.adapters.artifact_bucket import upload_context
from coalmine.adapters.locks_table import LockTable
from coalmine.adapters.stepfunctions import StepFunctionsApi
from coalmine.adapters.target import TargetClients
from coalmine.handlers.rollback import roll_back
from coalmine.models import Deployment, PrepareEvent
from coalmine.observability import count, log_metrics, logger, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ev = parse(event=event, model=PrepareEvent)
    logger.set_correlation_id(ev.deployment_id)  # a target's role assumed, or InvalidInput:
    on = target.for_request(ev.request, ev.deployment_id, context.invoked_function_arn)
    prepared = prepare(ev, on, LockTable(), StepFunctionsApi())
    logger.info("deployment planned", extra={"plan": prepared.plan.to_json(),
                                              "takenOver": prepared.taken_over})  # fmt: skip
    count("DeploymentStarted", prepared.function_name)  # the history item, the Started event:
    return recording.started(prepared, ev.request, ev.execution_arn).to_json()


def prepare(
    event: PrepareEvent, on: TargetClients, locks: lock.LockStore, executions: lock.Executions
) -> Deployment:
    """``on``: the function's account's Lambda and CloudWatch (adapters/target.py)."""
    lambda_api, cloudwatch, where = on.lambda_api, on.cloudwatch, on.target
    request = validation.parse_request(event.request, *upload_context(lambda_api))
    alias = preflight.check_request(request, lambda_api, cloudwatch.alarm_states, event.from_upload)
    planned = partial(deployment.planned, event.deployment_id, request, target=where)
    prepared = planned(alias, None, event.started_at)
    held = lock.new_lock(prepared, event.execution_arn, int(time.time()))

    def make_whole(dead: lock.Lock) -> lock.Lock:  # the alias whole again, then our lock on it
        read = partial(lambda_api.get_alias, request.function_name, request.alias)
        whole, note = recovery.made_whole(dead, read, partial(roll_back, lambda_api=lambda_api))
        mine = planned(whole, note, event.started_at)
        return lock.new_lock(mine, event.execution_arn, held.started_at)

    taken = lock.acquire(locks, executions, held, held.started_at, make_whole)
    if taken is held:
        with lock.released_on_error(locks, held):  # a running deployment is named, not weights
            preflight.check_unweighted(alias, held.lock_id)
    return taken.deployment or prepared
