"""Lifecycle hooks: a Lambda the user names, invoked with the deployment's details, that tests
the new version directly (by its version number, so no user traffic is involved).

    PreTraffic   before any traffic moves: in ShiftTraffic before the first step, or in Promote
                 when the plan has no weighted step (AllAtOnce, blue/green). FAIL -> ROLLBACK
                 with nothing shifted.
    PostTraffic  in Promote, right after the alias is wholly on the new version. FAIL -> ROLLBACK
                 (the Rollback state puts the old version back); the promotion is not recorded.

The hook receives ``payload(...)`` and answers ``{"status": "SUCCEEDED"}`` or ``{"status":
"FAILED", "reason": "..."}``; anything else (it raised, its answer is not JSON, has no status)
FAILs with a reason saying so, and so does a hook coalmine cannot invoke (InvokeFailed). Each run
is a GateResult (gate ``pre-traffic-hook`` / ``post-traffic-hook``) kept in ``Deployment.hooks``.
A dry run records a FAIL and goes on, as it does for the analysis gates.

A hook with ``analysis.preTrafficHookCallback`` / ``postTrafficHookCallback`` answers later
(the callback mode): instead of invoking it, the handler returns action HOOK with a ``hookWait``
(``waiting``); the state machine's AwaitHook invokes the hook with the payload plus ``taskToken``
(``lambda:invoke.waitForTaskToken``, TimeoutSecondsPath/HeartbeatSecondsPath from the wait) and
puts SendTaskSuccess's output, or the Catch's error (SendTaskFailure, States.Timeout,
States.HeartbeatTimeout, an invocation that failed), in the wait; HookAnswered runs the same
handler again, which judges it (``judge_wait``), records it like a synchronous answer and goes on.

No AWS calls here: the handlers pass the invoke function (adapters/lambda_invoke.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal

from coalmine import deployment
from coalmine.exceptions import InvokeFailed, parse_lambda_error
from coalmine.models import (
    Action,
    Bake,
    Deployment,
    GateResult,
    HookCallback,
    HookWait,
    Invoked,
    Outcome,
    Verdict,
)

Lifecycle = Literal["PreTraffic", "PostTraffic"]
PRE_TRAFFIC: Lifecycle = "PreTraffic"
POST_TRAFFIC: Lifecycle = "PostTraffic"
GATES: dict[str, str] = {PRE_TRAFFIC: "pre-traffic-hook", POST_TRAFFIC: "post-traffic-hook"}
_NAMES = {PRE_TRAFFIC: "pre-traffic hook", POST_TRAFFIC: "post-traffic hook"}
SUCCEEDED, FAILED = "SUCCEEDED", "FAILED"
EXPECTED = '{"status": "SUCCEEDED"} or {"status": "FAILED", "reason": "..."}'
TIMEOUT, HEARTBEAT_TIMEOUT = "States.Timeout", "States.HeartbeatTimeout"  # AwaitHook's Catch
SHOWN_CHARACTERS = 500  # of the hook's answer, kept as evidence (the document stays small)

Invoke = Callable[[str, Mapping[str, Any]], Invoked]


def configured(d: Deployment, lifecycle: Lifecycle) -> str | None:
    """The function to invoke at ``lifecycle``, if the deployment names one."""
    if lifecycle == PRE_TRAFFIC:
        return d.analysis.pre_traffic_hook
    return d.analysis.post_traffic_hook


def callback(d: Deployment, lifecycle: Lifecycle) -> HookCallback | None:
    """The callback settings of the hook at ``lifecycle`` (None: it answers synchronously)."""
    if configured(d, lifecycle) is None:
        return None
    if lifecycle == PRE_TRAFFIC:
        return d.analysis.pre_traffic_hook_callback
    return d.analysis.post_traffic_hook_callback


def payload(d: Deployment, lifecycle: Lifecycle) -> dict[str, Any]:
    """What the hook is invoked with: ``{functionName}:{toVersion}`` is the version to test."""
    return {
        "deploymentId": d.deployment_id,
        "lifecycle": lifecycle,
        "functionName": d.function_name,
        "alias": d.alias,
        "fromVersion": d.from_version,
        "toVersion": d.to_version,
    }


def judge(hook: str, lifecycle: Lifecycle, answer: Invoked) -> GateResult:
    """PASS for ``{"status": "SUCCEEDED"}``; FAIL, saying why, for anything else."""
    evidence = {"function": hook, "lifecycle": lifecycle, "response": _shown(answer.payload)}
    if answer.executed_version:
        evidence["executedVersion"] = answer.executed_version
    if answer.function_error:
        evidence["functionError"] = answer.function_error
        return _result(lifecycle, Verdict.FAIL, f"the hook raised {_error(answer)}", evidence)
    try:
        parsed = json.loads(answer.payload)
    except ValueError:
        why = f"its answer is not JSON; a hook answers {EXPECTED}"
        return _result(lifecycle, Verdict.FAIL, why, evidence)
    status = parsed.get("status") if isinstance(parsed, dict) else None
    if status == SUCCEEDED:
        return _result(lifecycle, Verdict.PASS, "the hook answered SUCCEEDED", evidence)
    if status == FAILED:
        reason = parsed.get("reason")
        text = _shown(str(reason)) if reason else "the hook answered FAILED without a reason"
        return _result(lifecycle, Verdict.FAIL, text, evidence)
    why = "its answer has no status" if status is None else f"it answered status {status!r}"
    return _result(lifecycle, Verdict.FAIL, f"{why}; a hook answers {EXPECTED}", evidence)


def run(d: Deployment, lifecycle: Lifecycle, invoke: Invoke) -> GateResult | None:
    """Invoke the hook configured for ``lifecycle`` and judge its answer (None: no hook)."""
    hook = configured(d, lifecycle)
    if hook is None:
        return None
    try:
        answer = invoke(hook, payload(d, lifecycle))
    except InvokeFailed as error:
        evidence = {"function": hook, "lifecycle": lifecycle}
        return _result(lifecycle, Verdict.FAIL, str(error), evidence)
    return judge(hook, lifecycle, answer)


# ----------------------------------------------------------------------------- callback mode
def waiting(
    d: Deployment, lifecycle: Lifecycle, resume: Action, now: datetime | None
) -> Deployment:
    """``d`` waiting for the hook's callback: action HOOK (AwaitHook), then ``resume`` again."""
    hook, settings = configured(d, lifecycle), callback(d, lifecycle)
    if (
        hook is None
        or settings is None
        or now is None
        or resume not in (Action.SHIFT, Action.PROMOTE)
    ):
        raise ValueError(f"no {_NAMES[lifecycle]} answers by callback here")
    asked = settings.heartbeat_seconds is not None
    # Step Functions: HeartbeatSeconds < TimeoutSeconds; with none asked, its end is the timeout
    heartbeat = settings.heartbeat_seconds or settings.timeout_seconds - 1
    wait = HookWait(
        lifecycle=lifecycle,
        function=hook,
        resume=resume.value,  # type: ignore[arg-type]
        since=now,
        timeout_seconds=settings.timeout_seconds,
        heartbeat_seconds=heartbeat,
        heartbeat_asked=asked,
    )
    return d.model_copy(update={"hook_wait": wait, "action": Action.HOOK})


def waited(d: Deployment, lifecycle: Lifecycle) -> bool:
    """AwaitHook has ended for this hook: its answer (or error) is in ``d.hook_wait``."""
    return d.hook_wait is not None and d.hook_wait.lifecycle == lifecycle


def judge_wait(wait: HookWait, now: datetime | None) -> GateResult:
    """What AwaitHook brought back: SendTaskSuccess's output judged like a synchronous answer;
    the Catch's error (a timeout, a missed heartbeat, SendTaskFailure, a failed invocation)
    FAILs naming which."""
    lifecycle: Lifecycle = wait.lifecycle
    evidence: dict[str, Any] = {"function": wait.function, "lifecycle": lifecycle}
    evidence["mode"] = "callback"
    if now is not None:
        evidence["waitedSeconds"] = max(0, round((now - wait.since).total_seconds()))
    if wait.error is not None:
        error, cause = str(wait.error.get("Error") or ""), wait.error.get("Cause")
        evidence["error"] = _shown(error)
        if error == TIMEOUT or (error == HEARTBEAT_TIMEOUT and not wait.heartbeat_asked):
            why = f"no answer within timeoutSeconds ({wait.timeout_seconds} s; {TIMEOUT})"
            if error != TIMEOUT:  # no heartbeat asked for: its window is the timeout's, less 1 s
                why = f"no answer within timeoutSeconds ({wait.timeout_seconds} s)"
        elif error == HEARTBEAT_TIMEOUT:
            why = (
                f"no heartbeat or answer for heartbeatSeconds ({wait.heartbeat_seconds} s; "
                f"{HEARTBEAT_TIMEOUT})"
            )
        else:
            shown = _shown(f"{error or '(no error name)'}: {cause or '(no cause)'}")
            why = f"it failed (SendTaskFailure, or its invocation failed): {shown}"
        return _result(lifecycle, Verdict.FAIL, why, evidence)
    judged = judge(wait.function, lifecycle, Invoked(payload=json.dumps(wait.answer)))
    return judged.model_copy(update={"evidence": judged.evidence | evidence})


def _answered(d: Deployment, now: datetime | None) -> tuple[Deployment, GateResult]:
    """The wait judged, and ``d`` without it, its action back to the state that resumed."""
    wait = d.hook_wait
    if wait is None:  # (waited() was checked)
        raise ValueError("no hook wait to judge")
    cleared = d.model_copy(update={"hook_wait": None, "action": Action(wait.resume)})
    return cleared, judge_wait(wait, now)


# ----------------------------------------------------------------------------- transitions
def before_traffic(
    d: Deployment, invoke: Invoke, now: datetime | None = None, resume: Action = Action.SHIFT
) -> Deployment:
    """Run the pre-traffic hook if it is due (configured, and no traffic moved yet): an enforced
    FAIL turns the deployment to ROLLBACK before the alias changes. A callback hook: action HOOK
    (``waiting``) the first time, its answer judged when ``resume`` runs again."""
    if d.step_index >= 0 or d.outcome != Outcome.IN_PROGRESS:
        return d
    if waited(d, PRE_TRAFFIC):
        cleared, judged = _answered(d, now)
        return recorded(cleared, judged)
    if callback(d, PRE_TRAFFIC) is not None:
        return waiting(d, PRE_TRAFFIC, resume, now)
    result = run(d, PRE_TRAFFIC, invoke)
    return d if result is None else recorded(d, result)


def after_promotion(
    d: Deployment, revision_id: str, invoke: Invoke, now: datetime | None = None
) -> Deployment:
    """The alias is wholly on the new version (``revision_id``): run the post-traffic hook.
    PASS, no hook, or a dry run -> promoted; an enforced FAIL -> ROLLBACK (outcome PROMOTED
    until Rollback restores the old version, so the alias is claimed as coalmine's). A callback
    hook first waits (action HOOK, the promoted revision recorded, outcome still IN_PROGRESS: a
    stop now puts the old version back) and is judged when Promote runs again."""
    result: GateResult | None
    if waited(d, POST_TRAFFIC):
        d, result = _answered(d, now)
    elif callback(d, POST_TRAFFIC) is not None:
        held = d.model_copy(update={"weight": 1.0, "revision_id": revision_id, "bake": Bake()})
        return waiting(held, POST_TRAFFIC, Action.PROMOTE, now)
    else:
        result = run(d, POST_TRAFFIC, invoke)
    checked = d if result is None else recorded(d, result)
    if checked.action != Action.ROLLBACK:
        return deployment.promoted(checked, revision_id)
    update = {"weight": 1.0, "revision_id": revision_id, "outcome": Outcome.PROMOTED}
    return checked.model_copy(update=update | {"bake": Bake()})


def around_promotion(
    d: Deployment, revision_id: str, invoke: Invoke, now: datetime | None, write: Callable[[], str]
) -> Deployment:
    """Promote's hooks around its alias write (``write``: the promoted RevisionId): the
    pre-traffic hook if due, the write, the post-traffic hook; a callback hook's answer judged
    where its wait began (a post-traffic one: the alias already promoted, ``revision_id``)."""
    if waited(d, POST_TRAFFIC):
        return after_promotion(d, revision_id, invoke, now)
    checked = before_traffic(d, invoke, now, Action.PROMOTE)
    if checked.action in (Action.ROLLBACK, Action.HOOK):
        return checked
    return after_promotion(checked, write(), invoke, now)


def recorded(d: Deployment, result: GateResult) -> Deployment:
    """``d`` with the hook's result in its evidence; an enforced FAIL sets ROLLBACK and why."""
    dry_run = d.analysis.dry_run and result.verdict == Verdict.FAIL
    evidence = result.evidence | {"enforced": not dry_run}
    out = d.model_copy(deep=True)
    out.hooks.append(result.model_copy(update={"evidence": evidence}))
    if result.verdict != Verdict.FAIL:
        return out
    what = f"{_NAMES[evidence['lifecycle']]} {evidence['function']}"
    if dry_run:
        out.reason = out.reason or f"dry run: {what} would have failed: {result.reason}"
        return out
    out.action, out.reason = Action.ROLLBACK, f"{what} failed: {result.reason}"
    return out


def _result(
    lifecycle: Lifecycle, verdict: Verdict, reason: str, evidence: dict[str, Any]
) -> GateResult:
    return GateResult(gate=GATES[lifecycle], verdict=verdict, reason=reason, evidence=evidence)


def _error(answer: Invoked) -> str:
    """Lambda's error payload ``{"errorType", "errorMessage", ...}`` as ``Type: message``."""
    error = parse_lambda_error(answer.payload)
    if error is not None:
        message = "(no message)" if error.message is None else error.message
        return _shown(f"{error.type or answer.function_error}: {message}")
    return f"an error ({answer.function_error}): {_shown(answer.payload) or '(no payload)'}"


def _shown(text: str) -> str:
    return text if len(text) <= SHOWN_CHARACTERS else text[: SHOWN_CHARACTERS - 3] + "..."
