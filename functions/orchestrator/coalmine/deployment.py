"""Pure state transitions of a Deployment (no AWS calls): the handlers do the I/O around them.

prepared -> published -> shifted (SHIFT/BAKE/PROMOTE) -> ticked -> ... -> promoted -> FINISH
                                               any FAIL or caught error -> rolled back

``ticked``, the transition after an analysis tick, is analysis.py's: it is what a tick decides.
"""

from __future__ import annotations

from datetime import datetime

from coalmine import async_gates, operator_actions, strategies
from coalmine.exceptions import lambda_error_message
from coalmine.models import (
    Action,
    AliasState,
    AnalysisConfig,
    AsyncTarget,
    Bake,
    CodeLocation,
    Deployment,
    ExecutionInput,
    Outcome,
    Plan,
    StepRecord,
    Target,
)

POST_PROMOTION_INDEX = -1
NOT_JUDGED = "not judged: analysis.watchSeconds is 0 (no watch after the cutover)"
#: The state that was running when a Catch sent the deployment to Rollback, by its action.
STATE_BY_ACTION = {
    Action.SHIFT: "ShiftTraffic",
    Action.BAKE: "Analyze",
    Action.PROMOTE: "Promote",
    Action.AWAIT: "AwaitApproval",
    Action.HOOK: "AwaitHook",
}


def prepared(
    deployment_id: str,
    function_name: str,
    alias: str,
    from_version: str,
    revision_id: str,
    plan: Plan,
    analysis_config: AnalysisConfig,
    target_version: str | None,
    code: CodeLocation | None,
) -> Deployment:
    return Deployment(
        deployment_id=deployment_id,
        function_name=function_name,
        alias=alias,
        from_version=from_version,
        to_version=target_version,
        code=code,
        revision_id=revision_id,
        plan=plan,
        analysis=analysis_config,
        action=Action.SHIFT,
    )


def planned(
    deployment_id: str,
    request: ExecutionInput,
    alias: AliasState,
    taken_over: str | None = None,
    started_at: datetime | None = None,
    target: Target | None = None,
) -> Deployment:
    """``prepared`` for an execution's input and the alias it starts from (``started_at``: the
    execution's start, the key of its history item; ``target``: another account's function,
    coalmine/targets.py)."""
    planned = prepared(
        deployment_id=deployment_id,
        function_name=request.function_name,
        alias=request.alias,
        from_version=alias.function_version,
        revision_id=alias.revision_id,
        plan=strategies.with_watch(
            strategies.resolve(request.strategy), request.analysis.watch_seconds
        ),
        analysis_config=request.analysis,
        target_version=request.target_version,
        code=request.code,
    )
    update = {"taken_over": taken_over, "started_at": started_at, "target": target}
    return planned.model_copy(update=update)


def published(deployment: Deployment, to_version: str) -> Deployment:
    action = Action.SHIFT if deployment.plan.steps else Action.PROMOTE
    return deployment.model_copy(update={"to_version": to_version, "action": action})


def with_async_target(deployment: Deployment, target: AsyncTarget) -> Deployment:
    """The alias is invoked asynchronously: record it, and make the last bake before promotion
    at least the retry window (``async_gates.retry_window_seconds``), so the new version's failed
    events have had every retry, and their metrics are in, before it can be promoted. If that
    bake is the one running (found at a tick), it is lengthened too. Idempotent."""
    window = async_gates.retry_window_seconds(target.maximum_retry_attempts)
    plan, change = strategies.with_minimum_last_bake(deployment.plan, window)
    note = deployment.async_target.last_bake if deployment.async_target else None
    if change is not None:
        retries = target.maximum_retry_attempts
        delays = " + ".join(f"{d} s" for d in async_gates.RETRY_DELAYS_SECONDS[:retries])
        plural = "retry" if retries == 1 else "retries"
        note = (f"{change}: an async target's last bake covers its retry window ({retries} "
                f"{plural}: {delays or 'none'}, plus {async_gates.METRICS_LAG_SECONDS} s for "
                f"their metrics)")  # fmt: skip
    target = target.model_copy(update={"retry_window_seconds": window, "last_bake": note})
    d = deployment.model_copy(update={"plan": plan, "async_target": target}, deep=True)
    if change is None or d.action != Action.BAKE or not d.steps:
        return d
    record = d.steps[-1]
    running_last = record.index == len(plan.steps) - 1 and d.outcome != Outcome.PROMOTED
    running_post = record.index == POST_PROMOTION_INDEX and not plan.steps
    if running_last or running_post:
        bake = plan.steps[-1].bake_seconds if running_last else plan.post_promotion_bake_seconds
        record.bake_seconds = bake
        d.bake.bake_seconds = bake
    return d


def next_step_weight(deployment: Deployment) -> float:
    return deployment.plan.steps[deployment.step_index + 1].weight


def shifted(deployment: Deployment, revision_id: str) -> Deployment:
    """The alias now routes the next step's weight to the new version."""
    index = deployment.step_index + 1
    step = deployment.plan.steps[index]
    record = StepRecord(index=index, weight=step.weight, bake_seconds=step.bake_seconds)
    d = deployment.model_copy(
        update={"step_index": index, "weight": step.weight, "revision_id": revision_id},
        deep=True,
    )
    d.steps.append(record)
    return _start_bake(d, record)


def promoted(deployment: Deployment, revision_id: str) -> Deployment:
    d = deployment.model_copy(
        update={"weight": 1.0, "revision_id": revision_id, "outcome": Outcome.PROMOTED},
        deep=True,
    )
    bake = d.plan.post_promotion_bake_seconds
    record = StepRecord(index=POST_PROMOTION_INDEX, weight=1.0, bake_seconds=bake)
    if bake <= 0:
        if d.plan.strategy == strategies.ALL_AT_ONCE:  # opted out: say so in the document
            record.reason = NOT_JUDGED
            d.steps.append(record)
        d.bake, d.action = Bake(), Action.FINISH
        return d
    d.steps.append(record)
    return _start_bake(d, record)


def rolled_back(deployment: Deployment, revision_id: str) -> Deployment:
    return deployment.model_copy(
        update={
            "weight": 0.0,
            "revision_id": revision_id,
            "outcome": Outcome.ROLLED_BACK,
            "action": Action.ROLLBACK,
            "reason": rollback_reason(deployment),
            "bake": Bake(),
        }
    )


def rollback_reason(deployment: Deployment) -> str:
    """Why we roll back: an analysis FAIL's reason, or the error a Catch put at ``$.error``."""
    if operator_actions.aborted(deployment):
        return deployment.reason or operator_actions.ABORTED_ERROR
    if deployment.error is not None:
        state = STATE_BY_ACTION.get(deployment.action, "a step")
        return f"{state} failed: {deployment.error.Error}: {_cause(deployment.error.Cause)}"
    return deployment.reason or "rolled back (no reason given)"


def _start_bake(d: Deployment, record: StepRecord) -> Deployment:
    bake = record.bake_seconds
    if bake <= 0:
        record.reason = "no bake time: not analysed"
        d.bake = Bake()
        d.action = after_step(d)
        return d
    d.bake = Bake(
        bake_seconds=bake, elapsed_seconds=0, wait_seconds=min(d.analysis.interval_seconds, bake)
    )
    d.action = Action.BAKE
    return d


def after_step(d: Deployment) -> Action:
    """What follows a step that is over: the next shift, promotion, or (after it) the end."""
    if d.outcome == Outcome.PROMOTED:
        return Action.FINISH
    return Action.SHIFT if d.step_index + 1 < len(d.plan.steps) else Action.PROMOTE


def step_name(record: StepRecord) -> str:
    """How a reason names a step: ``step 1 (10%)``, or ``post-promotion bake`` (the watch after
    the cutover)."""
    if record.index == POST_PROMOTION_INDEX:
        return "post-promotion bake"
    return f"step {record.index + 1} ({record.weight * 100:g}%)"


def _cause(cause: str | None) -> str:
    """Lambda's Cause is JSON ``{"errorMessage", "errorType", ...}``; keep just the message."""
    return lambda_error_message(cause) if cause else "(no cause given)"


_DECIDING = {Action.PROMOTE, Action.FINISH, Action.ROLLBACK}


def decided(before: Deployment, after: Deployment, now: datetime) -> Deployment:
    """``after`` with ``decided_at`` set when its step decided: the first step to choose
    promotion or rollback, or (the alias already promoted: the watch) the step that ends the
    watch or rolls back. Promote's own FINISH after an unwatched promotion decides nothing new."""
    if after.action == before.action or after.action not in _DECIDING:
        return after
    if after.decided_at is not None and before.outcome != Outcome.PROMOTED:
        return after
    return after.model_copy(update={"decided_at": now})
