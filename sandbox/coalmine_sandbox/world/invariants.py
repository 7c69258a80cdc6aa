"""The safety invariant every deployment must end with (the fault matrix and the soak check it
after each deployment into a DeploymentTarget).

After an execution ends (and what its ending triggers has played out):
1. the alias is wholly on one version (no AdditionalVersionWeights);
2. SUCCEEDED only if promoted: if the execution SUCCEEDED (outcome PROMOTED) the alias is on
   the new version; otherwise it is on the stable version (or on the new one if the promotion
   was done before a stop or a timeout: Promote had completed with no watch to follow, or the
   watch after the cutover had passed; or Promote had started before a stop or a timeout with no
   watch to follow: AWS does not cancel a task's Lambda call when the execution stops, so the
   promotion it was making happens, and Cleanup keeps it), or on what someone else set if they
   changed it out of band (never overwritten). Each deployment is judged against its own
   versions: the stable and new ones its own document names (the execution's output, else the
   last document a state returned), the new one from its input's ``targetVersion`` when no
   document names it yet; never the target's defaults, which a deployment of a freshly published
   version does not use;
3. the deployment's record is final: the execution is not RUNNING;
4. the alias lock is free (DeploymentLocksTable, when the stack has one).
"""

from __future__ import annotations

import json
from typing import Any

from ..sandbox import TERMINAL, Sandbox
from .target import DeploymentTarget


def violations(
    target: DeploymentTarget, described: dict[str, Any], tampered_to: str | None = None
) -> list[str]:
    """What is wrong after this execution ended ([] = the invariant holds)."""
    found: list[str] = []
    status = described["status"]
    version, weights = target.routing()
    where = f"{described.get('name', '?')} ({status} {described.get('error') or ''})"
    if status not in TERMINAL:
        found.append(f"{where}: the execution is still {status}")
    if weights:
        found.append(f"{where}: alias left weighted: v{version} + {weights}")
    events = _history(target.sb, described["executionArn"])
    output = json.loads(described.get("output") or "null") or {}
    document = output or _last_document(events)
    promoted = status == "SUCCEEDED" and output.get("outcome") == "PROMOTED"
    if status == "SUCCEEDED" and not promoted:
        found.append(f"{where}: SUCCEEDED with outcome {output.get('outcome')!r}")
    request = _request(described)
    new = str(document.get("toVersion") or request.get("targetVersion") or target.candidate)
    stable = str(document.get("fromVersion") or target.baseline)
    if promoted and version != new:
        found.append(f"{where}: PROMOTED but the alias is on v{version}, not v{new}")
    if not promoted:
        allowed = {stable}
        cut_short = status in {"ABORTED", "TIMED_OUT"}
        watch_follows = ((document.get("plan") or {}).get("postPromotionBakeSeconds") or 0) > 0
        if promotion_done(events) or (cut_short and not watch_follows and _promote_began(events)):
            allowed.add(new)
        if tampered_to:  # someone else's change is never overwritten
            allowed = {tampered_to}
        if version not in allowed:
            found.append(
                f"{where}: not promoted, but the alias is on v{version} "
                f"(expected v{' or v'.join(sorted(allowed))})"
            )
    holder = target.lock_holder()
    if holder is not None:
        found.append(f"{where}: the alias lock is still held by {holder}")
    return found


def promotion_done(events: list[dict[str, Any]]) -> bool:
    """A state returned a document promoted and finished: Promote completed with no watch to
    follow, or the watch after the cutover passed (a stop before that puts the old version
    back)."""
    for event in events:
        if event["type"] != "TaskStateExited":
            continue
        document = json.loads(event["stateExitedEventDetails"].get("output") or "null") or {}
        if document.get("outcome") == "PROMOTED" and document.get("action") == "FINISH":
            return True
    return False


def _promote_began(events: list[dict[str, Any]]) -> bool:
    """Promote was entered (a stopped execution's history records no exit of the task it was
    running, whose Lambda call still ran to its end)."""
    return any(
        e["type"] == "TaskStateEntered" and e["stateEnteredEventDetails"]["name"] == "Promote"
        for e in events
    )


def _last_document(events: list[dict[str, Any]]) -> dict[str, Any]:
    for event in reversed(events):
        if event["type"] == "TaskStateExited":
            document = json.loads(event["stateExitedEventDetails"].get("output") or "null")
            if isinstance(document, dict) and "fromVersion" in document:
                return document
    return {}


def _request(described: dict[str, Any]) -> dict[str, Any]:
    try:
        request = json.loads(described.get("input") or "null")
    except ValueError:
        return {}
    return request if isinstance(request, dict) else {}


def _history(sb: Sandbox, arn: str) -> list[dict[str, Any]]:
    sfn = sb.client("stepfunctions")
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    return events


def rehearsal_violations(sb: Sandbox, result: dict[str, Any]) -> list[str]:
    """The invariant after a rehearsal (`rehearse(..., inspect=...)` calls it with the sandbox
    still open): on the deployment that decided the alias (a second deployment of the same
    alias that SUCCEEDED after the rehearsal's own was stopped, else the rehearsal's own), with
    the version someone set out of band as the one to keep; every execution has ended."""
    sfn = sb.client("stepfunctions")
    target = DeploymentTarget(
        sb,
        result["function"],
        result["alias"]["name"],
        baseline=str(result["fromVersion"]),
        candidate=str(result["toVersion"]),
        publish=False,
    )
    listed = sfn.list_executions(stateMachineArn=sb.stack.state_machine_arn)["executions"]
    ended = [sfn.describe_execution(executionArn=e["executionArn"]) for e in listed]
    found = [f"{e['name']}: still {e['status']}" for e in ended if e["status"] not in TERMINAL]
    main = next(e for e in ended if e["executionArn"] == result["executionArn"])
    seconds = [e for e in ended if e is not main and e["status"] == "SUCCEEDED"]
    deciding = seconds[-1] if seconds else main
    tampered = [
        e["functionVersion"]
        for e in result.get("events", [])
        if e["action"] == "tamper-alias" and "functionVersion" in e
    ]
    # a tamper before a second deployment that then promoted was superseded by it
    tampered_to = tampered[-1] if tampered and deciding is main else None
    return found + violations(target, deciding, tampered_to=tampered_to)
