"""CoalmineAlias: the ``Custom::CoalmineAlias`` CloudFormation provider (docs/cloudformation.md).

Invoked by CloudFormation with a Create/Update/Delete request (ServiceToken = this function), and
by its ``OnEnd`` EventBridge rule (CoalmineAliasFunctionOnEnd) with the deployment state
machine's ``Execution Status Change`` events: a deployment it started answers CloudFormation
when it ends (coalmine/cfn_provider.py; decisions in coalmine/custom_resource.py)."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from coalmine import cfn_provider
from coalmine.adapters.cfn_response import AnswerClaims, put_response
from coalmine.adapters.lambda_api import LambdaApi
from coalmine.adapters.stepfunctions import StepFunctionsApi
from coalmine.observability import logger, tracer

STATUS_CHANGE = "Step Functions Execution Status Change"


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ports = _ports()
    if isinstance(event, dict) and event.get("detail-type") == STATUS_CHANGE:
        logger.set_correlation_id(str(event.get("detail", {}).get("name")))
        return cfn_provider.on_end(event["detail"], ports)
    logger.set_correlation_id(str(event.get("RequestId")) if isinstance(event, dict) else None)
    return cfn_provider.on_request(event, ports)


def _ports() -> cfn_provider.Ports:
    executions = StepFunctionsApi()
    machine = os.environ["STATE_MACHINE_ARN"]
    return cfn_provider.Ports(
        aliases=LambdaApi(),
        start=lambda name, body: executions.start(machine, name, body),
        put=lambda url, body: put_response(url, body),
        claims=AnswerClaims(),
        read_input=executions.input_of,
    )
