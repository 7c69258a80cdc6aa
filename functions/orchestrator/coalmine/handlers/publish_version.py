"""PublishVersion: check targetVersion, or deploy the uploaded zip and publish it (by CodeSha256).

No traffic moves here. While the function is still updating this raises FunctionNotReady, which
the state machine retries; a re-run re-uploads the same zip (idempotent) unless an update is
already in progress. Before traffic can move, the version is checked against the stable one
(pre-flight: ready, same role and DLQ config, CodeSha256 as uploaded) and recorded in the
alias's lock, so Cleanup knows which version to take traffic away from after a stop.

It also reads the alias's event invoke config: an alias with one is invoked asynchronously, so
the deployment records ``asyncTarget`` and its last bake covers the retry window
(``deployment.with_async_target``; an async alias without a config is found by Analyze).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aws_lambda_powertools.utilities.typing import LambdaContext

from coalmine import async_gates, deployment, preflight
from coalmine.adapters.lambda_api import LambdaApi
from coalmine.adapters.locks_table import LockTable
from coalmine.exceptions import (
    DeploymentInProgress,
    FunctionNotReady,
    ResourceNotFound,
    TargetVersionInvalid,
)
from coalmine.models import Deployment
from coalmine.observability import count, deployment_step, logger

MAX_WAIT_SECONDS = 60.0
POLL_SECONDS = 2.0
SAFETY_MARGIN_SECONDS = 15.0


@deployment_step
def handler(current: Deployment, context: LambdaContext) -> Deployment:
    budget = context.get_remaining_time_in_millis() / 1000 - SAFETY_MARGIN_SECONDS
    lambda_api = LambdaApi()
    result = publish(current, lambda_api, max_wait_seconds=min(MAX_WAIT_SECONDS, budget))
    result = with_async_config(result, lambda_api)
    check_and_record(result, lambda_api, LockTable())
    logger.info("version to deploy", extra={"toVersion": result.to_version})
    count("VersionPublished", result.function_name)
    return result


def publish(
    current: Deployment,
    lambda_api: LambdaApi,
    max_wait_seconds: float = MAX_WAIT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> Deployment:
    name = current.function_name
    if current.code is None:
        target = str(current.to_version)
        try:
            lambda_api.get_function(name, target)
        except ResourceNotFound:
            raise TargetVersionInvalid(f"{name} has no published version {target}") from None
        return deployment.published(_differs(current, target), target)
    if lambda_api.get_function(name).last_update_status == "InProgress":
        raise FunctionNotReady(f"{name} is still applying an earlier update")
    code = current.code
    updated = lambda_api.update_code(name, code.s3_bucket, code.s3_key, code.s3_object_version)
    _wait_until_updated(lambda_api, name, updated.last_update_status, max_wait_seconds, sleep)
    version = lambda_api.publish_version(
        name, updated.code_sha256, f"coalmine {current.deployment_id}"
    )
    if version == current.from_version:
        raise TargetVersionInvalid(f"code is identical to the stable version {version}")
    return deployment.published(current, version)


def with_async_config(published: Deployment, lambda_api: LambdaApi) -> Deployment:
    """The deployment with ``asyncTarget`` if the alias has an event invoke config of its own."""
    config = lambda_api.event_invoke_config(published.function_name, published.alias)
    if config is None:
        return published
    return deployment.with_async_target(published, async_gates.target_from_config(config))


def check_and_record(published: Deployment, lambda_api: LambdaApi, locks: LockTable) -> None:
    """Pre-flight on the version about to take traffic, then record it in the alias's lock."""
    name, version = published.function_name, str(published.to_version)
    target = lambda_api.get_function(name, version)
    problems = preflight.version_problems(
        lambda_api.get_function(name, published.from_version), target
    )
    if problems:
        raise TargetVersionInvalid("; ".join(problems))
    if not locks.record(published):
        raise DeploymentInProgress(
            f"{name}:{published.alias}: deployment {published.deployment_id} no longer holds the "
            f"alias's lock (cleared by hand, or taken over); no traffic was moved"
        )


def _differs(current: Deployment, target: str) -> Deployment:
    if target == current.from_version:
        raise TargetVersionInvalid(f"version {target} is the stable version the alias serves")
    return current


def _wait_until_updated(
    lambda_api: LambdaApi,
    name: str,
    status: str | None,
    max_wait_seconds: float,
    sleep: Callable[[float], None],
) -> None:
    waited = 0.0
    reason: str | None = None
    while status == "InProgress" and waited < max_wait_seconds:
        sleep(POLL_SECONDS)
        waited += POLL_SECONDS
        state = lambda_api.get_function(name)
        status, reason = state.last_update_status, state.last_update_status_reason
    if status == "InProgress":
        raise FunctionNotReady(f"{name} is still updating after {waited:g} s")
    if status == "Failed":
        raise TargetVersionInvalid(f"updating {name}'s code failed: {reason}")
