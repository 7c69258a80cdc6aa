"""AwaitApproval: a human gate's wait (coalmine/approvals.py), a ``.waitForTaskToken`` Task of at
most one analysis interval. Its task token goes to the alias's lock (only while this deployment
holds it), where ``coalmine approve|reject`` finds it; a request already in the lock (an
answer given between two waits, an abort) wakes the wait at once, so no answer is lost. The wait's
end (SendTaskSuccess, or its timeout: the tick) leads to Analyze, which acts on the answer."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from coalmine import approvals, operator_actions
from coalmine.adapters.locks_table import LockTable
from coalmine.adapters.stepfunctions import StepFunctionsApi
from coalmine.lock import AwaitingApproval
from coalmine.models import Deployment
from coalmine.observability import log_metrics, logger, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    current = parse(event=event["deployment"], model=Deployment)
    logger.set_correlation_id(current.deployment_id)
    return wait(current, str(event["taskToken"]), LockTable(), StepFunctionsApi())


def wait(
    current: Deployment, token: str, locks: LockTable, sfn: StepFunctionsApi
) -> dict[str, Any]:
    """Record the token in the lock; wake the wait at once if it was answered already."""
    if current.approval is None:  # (the Choice sends only a waiting deployment here)
        raise ValueError("AwaitApproval: the deployment waits for no approval")
    waiting = AwaitingApproval(
        token=token, step=approvals.waiting_step(current), since=current.approval.requested_at
    )
    held = locks.await_approval(current, waiting)
    if held is None:  # no longer ours: the wait times out and Analyze finds the lock lost
        logger.warning("lock not held: the approval token was not recorded")
        return {"recorded": False}
    if operator_actions.pending(current, held.requests):  # an answer, an abort, ...: act now
        try:
            sfn.wake(token)
        except (ClientError, BotoCoreError) as error:  # the wait's timeout (the tick) acts on it
            logger.warning("could not wake the wait", extra={"error": str(error)})
        return {"recorded": True, "answered": True}
    logger.info("waiting for approval", extra={"step": waiting.step})
    return {"recorded": True, "answered": False}
