"""Pure: coalmine's lifecycle events on the default EventBridge bus (docs/events.md; their JSON
Schemas in schemas/events/). ``source`` "coalmine"; one detail-type per moment of a deployment:

    Deployment Started      Prepare: planned, the alias's lock taken
    Traffic Shifted         ShiftTraffic moved a step's weight; Promote put the alias wholly on
                            the new version (weight 1.0, step null)
    Deployment Promoted     ReleaseLock, the deployment ended promoted
    Deployment Rolled Back  ReleaseLock, ended rolled back (the alias wholly on the old version)
    Deployment Aborted      ReleaseLock, ended aborted: the alias changed out of band (someone
                            else's change left in place), or an operator's abort (rolled back;
                            the reason names them: operator_actions.py)
    Deployment Stopped      Cleanup: the execution was stopped (ABORTED) or timed out
    Deployment Failed       Cleanup: the execution failed without reaching ReleaseLock (a crash,
                            a Rollback that could not finish, a failed publish after the lock)
    Approval Requested      Analyze: a human gate's wait begins (once per gate: approvals.py)

Delivery is at least once (a retried state may emit its event again): ``deploymentId`` with
``detail-type``, ``step`` and ``weight`` identify one. Writes are best effort
(adapters/event_bus.py): never part of a deployment's outcome.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from coalmine import history
from coalmine.models import Deployment, Outcome

SOURCE = "coalmine"
STARTED = "Deployment Started"
SHIFTED = "Traffic Shifted"
PROMOTED = "Deployment Promoted"
ROLLED_BACK = "Deployment Rolled Back"
ABORTED = "Deployment Aborted"
STOPPED = "Deployment Stopped"
FAILED = "Deployment Failed"
APPROVAL_REQUESTED = "Approval Requested"
DETAIL_TYPES = (
    STARTED,
    SHIFTED,
    APPROVAL_REQUESTED,
    PROMOTED,
    ROLLED_BACK,
    ABORTED,
    STOPPED,
    FAILED,
)
#: The endings AlertsTopic hears about (template.yaml's DeploymentAlertsRule).
#: (and a human gate waiting: someone must answer it before its timeout)
ALERTS = (ROLLED_BACK, FAILED, ABORTED, STOPPED, APPROVAL_REQUESTED)
#: How the execution's status (Cleanup's event) names the ending.
CLEANED_UP = {"ABORTED": STOPPED, "TIMED_OUT": STOPPED, "FAILED": FAILED}
#: PutEvents: at most 10 entries per call, 256 KiB per entry and per call (the entry's size:
#: Time 14 bytes, Source, DetailType, Detail and each Resources entry in UTF-8; EventBridge
#: User Guide, "Calculating PutEvents event entry size").
MAX_ENTRIES = 10
MAX_ENTRY_BYTES = 256 * 1024
#: A reason is cut to this many characters (a gate's reason is a sentence; the cut is marked).
REASON_CHARS = 2000
_ENDED = {"PROMOTED": PROMOTED, "ROLLED_BACK": ROLLED_BACK, "ABORTED": ABORTED}
_MOVING = {STARTED, SHIFTED, APPROVAL_REQUESTED}


def after_step(before: Deployment, after: Deployment, *, ended: bool = False) -> list[str]:
    """The detail-types a state handler's step emits: ReleaseLock (``ended``) the ending;
    another step ``Traffic Shifted`` when it moved the new version's weight up, ``Approval
    Requested`` when it began a human gate's wait."""
    if ended:
        return [_ENDED[history.phase(after, ended=True)]]
    if before.approval is None and after.approval is not None:
        return [APPROVAL_REQUESTED]
    moved = after.weight != before.weight and after.weight > 0
    if moved and after.outcome != Outcome.ROLLED_BACK:
        return [SHIFTED]
    return []


#: What Cleanup found, by the execution's status (the reason of Stopped and Failed).
ENDED_BY = {
    "ABORTED": "the execution was stopped (StopExecution, e.g. from the console)",
    "TIMED_OUT": "the execution timed out",
    "FAILED": "the execution failed before the deployment ended (e.g. Rollback could not finish)",
}


def cleaned_up(status: str) -> str | None:
    """Cleanup's event for the execution's status (none for SUCCEEDED: ReleaseLock's)."""
    return CLEANED_UP.get(status)


def detail(
    d: Deployment,
    detail_type: str,
    now: datetime,
    *,
    execution_arn: str | None = None,
    report: str | None = None,
    status: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """The event's ``detail`` (schemas/events/<detail-type>.json). ``execution_arn`` defaults to
    the document's; ``report``: where the deployment's evidence is (s3://.../reports/...);
    ``status``: the execution's, for Stopped and Failed."""
    arn = execution_arn or d.execution_arn
    why = reason or d.reason
    if detail_type == APPROVAL_REQUESTED and d.approval is not None and reason is None:
        why = approval_reason(d)
    if status in ENDED_BY and reason is None:
        why = f"{ENDED_BY[status]}; Cleanup made the alias whole and freed its lock" + (
            f" (last reason: {d.reason})" if d.reason else ""
        )
    body: dict[str, Any] = {
        "deploymentId": d.deployment_id,
        "function": d.function_name,
        "alias": d.alias,
        "fromVersion": d.from_version,
        "toVersion": d.to_version,
        "strategy": d.plan.strategy,
        "step": d.step_index + 1 if d.step_index >= 0 and d.weight < 1 else None,
        "weight": d.weight,
        "outcome": d.outcome.value,
        "phase": history.final_phase(d, ended=detail_type not in _MOVING, status=status),
        "reason": why[:REASON_CHARS] + "...(cut)" if why and len(why) > REASON_CHARS else why,
        "executionArn": arn,
        "consoleUrl": console_url(arn) if arn else None,
        "report": report,
        "reportUrl": report_url(report) if report else None,
        "startedAt": history.iso(d.started_at) if d.started_at else None,
        "time": history.iso(now),
    }
    if status is not None:
        body["status"] = status
    body["summary"] = summary(detail_type, body)
    return body


def approval_reason(d: Deployment) -> str:
    """What an Approval Requested event says: which step waits, until when, and what then."""
    waiting = d.approval
    assert waiting is not None
    until = history.iso(waiting.requested_at + timedelta(seconds=waiting.timeout_seconds))
    step = (
        "post-promotion bake"
        if d.outcome == Outcome.PROMOTED
        else f"step {waiting.step + 1} ({d.weight * 100:g}%)"
    )
    return (
        f"{step} over; waiting for `coalmine approve|reject {d.function_name}:{d.alias}` "
        f"until {until} (then onTimeout {waiting.on_timeout})"
    )


def summary(detail_type: str, body: dict[str, Any]) -> str:
    """One line for a person: what happened, to which alias, between which versions, why, and
    where to look (a chat message or an e-mail subject takes it whole)."""
    versions = f"v{body['fromVersion']} -> v{body['toVersion'] or '?'}"
    weight = f" at {body['weight'] * 100:g}%" if detail_type == SHIFTED else ""
    why = f": {body['reason']}" if body.get("reason") else ""
    where = f" {body['consoleUrl']}" if body.get("consoleUrl") else ""
    what = f"coalmine: {detail_type} {body['function']}:{body['alias']}"
    return f"{what} {versions}{weight}{why}.{where}"


def entry(detail_type: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """One PutEvents entry on the default bus."""
    arn = body.get("executionArn")
    return {
        "Source": SOURCE,
        "DetailType": detail_type,
        "Detail": json.dumps(body, separators=(",", ":")),
        "Resources": [arn] if arn else [],
        "Time": now.astimezone(UTC),
    }


def entry_size(e: dict[str, Any]) -> int:
    """EventBridge's size of a PutEvents entry."""
    size = 14 if e.get("Time") is not None else 0
    size += len(e["Source"].encode()) + len(e["DetailType"].encode())
    size += len(str(e.get("Detail") or "").encode())
    return size + sum(len(r.encode()) for r in e.get("Resources") or [])


def batches(entries: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """PutEvents calls: at most ``MAX_ENTRIES`` entries and ``MAX_ENTRY_BYTES`` each. An entry
    too large alone is left out (the caller counts it)."""
    batch: list[dict[str, Any]] = []
    size = 0
    for e in entries:
        n = entry_size(e)
        if n > MAX_ENTRY_BYTES:
            continue
        if batch and (len(batch) == MAX_ENTRIES or size + n > MAX_ENTRY_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(e)
        size += n
    if batch:
        yield batch


def console_url(execution_arn: str) -> str:
    """The Step Functions console's page of the execution (region and partition from the ARN)."""
    parts = execution_arn.split(":")
    partition, region = parts[1], parts[3]
    host = {
        "aws-cn": f"{region}.console.amazonaws.cn",
        "aws-us-gov": f"{region}.console.amazonaws-us-gov.com",
    }.get(partition, f"{region}.console.aws.amazon.com")
    return f"https://{host}/states/home?region={region}#/v2/executions/details/{execution_arn}"


def report_url(report: str) -> str | None:
    """The S3 console's page of the report's prefix (``report``: s3://bucket/prefix)."""
    if not report.startswith("s3://"):
        return None
    bucket, _, prefix = report[len("s3://") :].partition("/")
    return f"https://s3.console.aws.amazon.com/s3/buckets/{bucket}?prefix={quote(prefix)}"
