"""brand-api-smoke handler: coalmine's lifecycle hook for brand-api.

coalmine invokes it with ``{"deploymentId", "lifecycle", "functionName", "alias",
"fromVersion", "toVersion"}``; it invokes ``brand-api:<toVersion>`` directly (never the alias:
no user traffic is involved) with the requests in checks.py and answers ``{"status":
"SUCCEEDED"}`` or ``{"status": "FAILED", "reason": ...}`` naming the first broken check.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from brand_api_smoke import checks

TARGET_ENV = "TARGET_FUNCTION_NAME"  # the only function this hook tests (brand-api)
BRAND_ENV = "SMOKE_BRAND_ID"  # a brand the table holds; empty: only the 404 check runs

logger = Logger()


@functools.cache
def lambda_client() -> Any:
    """Created on first use (never at import, so moto can start first)."""
    return boto3.client("lambda")


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    target = os.environ[TARGET_ENV]
    function, version = event.get("functionName"), str(event.get("toVersion") or "")
    logger.append_keys(deployment_id=event.get("deploymentId"), lifecycle=event.get("lifecycle"))
    if function != target:
        return _failed(f"this hook tests {target}, not {function!r}")
    if not version.isdigit():
        return _failed(f"toVersion {version!r} is not a published version number")
    done = []
    for check in checks.checks(os.environ.get(BRAND_ENV, "").strip() or None):
        answer = _invoke(target, version, checks.request(check.brand_id, context.aws_request_id))
        problem = checks.problem(check, target, version, answer)
        if problem:
            return _failed(problem)
        logger.info("smoke check passed", extra={"check": check.name, "version": version})
        done.append(check.name)
    return {"status": "SUCCEEDED", "checked": done}


def _invoke(function: str, version: str, event: dict[str, Any]) -> checks.Answer:
    response = lambda_client().invoke(
        FunctionName=function, Qualifier=version, Payload=json.dumps(event).encode()
    )
    return checks.Answer(
        payload=response["Payload"].read().decode("utf-8", errors="replace"),
        function_error=response.get("FunctionError"),
        executed_version=response.get("ExecutedVersion"),
    )


def _failed(reason: str) -> dict[str, Any]:
    logger.warning("smoke test failed", extra={"reason": reason})
    return {"status": "FAILED", "reason": reason}
