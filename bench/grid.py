"""Detection across effect sizes: coalmine, the SPRT yardstick and a fair CodeDeploy alarm.

    python -m bench.grid [--runs 500] [--jobs 2] [--seed 0] [--json OUT]

A grid of error regressions (1.5x, 2x, 3x, 5x of a 1% baseline) at 2, 20 and 200 rps, each a
``Canary10Percent5Minutes`` step (tick 60 s), plus the A/A cells at each rate. Three rules judge
the same runs:

- ``coalmine``: the real gates and tick decision (bench/rules.py);
- ``sprt``: Wald's SPRT on the new version's counts with the true rates known (the yardstick);
- ``alarm-fair``: the best a CodeDeploy user could configure with hindsight: an alarm on the
  alias's error rate (Errors / Invocations, 1-minute periods, 2 of 2 datapoints) whose threshold
  is calibrated per traffic rate on separate A/A runs to at most 1% false alarms over a bake.

Target (issue "Every strategy judged"): in every cell where the yardstick catches >= 20% of runs,
coalmine catches >= 0.7x the yardstick's share, while its A/A false rollbacks stay <= 1%.

Before/after rows (``watch_cells``): the watch after a blue/green or AllAtOnce cutover (5 minutes:
blue/green's default ``bakeSeconds``, AllAtOnce's default ``watchSeconds``; the same judgement,
each strategy's rows drawn from their own seeds). Each minute pairs the new version serving the
whole alias after the cutover with the old version serving it in the mirrored minute before
(bench/simulate.py ``cutover``; steady traffic, the assumption coalmine/watch.py states), judged
by the same gates; ``alarm-fair`` then sees the new version alone (the alias after the cutover).
Targets: A/A <= 1 rollback in 100; a broken version (50% errors, or latency x5) rolled back in
>= 95% of runs; elsewhere >= 0.7x the yardstick where it catches >= 20%.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from bench.canary_bench import BASE, _seed, outcomes, summarize
from bench.rules import Outcome, _served
from bench.simulate import Arm, Scenario, simulate
from coalmine.gates import Period
from coalmine.gates_config import GatesConfig

RATES = (2.0, 20.0, 200.0)
EFFECTS = (1.5, 2.0, 3.0, 5.0)
FALSE_ALARMS = 0.01
BAKE_MINUTES = 5


def cells() -> list[Scenario]:
    grid = [Scenario(f"aa-{r:g}rps", r, BASE, BASE, kind="aa") for r in RATES]
    grid += [
        Scenario(f"{e:g}x-{r:g}rps", r, BASE, Arm(error_rate=BASE.error_rate * e))
        for r in RATES
        for e in EFFECTS
    ]
    return grid


#: The watch after a cutover: (strategy label, its watch in minutes) -- both default to 300 s.
WATCHES = (("bg", 5), ("aao", 5))
WATCH_RATES = (2.0, 20.0, 200.0)
BROKEN = (
    ("errors50pct", Arm(error_rate=0.5)),
    ("latency5x", Arm(error_rate=BASE.error_rate, median_ms=BASE.median_ms * 5)),
)


def watch_cells() -> list[Scenario]:
    """Before/after rows: A/A at each rate, 2x and 5x error regressions at 20 and 200 rps, and a
    broken version (50% errors, latency x5) at 20 rps, for each one-shot strategy's watch."""
    rows: list[tuple[str, float, Arm, str]] = [("aa", r, BASE, "aa") for r in WATCH_RATES]
    rows += [(f"{e:g}x", r, Arm(error_rate=BASE.error_rate * e), "ab")
             for r in (20.0, 200.0) for e in (2.0, 5.0)]  # fmt: skip
    rows += [(name, 20.0, arm, "ab") for name, arm in BROKEN]
    return [
        Scenario(
            f"{label}-{name}-{rps:g}rps",
            rps,
            BASE,
            new,
            kind=kind,
            bake_minutes=minutes,
            cutover=True,
        )
        for label, minutes in WATCHES
        for name, rps, new, kind in rows
    ]


def _alias_rates(periods: list[Period], cutover: bool = False) -> list[float | None]:
    """Per minute, the alias's error rate (None: no request, no datapoint); after a cutover the
    alias serves the new version alone."""
    out: list[float | None] = []
    for p in periods:
        if cutover:
            n, x = p.new.invocations, p.new.errors
        else:
            n, x = p.new.invocations + p.old.invocations, p.new.errors + p.old.errors
        out.append(None if n == 0 else x / n)
    return out


def _two_of_two(rates: list[float | None]) -> float:
    """The highest threshold a 2-of-2 alarm would have crossed in this run (-1: none)."""
    best = -1.0
    for a, b in itertools.pairwise(rates):
        if a is not None and b is not None:
            best = max(best, min(a, b))
    return best


def calibrate(rps: float, runs: int, seed: int) -> float:
    """The lowest alias error-rate threshold with <= 1% of A/A bakes alarming (strictly above)."""
    scn = Scenario(f"calibrate-{rps:g}", rps, BASE, BASE, kind="aa")
    peaks = sorted(
        _two_of_two(_alias_rates(simulate(scn, _seed(seed, "calibrate", rps, run), BAKE_MINUTES,
                                          latency=False)))
        for run in range(runs)
    )  # fmt: skip
    allowed = math.floor(FALSE_ALARMS * runs)  # runs that may alarm
    return max(0.0, peaks[runs - 1 - allowed]) if allowed < runs else 0.0


def alarm_fair(scn: Scenario, periods: list[Period], threshold: float) -> Outcome:
    rates = _alias_rates(periods[:BAKE_MINUTES], scn.cutover)
    for tick in range(2, BAKE_MINUTES + 1):
        a, b = rates[tick - 2], rates[tick - 1]
        if a is not None and b is not None and min(a, b) > threshold:
            return Outcome(True, tick, _served(periods[:tick]))
    return Outcome(False, BAKE_MINUTES, _served(periods[:BAKE_MINUTES]))


def run_cell(
    scn: Scenario, runs: int, seed: int, threshold: float, cfg: GatesConfig
) -> dict[str, Any]:
    per_rule = outcomes(scn, range(runs), seed, cfg)
    fair = [
        alarm_fair(scn, simulate(scn, _seed(seed, scn.name, run), BAKE_MINUTES), threshold)
        for run in range(runs)
    ]
    summary = summarize({"coalmine": per_rule["coalmine"], "sprt": per_rule["sprt"],
                         "alarm-fair": fair}, cfg)  # fmt: skip
    return {rule: r["rollbackShare"] for rule, r in summary.items()}


def verdicts(results: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    rows = []
    for name, shares in results.items():
        c, y = shares["coalmine"], shares["sprt"]
        if any(name.endswith(f"-{b}-20rps") for b, _ in BROKEN):
            rows.append({"cell": name, "target": "broken: detected >= 95%", "met": c >= 0.95,
                         "measured": f"{c:.1%}"})  # fmt: skip
        elif name.startswith("aa-") or "-aa-" in name:
            rows.append({"cell": name, "target": "false rollbacks <= 1%", "met": c <= 0.01,
                         "measured": f"{c:.1%}"})  # fmt: skip
        elif y >= 0.2:
            rows.append({"cell": name, "target": ">= 0.7x yardstick", "met": c >= 0.7 * y,
                         "measured": f"{c:.1%} vs 0.7x{y:.1%}"})  # fmt: skip
    return rows


def render(report: dict[str, Any]) -> str:
    limits = ", ".join(f"{r:g} rps > {t:.2%}" for r, t in report["thresholds"].items())
    lines = [f"alarm-fair thresholds (alias error rate, 2 of 2 minutes, <= 1% A/A false alarms): "
             f"{limits}"]  # fmt: skip
    lines.append(f"{'cell':<12}{'coalmine':>10}{'sprt':>10}{'alarm-fair':>12}")
    for name, shares in report["cells"].items():
        lines.append(f"{name:<12}{shares['coalmine']:>10.1%}{shares['sprt']:>10.1%}"
                     f"{shares['alarm-fair']:>12.1%}")  # fmt: skip
    if report.get("watch"):
        lines.append("")
        lines.append("before/after: the watch after a cutover (bg = blue/green bakeSeconds 300, "
                     "aao = AllAtOnce watchSeconds 300) against the old version's minutes "
                     "before it")  # fmt: skip
        lines.append(f"{'cell':<22}{'coalmine':>10}{'sprt':>10}{'alarm-fair':>12}")
        for name, shares in report["watch"].items():
            lines.append(f"{name:<22}{shares['coalmine']:>10.1%}{shares['sprt']:>10.1%}"
                         f"{shares['alarm-fair']:>12.1%}")  # fmt: skip
    lines.append("")
    met = 0
    for row in report["targets"]:
        met += row["met"]
        status = "MET" if row["met"] else "NOT MET"
        lines.append(f"{row['cell']:<22}{row['target']:<26}{row['measured']:<22}{status}")
    lines.append(f"{met} of {len(report['targets'])} targets met; {report['runs']} runs per cell "
                 f"in {report['seconds']:.1f} s")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.grid", description=__doc__)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", metavar="OUT")
    args = parser.parse_args(argv)
    cfg, started = GatesConfig(), time.monotonic()
    thresholds = {rps: calibrate(rps, max(args.runs, 1000), args.seed + 1) for rps in RATES}
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {
            scn.name: pool.submit(run_cell, scn, args.runs, args.seed, thresholds[scn.rps], cfg)
            for scn in cells()
        }
        watch_futures = {
            scn.name: pool.submit(run_cell, scn, args.runs, args.seed, thresholds[scn.rps], cfg)
            for scn in watch_cells()
        }
        results = {name: future.result() for name, future in futures.items()}
        watch = {name: future.result() for name, future in watch_futures.items()}
    report = {
        "runs": args.runs,
        "seed": args.seed,
        "thresholds": thresholds,
        "cells": results,
        "watch": watch,
        "targets": verdicts(results) + verdicts(watch),
        "seconds": time.monotonic() - started,
    }
    sys.stdout.write(render(report) + "\n")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(report, out, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
