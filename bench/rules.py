"""The rollback rules the benchmark compares, each applied tick by tick to one simulated run.

- ``coalmine``: the real gates (``coalmine.gates.evaluate``) and tick decision
  (``coalmine.analysis.combine``), with bake extension and the low-traffic policy, exactly as the
  Analyze step runs them;
- ``codedeploy``: a CloudWatch alarm on the whole alias, ``Errors > 5`` summed over the last
  2 x 60 s, checked every minute of the bake (CodeDeploy's alarm-based rollback);
- ``alarm-rate``: the sample stack's catastrophe alarm (template.yaml ``brand-api-prod-errors``):
  the alias's error rate above 5% in 2 of the last 3 minutes, minutes with < 60 requests judged 0;
- ``sfn2017``: the 2017 Step Functions sample: ``Errors > 0`` for the new version in the last
  minute;
- ``sprt``: Wald's SPRT on the new version's counts alone with the true rates known (open-ended,
  reject at ``LLR >= ln(1/alpha)``): the yardstick no test that must estimate the old rate beats.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.simulate import Scenario
from coalmine.analysis import combine
from coalmine.gates import Period, evaluate
from coalmine.gates_config import LATENCY_LADDER_MS, GatesConfig
from coalmine.models import TickAction
from coalmine.sequential import wald_log_lr


@dataclass(frozen=True)
class Outcome:
    rolled_back: bool
    minute: int  # tick (minute of the step) at which the run was decided
    new_invocations: float  # the new version's invocations when decided
    low_traffic: bool = False  # rolled back for "not enough traffic"


def _served(periods: Sequence[Period]) -> float:
    return sum(p.new.invocations for p in periods)


def coalmine(scn: Scenario, periods: Sequence[Period], cfg: GatesConfig) -> Outcome:
    extended, tick = 0, 0
    while tick < len(periods):
        tick += 1
        window = periods[:tick]
        bake_over = tick * 60 >= scn.bake_minutes * 60 + extended
        decision = combine(evaluate(window, cfg), bake_over=bake_over, extended_seconds=extended,
                           interval_seconds=60, cfg=cfg)  # fmt: skip
        if decision.action == TickAction.ROLLBACK:
            low = decision.reason.startswith("not enough traffic")
            return Outcome(True, tick, _served(window), low_traffic=low)
        if decision.action == TickAction.PASS:
            return Outcome(False, tick, _served(window))
        if decision.action == TickAction.EXTEND:
            extended += decision.extend_seconds
    raise ValueError(f"simulate at least {tick + 1} minutes for this configuration")


def codedeploy(scn: Scenario, periods: Sequence[Period], _: GatesConfig) -> Outcome:
    for tick in range(1, scn.bake_minutes + 1):
        window = periods[max(0, tick - 2) : tick]
        if sum(p.new.errors + p.old.errors for p in window) > 5:
            return Outcome(True, tick, _served(periods[:tick]))
    return Outcome(False, scn.bake_minutes, _served(periods[: scn.bake_minutes]))


#: template.yaml's BrandApiErrorsAlarm: IF(requests >= 60, errors / requests, 0) > 0.05, 2 of 3
ALARM_RATE, ALARM_MIN_REQUESTS, ALARM_M, ALARM_N = 0.05, 60, 2, 3


def alias_rate_breaches(errors: float, requests: float) -> bool:
    """One minute of the sample alarm: does the alias's error rate breach?"""
    return requests >= ALARM_MIN_REQUESTS and errors / requests > ALARM_RATE


def alarm_rate(scn: Scenario, periods: Sequence[Period], _: GatesConfig) -> Outcome:
    breaches: list[bool] = []
    for tick in range(1, scn.bake_minutes + 1):
        p = periods[tick - 1]
        breaches.append(
            alias_rate_breaches(p.new.errors + p.old.errors, p.new.invocations + p.old.invocations)
        )
        if sum(breaches[-ALARM_N:]) >= ALARM_M:
            return Outcome(True, tick, _served(periods[:tick]))
    return Outcome(False, scn.bake_minutes, _served(periods[: scn.bake_minutes]))


def sfn2017(scn: Scenario, periods: Sequence[Period], _: GatesConfig) -> Outcome:
    for tick in range(1, scn.bake_minutes + 1):
        if periods[tick - 1].new.errors > 0:
            return Outcome(True, tick, _served(periods[:tick]))
    return Outcome(False, scn.bake_minutes, _served(periods[: scn.bake_minutes]))


def yardstick_counts(scn: Scenario) -> tuple[Callable[[Period], float], float, float]:
    """What the SPRT counts on the new version, and the true null / alternative rates.

    Errors at (old rate, new rate), or 2x the old rate on A/A runs; for a latency-only
    regression, requests slower than the ladder threshold nearest the old version's p90.
    """
    old, new = scn.old, scn.new
    if old.error_rate != new.error_rate or old.median_ms == new.median_ms:
        p1 = new.error_rate if new.error_rate != old.error_rate else 2 * old.error_rate
        return (lambda p: p.new.errors), old.error_rate, p1
    p90 = old.median_ms * math.exp(1.2816 * old.sigma)
    t = min(LATENCY_LADDER_MS, key=lambda x: abs(math.log(x / p90)))
    return (lambda p: p.new.over(t) or 0.0), old.share_over(t), new.share_over(t)


def sprt(scn: Scenario, periods: Sequence[Period], cfg: GatesConfig) -> Outcome:
    count, p0, p1 = yardstick_counts(scn)
    bar, llr = math.log(1 / cfg.false_rollback_rate), 0.0
    for tick in range(1, scn.bake_minutes + 1):
        period = periods[tick - 1]
        llr += wald_log_lr(period.new.invocations, count(period), p0, p1)
        if llr >= bar:
            return Outcome(True, tick, _served(periods[:tick]))
    return Outcome(False, scn.bake_minutes, _served(periods[: scn.bake_minutes]))


RULES: dict[str, Callable[[Scenario, Sequence[Period], GatesConfig], Outcome]] = {
    "coalmine": coalmine,
    "codedeploy": codedeploy,
    "alarm-rate": alarm_rate,
    "sfn2017": sfn2017,
    "sprt": sprt,
}
