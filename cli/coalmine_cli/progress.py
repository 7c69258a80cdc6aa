"""Turn a deployment execution's history into progress lines a person can follow.

Used by `coalmine deploy` (a real execution on AWS) and passed to the sandbox's rehearsal by
`coalmine rehearse`: both read the same Step Functions history (coalmine/execution_history.py),
so what a rehearsal prints is what a real deployment prints.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from coalmine.execution_history import cause_message


def _pct(weight: float) -> str:
    return f"{weight * 100:g}%"


def describe_state_exit(state: str, output: dict[str, Any]) -> str | None:
    """One line for a handler's result, or None when the state says nothing worth printing."""
    steps = output.get("steps") or []
    plan = output.get("plan") or {}
    if state == "Prepare":
        return (
            f"plan {plan.get('strategy')}: "
            f"{' -> '.join(_pct(s['weight']) for s in plan.get('steps', [])) or 'no steps'}"
            f" -> 100%{_watched(plan)}; stable version {output.get('fromVersion')}"
        )
    if state == "PublishVersion":
        return f"new version {output.get('toVersion')} ready"
    waiting = output.get("hookWait")
    if state in {"ShiftTraffic", "Promote"} and output.get("action") == "HOOK" and waiting:
        return _hook_wait(output, waiting)
    if state in {"ShiftTraffic", "Promote"} and output.get("action") == "ROLLBACK":  # a hook
        if output.get("outcome") == "PROMOTED":
            return f"100% -> v{output.get('toVersion')}, then {output.get('reason')}"
        return f"not {'shifted' if state == 'ShiftTraffic' else 'promoted'}: {output.get('reason')}"
    if state == "ShiftTraffic":
        total = len(plan.get("steps", []))
        return (
            f"step {output.get('stepIndex', 0) + 1}/{total}: {_pct(output.get('weight', 0))} "
            f"-> v{output.get('toVersion')}, bake {output.get('bake', {}).get('bakeSeconds')} s"
            + (_hooks(output, "pre-traffic-hook") if output.get("stepIndex") == 0 else "")
        )
    acted = _operator_action(output, steps)
    if state == "Analyze" and acted is not None:
        return f"{acted['action']} by {acted['principal']}: {acted['reason']}"
    if state == "Analyze" and steps and steps[-1].get("ticks"):
        tick = steps[-1]["ticks"][-1]
        gates = ", ".join(f"{g['gate']} {g['verdict']}" for g in tick.get("gates", []))
        held = " (paused: the bake clock stopped)" if output.get("pausedAt") else ""
        waiting = output.get("approval")
        if waiting and output.get("action") == "AWAIT":
            held += (
                f" (waiting for approval since {waiting.get('requestedAt')}, up to "
                f"{waiting.get('timeoutSeconds')} s: coalmine approve|reject)"
            )
        return f"analysis at {tick['elapsedSeconds']} s: {tick['verdict']} ({gates}){held}"
    if state == "Promote":
        gates = ["post-traffic-hook"] + ([] if plan.get("steps") else ["pre-traffic-hook"])
        return f"promoted: 100% -> v{output.get('toVersion')}" + _hooks(output, *gates)
    if state == "Rollback":
        return f"rolled back to v{output.get('fromVersion')}: {output.get('reason')}"
    return None


def _hook_wait(output: dict[str, Any], waiting: dict[str, Any]) -> str:
    """A callback-mode hook the deployment now waits for (AwaitHook: docs/reference.md#hooks)."""
    post = waiting.get("lifecycle") == "PostTraffic"
    heartbeat, timeout = waiting.get("heartbeatSeconds"), waiting.get("timeoutSeconds")
    beats = f", a heartbeat at least every {heartbeat} s" if waiting.get("heartbeatAsked") else ""
    return (
        (f"100% -> v{output.get('toVersion')}, then " if post else "")
        + f"waiting for the {'post' if post else 'pre'}-traffic hook {waiting.get('function')}"
        + f" to answer (up to {timeout} s{beats})"
    )


def _operator_action(output: dict[str, Any], steps: list[Any]) -> dict[str, Any] | None:
    """The operator's request this Analyze acted on (applied after its step's last tick), if
    any (docs/operating.md)."""
    actions = output.get("operatorActions") or []
    if not actions:
        return None
    ticks = steps[-1].get("ticks") if steps else None
    last_tick = (ticks[-1].get("at") if ticks else None) or ""
    applied = actions[-1].get("appliedAt") or ""
    return dict(actions[-1]) if applied > last_tick else None


def _watched(plan: dict[str, Any]) -> str:
    """``, watched 300 s after the cutover`` for a plan with a watch after promotion."""
    seconds = plan.get("postPromotionBakeSeconds") or 0
    return f", watched {seconds} s after the cutover" if seconds else ""


def _hooks(output: dict[str, Any], *gates: str) -> str:
    """`` (pre-traffic hook brand-api-smoke PASS)`` for the hooks that ran in this state."""
    ran = [
        f"{h['gate'].removesuffix('-hook')} hook {h['evidence'].get('function')} {h['verdict']}"
        for h in output.get("hooks") or []
        if h.get("gate") in gates
    ]
    return f" ({', '.join(ran)})" if ran else ""


def progress_lines(events: list[dict[str, Any]]) -> Iterator[str]:
    """Progress lines for history events: handler results, the end of the execution."""
    for event in events:
        kind = event["type"]
        if kind == "TaskStateExited":
            details = event["stateExitedEventDetails"]
            line = describe_state_exit(details["name"], json.loads(details.get("output") or "{}"))
            if line:
                yield f"  [{details['name']}] {line}"
        elif kind == "TaskFailed":
            details = event.get("taskFailedEventDetails", {})
            yield f"  [task failed] {details.get('error')}: {_short(details.get('cause'))}"
        elif kind == "ExecutionFailed":
            details = event.get("executionFailedEventDetails", {})
            yield f"  [execution failed] {details.get('error')}: {_short(details.get('cause'))}"
        elif kind == "ExecutionSucceeded":
            yield "  [execution succeeded]"


def _short(text: str | None, limit: int = 300) -> str:
    if not text:
        return ""
    text = cause_message(text) or ""
    return text if len(text) <= limit else text[: limit - 3] + "..."
