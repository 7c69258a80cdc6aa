"""Pure: the deployment's item in the ``DeploymentHistory`` table (adapters/history_table.py).

One item per deployment, key ``deploymentKey`` (``function:alias``) + ``startedAt`` (the
execution's start, ISO 8601 UTC): written by Prepare with the execution input, then updated by a
handler whenever the deployment's ``phase`` changes (a step starts or ends, promotion, rollback,
the end), each change appended to ``phases`` with its time. ``expiresAt`` (the table's TTL) is
the start plus the retention the template's ``HistoryRetentionDays`` sets. A write that fails is
retried, then logged and counted (``HistoryWriteFailed``): the history never changes an outcome.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from coalmine import lock, operator_actions
from coalmine.evidence import STATE_LIMIT_BYTES
from coalmine.models import Action, Deployment, Outcome, StepRecord

ABORTED_ERROR = "AliasChangedOutOfBand"
#: The execution input is kept in the item up to this many bytes (StartExecution's own limit).
INPUT_LIMIT_BYTES = STATE_LIMIT_BYTES


def key(d: Deployment) -> dict[str, str]:
    """``function:alias`` (the alias's lock key: ``account:region:function:alias`` for a function
    in another account, docs/cross-account.md) and the start."""
    return {"deploymentKey": lock.deployment_lock_id(d), "startedAt": iso(started(d))}


def started(d: Deployment) -> datetime:
    return _utc(d.started_at) if d.started_at is not None else datetime(1970, 1, 1, tzinfo=UTC)


def iso(t: datetime) -> str:
    """Millisecond ISO 8601 in UTC, one spelling for the key (``2026-12-01T05:12:48.123Z``)."""
    return _utc(t).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def phase(d: Deployment, *, ended: bool = False) -> str:
    """Where the deployment is: PREPARED, STEP <n> (<weight>%) (then with the step's verdict once
    judged, e.g. ``STEP 1 (10%) PASS``), PROMOTING, POST_PROMOTION_BAKE, ROLLING_BACK, then
    (``ended``: its lock released) PROMOTED, ROLLED_BACK or ABORTED."""
    if d.error is not None and d.error.Error in (ABORTED_ERROR, operator_actions.ABORTED_ERROR):
        return "ABORTED"
    if d.outcome == Outcome.ROLLED_BACK or (ended and d.outcome != Outcome.PROMOTED):
        return "ROLLED_BACK"
    if d.action == Action.ROLLBACK:
        return "ROLLING_BACK"
    if d.outcome == Outcome.PROMOTED:
        return "PROMOTED" if ended or d.action == Action.FINISH else "POST_PROMOTION_BAKE"
    post_traffic_wait = d.hook_wait is not None and d.hook_wait.lifecycle == "PostTraffic"
    if d.action == Action.PROMOTE or (d.action == Action.HOOK and post_traffic_wait):
        return "PROMOTING"  # (a post-traffic hook's callback: promoted, not recorded yet)
    if d.step_index >= 0:
        record = d.steps[-1] if d.steps else None
        judged = record is not None and record.index == d.step_index and record.verdict
        verdict = (
            f" {record.verdict.value}" if judged and record is not None and record.verdict else ""
        )
        return f"STEP {d.step_index + 1} ({d.weight * 100:g}%){verdict}"
    return "PREPARED"


def started_item(d: Deployment, request: Any, now: datetime, retention_days: int) -> dict[str, Any]:
    """Prepare's put: the key, the input as given, the plan, the TTL, then ``update``'s fields."""
    text = json.dumps(request, separators=(",", ":"), default=str)
    if len(text.encode()) > INPUT_LIMIT_BYTES:
        text = text[:INPUT_LIMIT_BYTES] + "...(cut)"
    expires = started(d) + timedelta(days=retention_days)
    return {
        **key(d),
        "deploymentId": d.deployment_id,
        "executionArn": d.execution_arn,
        "input": text,
        "plan": json.dumps(d.plan.to_json(), separators=(",", ":")),
        "startedBy": started_by(request),
        "expiresAt": int(expires.timestamp()),
        **fields(d, now),
        "phases": [entry(d, now)],
    }


#: What ``startedBy`` says when the input tells nothing of its caller.
UNKNOWN_CALLER = "unknown caller (StartExecution's caller is in CloudTrail)"
STARTED_BY_CHARS = 256


def started_by(request: Any) -> str:
    """Who asked for the deployment, as the execution input tells it: an upload's requester (the
    S3 event's ``detail.requester``, the uploader's account or AWS service) and object; else
    ``startedBy`` as the caller reported it (the coalmine CLI sends its caller identity's ARN;
    nothing verifies it: CloudTrail's StartExecution record does); else ``UNKNOWN_CALLER``."""
    if not isinstance(request, dict):
        return UNKNOWN_CALLER
    upload = request.get("upload")
    if isinstance(upload, dict):
        detail = _object(upload.get("detail"))
        bucket, obj = _object(detail.get("bucket")), _object(detail.get("object"))
        requester = detail.get("requester") or "an unknown requester"
        where = f"s3://{bucket.get('name', '?')}/{obj.get('key', '?')}"
        return _cut(f"upload of {where} by {requester}")
    said = request.get("startedBy")
    if isinstance(said, str) and said.strip():
        return _cut(f"{said.strip()} (as reported by the caller)")
    return UNKNOWN_CALLER


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _cut(text: str) -> str:
    return text if len(text) <= STARTED_BY_CHARS else text[: STARTED_BY_CHARS - 8] + "...(cut)"


#: How Cleanup records an execution that ended without ReleaseLock (its status -> the phase).
CLEANED_UP = {"ABORTED": "STOPPED", "TIMED_OUT": "TIMED_OUT", "FAILED": "FAILED"}


def fields(
    d: Deployment, now: datetime, *, ended: bool = False, status: str | None = None
) -> dict[str, Any]:
    """What every update sets (None: the attribute is removed or left out); ``status``: the
    execution's, when Cleanup records its end (``CLEANED_UP``)."""
    done = ended or phase(d) in {"PROMOTED", "ROLLED_BACK", "ABORTED"}
    return {
        "phase": final_phase(d, ended=ended, status=status),
        "outcome": d.outcome.value,
        "reason": d.reason,
        "fromVersion": d.from_version,
        "toVersion": d.to_version,
        "strategy": d.plan.strategy,
        "updatedAt": iso(now),
        "endedAt": iso(now) if done else None,
        "durationSeconds": round((now - started(d)).total_seconds(), 1)
        if done and d.started_at
        else None,
        "verdicts": json.dumps([summary(s) for s in d.steps], separators=(",", ":")),
        "evidence": d.evidence.location if d.evidence else None,
        "operatorActions": json.dumps(
            [a.to_json() for a in d.operator_actions], separators=(",", ":")
        )
        if d.operator_actions
        else None,
    }


def entry(
    d: Deployment, now: datetime, *, ended: bool = False, status: str | None = None
) -> dict[str, str]:
    return {"phase": final_phase(d, ended=ended, status=status), "at": iso(now)}


def final_phase(d: Deployment, *, ended: bool, status: str | None) -> str:
    """``phase``, or what Cleanup found: a stopped, timed-out or failed execution's end (one
    whose promotion was already made stays PROMOTED)."""
    if status in CLEANED_UP and not (ended and d.outcome == Outcome.PROMOTED):
        return CLEANED_UP[status]
    return phase(d, ended=ended)


def changed(before: Deployment, after: Deployment, *, ended: bool = False) -> bool:
    """Whether a handler moved the deployment to another phase (or ended it)."""
    return ended or phase(before) != phase(after)


def summary(step: StepRecord) -> dict[str, Any]:
    """One step's verdicts, as the history item keeps them."""
    worst = step.worst_gate
    return {
        "index": step.index,
        "weight": step.weight,
        "verdict": step.verdict.value if step.verdict else None,
        "reason": step.reason,
        "ticks": max(step.tick_count, len(step.ticks)),
        "verdictCounts": step.verdict_counts,
        "worstGate": f"{worst.gate} {worst.verdict.value}: {worst.reason}" if worst else None,
    }


def _utc(t: datetime) -> datetime:
    return t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)
