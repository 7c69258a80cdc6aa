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

No AWS calls here: the handlers pass the invoke function (adapters/lambda_invoke.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Literal

from coalmine import deployment
from coalmine.exceptions import InvokeFailed, parse_lambda_error
from coalmine.models import Action, Bake, Deployment, GateResult, Invoked, Outcome, Verdict

Lifecycle = Literal["PreTraffic", "PostTraffic"]
PRE_TRAFFIC: Lifecycle = "PreTraffic"
POST_TRAFFIC: Lifecycle = "PostTraffic"
GATES: dict[str, str] = {PRE_TRAFFIC: "pre-traffic-hook", POST_TRAFFIC: "post-traffic-hook"}
_NAMES = {PRE_TRAFFIC: "pre-traffic hook", POST_TRAFFIC: "post-traffic hook"}
SUCCEEDED, FAILED = "SUCCEEDED", "FAILED"
EXPECTED = '{"status": "SUCCEEDED"} or {"status": "FAILED", "reason": "..."}'
SHOWN_CHARACTERS = 500  # of the hook's answer, kept as evidence (the document stays small)

Invoke = Callable[[str, Mapping[str, Any]], Invoked]


def configured(d: Deployment, lifecycle: Lifecycle) -> str | None:
    """The function to invoke at ``lifecycle``, if the deployment names one."""
    if lifecycle == PRE_TRAFFIC:
        return d.analysis.pre_traffic_hook
    return d.analysis.post_traffic_hook


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


# ----------------------------------------------------------------------------- transitions
def before_traffic(d: Deployment, invoke: Invoke) -> Deployment:
    """Run the pre-traffic hook if it is due (configured, and no traffic moved yet): an enforced
    FAIL turns the deployment to ROLLBACK before the alias changes."""
    if d.step_index >= 0 or d.outcome != Outcome.IN_PROGRESS:
        return d
    result = run(d, PRE_TRAFFIC, invoke)
    return d if result is None else recorded(d, result)


def after_promotion(d: Deployment, revision_id: str, invoke: Invoke) -> Deployment:
    """The alias is wholly on the new version (``revision_id``): run the post-traffic hook.
    PASS, no hook, or a dry run -> promoted; an enforced FAIL -> ROLLBACK (outcome PROMOTED
    until Rollback restores the old version, so the alias is claimed as coalmine's)."""
    result = run(d, POST_TRAFFIC, invoke)
    checked = d if result is None else recorded(d, result)
    if checked.action != Action.ROLLBACK:
        return deployment.promoted(checked, revision_id)
    update = {"weight": 1.0, "revision_id": revision_id, "outcome": Outcome.PROMOTED}
    return checked.model_copy(update=update | {"bake": Bake()})


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
