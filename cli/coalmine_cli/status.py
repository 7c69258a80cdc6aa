"""`coalmine status FUNCTION[:ALIAS] | EXECUTION_ARN`: where a deployment is, read-only, from its
execution (DescribeExecution, GetExecutionHistory): the state it is in and since when, the step
and the alias's routing (as the last routing state left it), the bake (elapsed, the next
analysis, the step's end, as times: the CLI's clock may not be AWS's), the running step's latest
ticks (the deployment document keeps the last few: coalmine/evidence.py), and where the rest of
the evidence is; each version's invocations and errors in the step (the errors gate's evidence
at the latest analysis). An ended execution says how it ended."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from coalmine import timeline
from coalmine.execution_timeline import last_document
from coalmine_cli.executions import Row, row


def _hms(t: datetime) -> str:
    return timeline.utc(t).strftime("%Y-%m-%d %H:%M:%S")


def _current_state(events: list[dict[str, Any]]) -> tuple[str | None, datetime | None]:
    for event in reversed(events):
        details = event.get("stateEnteredEventDetails")
        if details:
            return str(details.get("name")), timeline.utc(event["timestamp"])
    return None, None


def _routing(document: dict[str, Any], events: list[dict[str, Any]]) -> str:
    changes = timeline.routing_changes(events)
    old = document.get("fromVersion")
    routing = changes[-1][2] if changes else ({str(old): 1.0} if old else {})
    return ", ".join(f"v{v} {share * 100:g}%" for v, share in routing.items()) or "unknown"


def lines(description: dict[str, Any], events: list[dict[str, Any]]) -> list[str]:
    """What `coalmine status` prints for one execution."""
    summary: Row = row(description)
    document = last_document(description, events)
    out = [summary.line().splitlines()[0]]
    if description["status"] != "RUNNING":
        out.append(f"  ended   {summary.outcome or description['status']}")
        if summary.reason:
            out.append(f"  reason  {summary.reason}")
        return out
    state, since = _current_state(events)
    if state is not None and since is not None:
        out.append(f"  state   {state} (since {_hms(since)})")
    if not document:
        out.append("  (no deployment document yet: Prepare has not finished)")
        return out
    plan_steps = len((document.get("plan") or {}).get("steps") or [])
    index = int(document.get("stepIndex", -1))
    weight = float(document.get("weight") or 0.0)
    step = f"{index + 1}/{plan_steps} at {weight * 100:g}%" if index >= 0 else "not shifted yet"
    out.append(f"  step    {step}; routing {_routing(document, events)}")
    out.extend(_bake(document, state, since))
    out.extend(_operator(document))
    out.extend(_traffic(document))
    out.extend(_gate(document, description))
    out.extend(_hook(document))
    out.extend(_ticks(document))
    evidence = document.get("evidence") or {}
    if evidence.get("location"):
        out.append(
            f"  evidence {evidence['location']} ({evidence.get('ticksWritten', 0)} ticks written"
            f", {evidence.get('ticksLost', 0)} lost)"
        )
    return out


def _bake(document: dict[str, Any], state: str | None, since: datetime | None) -> list[str]:
    bake = document.get("bake") or {}
    total = int(bake.get("bakeSeconds") or 0) + int(bake.get("extendedSeconds") or 0)
    if not total:
        return []
    elapsed = int(bake.get("elapsedSeconds") or 0)
    text = f"  bake    {elapsed} of {total} s"
    if state == "Bake" and since is not None:
        wait = int(bake.get("waitSeconds") or 0)
        text += f"; next analysis at {_hms(since + timedelta(seconds=wait))}"
        ends = since + timedelta(seconds=total - elapsed)
        text += f"; step ends at {_hms(ends)} (next step or promotion then, if it passes)"
    return [text]


def _operator(document: dict[str, Any]) -> list[str]:
    """A pause holding the step, and the last operator action acted on."""
    out = []
    if document.get("pausedAt"):
        paused = _hms(datetime.fromisoformat(str(document["pausedAt"]).replace("Z", "+00:00")))
        out.append(f"  paused  since {paused}: the weight is held (`coalmine resume` bakes on)")
    actions = document.get("operatorActions") or []
    if actions:
        last = actions[-1]
        out.append(
            f"  operator {last.get('action')} by {last.get('principal')}: {last.get('reason')}"
            f" ({len(actions)} acted on)"
        )
    return out


def _traffic(document: dict[str, Any]) -> list[str]:
    """Each version's invocations and errors in this step, as its latest analysis counted them
    (the errors gate's evidence: the totals over the step's minutes read so far)."""
    steps = document.get("steps") or []
    for tick in reversed((steps[-1].get("ticks") or []) if steps else []):
        for gate in tick.get("gates") or []:
            found = gate.get("evidence") or {}
            if gate.get("gate") == "errors" and "newInvocations" in found:
                return [
                    f"  traffic v{document.get('toVersion')}: {found['newInvocations']:g} "
                    f"invocations, {found['newErrors']:g} errors; v{document.get('fromVersion')}: "
                    f"{found['oldInvocations']:g} invocations, {found['oldErrors']:g} errors "
                    f"(this step, at {tick.get('elapsedSeconds')} s)"
                ]
    return []


def _gate(document: dict[str, Any], description: dict[str, Any]) -> list[str]:
    """A human gate the deployment waits at (docs/approvals.md): since when, until when, how to
    answer it."""
    waiting = document.get("approval")
    if not waiting or document.get("action") != "AWAIT":
        return []
    since = datetime.fromisoformat(str(waiting["requestedAt"]).replace("Z", "+00:00"))
    until = since + timedelta(seconds=int(waiting.get("timeoutSeconds") or 0))
    target = f"{document.get('functionName')}:{document.get('alias')}"
    return [
        f"  gate    waiting for approval since {_hms(since)}, until {_hms(until)} (then "
        f"{waiting.get('onTimeout')}): coalmine approve|reject {target} --reason ..."
    ]


def _hook(document: dict[str, Any]) -> list[str]:
    """A callback-mode lifecycle hook the deployment waits for (docs/reference.md#hooks)."""
    waiting = document.get("hookWait")
    if not waiting or document.get("action") != "HOOK":
        return []
    since = datetime.fromisoformat(str(waiting["since"]).replace("Z", "+00:00"))
    until = since + timedelta(seconds=int(waiting.get("timeoutSeconds") or 0))
    beats = waiting.get("heartbeatSeconds") if waiting.get("heartbeatAsked") else None
    return [
        f"  hook    waiting for the {str(waiting.get('lifecycle')).lower()[:-7]}-traffic hook "
        f"{waiting.get('function')} since {_hms(since)}, until {_hms(until)} (then rollback)"
        + (f"; a heartbeat at least every {beats} s" if beats else "")
    ]


def _ticks(document: dict[str, Any]) -> list[str]:
    steps = document.get("steps") or []
    if not steps:
        return []
    last = steps[-1]
    counts = ", ".join(f"{n} {v}" for v, n in sorted((last.get("verdictCounts") or {}).items()))
    out = [f"  verdicts {counts or 'none yet'} (this step)"]
    for tick in (last.get("ticks") or [])[-3:]:
        gates = ", ".join(f"{g['gate']} {g['verdict']}" for g in tick.get("gates") or [])
        out.append(
            f"    at {tick.get('elapsedSeconds')} s: {tick.get('verdict')} ({gates})"
            f"{': ' + tick['reason'] if tick.get('reason') else ''}"
        )
    return out
