"""Prepare: validate the input, run the pre-flight checks, take the alias's lock, read the alias.

Changes nothing but the lock: a second deployment of the same alias is refused here
(DeploymentInProgress, naming the running execution), before anything moves.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from coalmine import deployment, lock, preflight, strategies, validation
from coalmine.adapters.cloudwatch import CloudWatchApi
from coalmine.adapters.lambda_api import AliasState, LambdaApi
from coalmine.adapters.locks_table import LockTable
from coalmine.adapters.stepfunctions import StepFunctionsApi
from coalmine.exceptions import InvalidInput, ResourceNotFound
from coalmine.models import AnalysisConfig, Deployment, PrepareEvent
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
    lambda_api: LambdaApi,
    cloudwatch: CloudWatchApi,
    locks: lock.LockStore,
    executions: lock.Executions,
) -> Deployment:
    request = validation.parse_request(event.request)
    plan = strategies.resolve(request.strategy)
    name = request.function_name
    try:
        function = lambda_api.get_function(name)
    except ResourceNotFound:
        raise InvalidInput("functionName", f"no Lambda function named {name!r}") from None
    preflight.check_opted_in(name, lambda_api.list_tags(name))
    if request.code is not None and function.package_type != "Zip":
        raise InvalidInput("code", f"{name} is a {function.package_type} function, not a zip")
    try:
        alias = lambda_api.get_alias(name, request.alias)
    except ResourceNotFound:
        raise InvalidInput("alias", f"function {name} has no alias {request.alias!r}") from None
    where = f"{name}:{request.alias}"
    _check_published(alias, where)
    if request.target_version is not None:
        _check_target(lambda_api, name, request.target_version, alias.function_version)
    _check_alarms(cloudwatch, request.analysis.alarms)
    _check_hooks(lambda_api, request.analysis)
    prepared = deployment.prepared(
        deployment_id=event.deployment_id,
        function_name=name,
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
    try:  # checked once the lock is ours: a running deployment is named, not its weights
        _check_unweighted(alias, where)
    except InvalidInput:
        locks.release(held.lock_id, held.deployment_id)
        raise
    return prepared


def _check_published(alias: AliasState, where: str) -> None:
    if not alias.function_version.isdigit():
        raise InvalidInput(
            "alias", f"{where} points at {alias.function_version}; point it at a published version"
        )


def _check_unweighted(alias: AliasState, where: str) -> None:
    if alias.weights:
        routes = ", ".join(f"{w * 100:g}% to version {v}" for v, w in alias.weights.items())
        raise InvalidInput(
            "alias",
            f"{where} already routes {routes} (a deployment in progress or abandoned); "
            f"finish it or point the alias wholly at one version first",
        )


def _check_target(lambda_api: LambdaApi, name: str, target: str, stable: str) -> None:
    if target == stable:
        raise InvalidInput(
            "targetVersion", f"version {target} is the stable version the alias already serves"
        )
    try:
        version = lambda_api.get_function(name, target)
    except ResourceNotFound:
        raise InvalidInput("targetVersion", f"{name} has no published version {target}") from None
    problems = preflight.version_problems(lambda_api.get_function(name, stable), version)
    if problems:
        raise InvalidInput("targetVersion", "; ".join(problems))


def _check_alarms(cloudwatch: CloudWatchApi, alarms: list[str]) -> None:
    if not alarms:
        return
    missing = sorted(set(alarms) - set(cloudwatch.alarm_states(alarms)))
    if missing:
        raise InvalidInput("analysis.alarms", f"no CloudWatch alarm named {', '.join(missing)}")


def _check_hooks(lambda_api: LambdaApi, analysis: AnalysisConfig) -> None:
    """A named hook must exist and be opted in (coalmine may invoke only tagged functions), so a
    typo fails here, not after a whole bake when the post-traffic hook is finally due."""
    for field, hook in (
        ("analysis.preTrafficHook", analysis.pre_traffic_hook),
        ("analysis.postTrafficHook", analysis.post_traffic_hook),
    ):
        if hook is None:
            continue
        name, _, qualifier = hook.partition(":")
        try:
            lambda_api.get_function(name, qualifier or None)
        except ResourceNotFound:
            raise InvalidInput(field, f"no Lambda function {hook!r}") from None
        try:
            preflight.check_opted_in(name, lambda_api.list_tags(name))
        except InvalidInput as refused:
            raise InvalidInput(field, refused.problem) from None
