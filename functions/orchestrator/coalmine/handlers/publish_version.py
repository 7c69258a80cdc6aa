"""PublishVersion: check targetVersion, or deploy the uploaded zip and publish it (by CodeSha256).

No traffic moves here. A function still updating raises FunctionNotReady (the state machine
retries; a re-run re-uploads the same zip unless an update is in progress). The version is checked
against the stable one (preflight.py) and recorded in the alias's lock (for Cleanup). An alias with
its own event invoke config is async: ``asyncTarget`` is recorded (deployment.with_async_target)."""

from __future__ import annotations

import time
from collections.abc import Callable

from aws_lambda_powertools.utilities.typing import LambdaContext

from coalmine import async_gates, deployment, lock, preflight
from coalmine.adapters.lambda_api import LambdaApi
from coalmine.adapters.lambda_async import EventInvokeConfigs
from coalmine.adapters.locks_table import LockTable
from coalmine.adapters.target import clients_of
from coalmine.models import Deployment
from coalmine.observability import count, logger
from coalmine.recording import recorded_step

MAX_WAIT_SECONDS, SAFETY_MARGIN_SECONDS = 60.0, 15.0


@recorded_step
def handler(current: Deployment, context: LambdaContext) -> Deployment:
    budget = context.get_remaining_time_in_millis() / 1000 - SAFETY_MARGIN_SECONDS
    api = clients_of(current).lambda_api  # the function's account's (docs/cross-account.md)
    result = publish(current, api, max_wait_seconds=min(MAX_WAIT_SECONDS, budget))
    if not LockTable().record(result):
        raise lock.lost(result)
    logger.info("version to deploy", extra={"toVersion": result.to_version})
    count("VersionPublished", result.function_name)
    return result


def publish(
    current: Deployment,
    lambda_api: LambdaApi,
    max_wait_seconds: float = MAX_WAIT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> Deployment:
    """The deployment with the version to deploy, checked (and async if the alias is)."""
    name, stable = current.function_name, current.from_version
    if current.code is None:
        version = str(current.to_version)
        preflight.check_target(lambda_api, name, version, stable)
    else:
        updated = lambda_api.deploy_code(name, current.code, max_wait_seconds, sleep)
        note = f"coalmine {current.deployment_id}"
        version = lambda_api.publish_version(name, updated.code_sha256, note)
        preflight.check_new_code(version, stable)
    published = deployment.published(current, version)
    config = EventInvokeConfigs(lambda_api.client).get(name, current.alias)
    if config is not None:
        published = deployment.with_async_target(published, async_gates.target_from_config(config))
    preflight.check_compatible(lambda_api, name, lambda_api.get_function(name, version), stable)
    return published
