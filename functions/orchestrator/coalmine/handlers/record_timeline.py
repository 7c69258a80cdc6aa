"""RecordTimeline: as a deployment's execution ends, every ending (its OnEnd rule: SUCCEEDED,
FAILED, ABORTED, TIMED_OUT), write its timeline (coalmine/execution_timeline.py) next to its
ticks: ``reports/<function>/<alias>/<deploymentId>/timeline.json``. Off the deployment's path:
the outcome is decided before it runs and nothing reads its result; a failure is retried by
Lambda (2 async retries), then the event goes to RecordTimelineDeadLetterQueue, and
``coalmine report`` rebuilds the timeline as before (docs/report.md).

It first waits, within the invocation, until CloudWatch has the end minute's figures
(timeline.settle_wait: at most 60 + SETTLE_SECONDS s), so the stored timeline is complete
(``metricsComplete``) and outlives CloudWatch's 15 days of 1-minute data."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from coalmine import recovery, timeline
from coalmine.adapters import timeline_sources
from coalmine.adapters.reports_bucket import BUCKET_ENV
from coalmine.execution_timeline import NoEvidence
from coalmine.observability import log_metrics, logger, tracer

MARGIN_SECONDS = 60.0  # of the invocation's time kept for the reads and the write


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    change = parse(event=event, model=recovery.ExecutionEnded).detail
    logger.set_correlation_id(change.name)
    sfn, s3, cloudwatch = (_client(s) for s in ("stepfunctions", "s3", "cloudwatch"))
    try:
        execution = timeline_sources.read_execution(sfn, change.execution_arn)
    except NoEvidence as error:  # it ended before Prepare: nothing to draw
        logger.info("no timeline", extra={"why": str(error)})
        return {"executionArn": change.execution_arn, "key": None}
    budget = context.get_remaining_time_in_millis() / 1000 - MARGIN_SECONDS
    before = datetime.now(UTC)
    waited = max(0.0, min(timeline.settle_wait(execution.ended, before), budget))
    time.sleep(waited)
    after = before + timedelta(seconds=waited)  # (at least: the clock may say more)
    tl = timeline_sources.build(execution, s3, cloudwatch, lambda: max(datetime.now(UTC), after))
    key = timeline_sources.write_timeline(s3, os.environ[BUCKET_ENV], tl)
    logger.info("timeline written", extra={"key": key, "waitedSeconds": waited,
                                           "metricsComplete": tl["metricsComplete"]})  # fmt: skip
    return {"executionArn": change.execution_arn, "key": key,
            "metricsComplete": tl["metricsComplete"]}  # fmt: skip


def _client(service: str) -> Any:
    return boto3.client(service, config=Config(retries={"mode": "standard"}))
