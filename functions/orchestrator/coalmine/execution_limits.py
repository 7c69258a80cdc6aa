"""Pure: a plan must fit in one Standard execution's history, or Prepare refuses it.

Step Functions records at most 25,000 events in a Standard execution's history; the one that
reaches the limit fails the execution (``States.Runtime``, "The execution reached the maximum
number of history events (25000)."), with no Catch (AWS Step Functions developer guide, "Step
Functions service quotas", quota "Maximum execution history size"; "Using Lambda to continue a
new execution" (bp-history-limit)). A deployment costs a few events per state, most of them per
analysis tick: the Bake Wait (entered, exited), the Analyze Task (entered, scheduled, started,
succeeded, exited) and the NextAction Choice (entered, exited) make ``EVENTS_PER_TICK`` = 9. So a
valid plan such as ``Canary10Percent1440Minutes`` judged every 10 s (8,640 ticks, ~78,000
events) can never finish: ``check`` refuses it in Prepare (and ``coalmine deploy`` before it
starts anything), naming the smallest ``intervalSeconds`` that fits.

The worst case counts every tick a bake can take: its bake, the longest extension for too little
traffic (``maxBakeExtensionSeconds``; none after promotion), the wait for the last minute's
metrics (a minute plus ``metricsDelaySeconds``) and the short last waits, with the last bake
lengthened to an async target's longest retry window; plus each step's ShiftTraffic and
Choice, the fixed states, and ``RETRY_RESERVE`` events for Retry attempts (3 events each).
"""

from __future__ import annotations

import math

from coalmine.exceptions import InvalidInput
from coalmine.models import AnalysisConfig, ExecutionInput, Plan

HISTORY_LIMIT_EVENTS = 25_000
EVENTS_PER_TICK = 9
EVENTS_PER_STEP = 7  # ShiftTraffic (5) + NextAction (2)
#: ExecutionStarted, Prepare, PublishVersion (with FunctionNotReady polls), Choices, Promote,
#: ReleaseLock, Finished, the end state and the execution's end event.
FIXED_EVENTS = 80
RETRY_RESERVE = 1_000  # about 330 retried attempts over the whole deployment
METRICS_MINUTE_SECONDS = 60
LONGEST_ASYNC_RETRY_WINDOW = 300  # async_gates: 2 retries (60 + 120 s) + 120 s for their metrics
#: A human gate's wait per interval (coalmine/approvals.py): AwaitApproval (entered, scheduled,
#: started, submitted, timed out, exited), Analyze (5) and NextAction (2).
EVENTS_PER_APPROVAL_TICK = 13
#: A lifecycle hook in callback mode (coalmine/hooks.py), one wait: AwaitHook (entered,
#: scheduled, started, submitted, ended, exited), HookAnswered (2), the state that asked run
#: again (5) and NextAction (2), rounded up; heartbeats record no event.
EVENTS_PER_CALLBACK_HOOK = 16
_EXTRA_TICKS_PER_BAKE = 2  # the short last wait of the bake and of its extension


def bake_ticks(bake_seconds: int, cfg: AnalysisConfig, *, extensible: bool) -> int:
    """The most analysis ticks one bake can take."""
    extension = cfg.max_bake_extension_seconds if extensible else 0
    span = bake_seconds + extension + METRICS_MINUTE_SECONDS + cfg.metrics_delay_seconds
    return math.ceil(span / cfg.interval_seconds) + _EXTRA_TICKS_PER_BAKE


def worst_case_ticks(plan: Plan, cfg: AnalysisConfig) -> int:
    bakes = [step.bake_seconds for step in plan.steps]
    post = plan.post_promotion_bake_seconds
    if post > 0:
        post = max(post, LONGEST_ASYNC_RETRY_WINDOW)
    elif bakes:
        bakes[-1] = max(bakes[-1], LONGEST_ASYNC_RETRY_WINDOW)
    ticks = sum(bake_ticks(b, cfg, extensible=True) for b in bakes)
    # the watch after a cutover extends for low traffic like any step (coalmine/watch.py)
    return ticks + (bake_ticks(post, cfg, extensible=True) if post > 0 else 0)


def approval_ticks(plan: Plan, cfg: AnalysisConfig) -> int:
    """The most waits the plan's human gates can take (one per interval, until their timeout);
    with ``lowTrafficPolicy`` "ask", any bake (the watch included) may open one."""
    timeouts = [g.timeout_seconds for g in plan.approvals]
    if cfg.low_traffic_policy == "ask":
        bakes = len(plan.steps) + (1 if plan.post_promotion_bake_seconds > 0 else 0)
        timeouts += [cfg.ask_timeout_seconds] * bakes
    return sum(math.ceil(t / cfg.interval_seconds) + 1 for t in timeouts)


def worst_case_events(plan: Plan, cfg: AnalysisConfig) -> int:
    ticks = worst_case_ticks(plan, cfg)
    waits = approval_ticks(plan, cfg) * EVENTS_PER_APPROVAL_TICK
    callbacks = [cfg.pre_traffic_hook_callback, cfg.post_traffic_hook_callback]
    hook_waits = sum(c is not None for c in callbacks) * EVENTS_PER_CALLBACK_HOOK
    return (
        ticks * EVENTS_PER_TICK
        + waits
        + hook_waits
        + len(plan.steps) * EVENTS_PER_STEP
        + FIXED_EVENTS
        + RETRY_RESERVE
    )


def check(request: ExecutionInput, plan: Plan) -> None:
    """InvalidInput(analysis.intervalSeconds) if ``plan`` could outgrow the execution history."""
    cfg = request.analysis
    events = worst_case_events(plan, cfg)
    if events <= HISTORY_LIMIT_EVENTS:
        return
    fits = _smallest_interval(plan, cfg)
    hint = (
        f"use intervalSeconds >= {fits}"
        if fits is not None
        else "no interval fits: shorten the plan"
    )
    raise InvalidInput(
        "analysis.intervalSeconds",
        f"{plan.strategy} judged every {cfg.interval_seconds} s can take up to "
        f"{worst_case_ticks(plan, cfg):,} analysis ticks, about {events:,} Step Functions "
        f"history events (with {RETRY_RESERVE:,} for retries), over the {HISTORY_LIMIT_EVENTS:,} "
        f"a Standard execution may record: {hint} (or lower maxBakeExtensionSeconds)",
    )


def _smallest_interval(plan: Plan, cfg: AnalysisConfig) -> int | None:
    for interval in range(cfg.interval_seconds + 1, 3601):
        trial = cfg.model_copy(update={"interval_seconds": interval})
        if worst_case_events(plan, trial) <= HISTORY_LIMIT_EVENTS:
            return interval
    return None
