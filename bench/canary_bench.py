"""Benchmark of canary rollback rules on simulated CloudWatch counts.

    python -m bench.canary_bench [--runs 1000] [--json OUT] [--jobs 2] [--seed 0]

For every scenario, ``--runs`` seeded runs of a ``Canary10Percent5Minutes`` step (tick 60 s);
every rule (bench/rules.py) judges the same runs. Printed per rule: the share of runs rolled
back (false rollbacks on A/A, detections within the bake on A/B), the median minute of
rollback, and the share promoted before the new version served ``minInvocations``; then the
targets with the measured values, MET / NOT MET, and for the 2x regression at 20 rps
the bake a test would have needed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from typing import Any

from bench.rules import RULES, Outcome, alias_rate_breaches
from bench.simulate import Arm, Scenario, poisson, simulate
from coalmine.gates import errors_test, gate_alpha
from coalmine.gates_config import GatesConfig
from coalmine.sequential import wald_log_lr

BASE = Arm(error_rate=0.01)
SCENARIOS = (
    Scenario("aa-20rps", 20, BASE, BASE, kind="aa"),
    Scenario("aa-200rps", 200, BASE, BASE, kind="aa"),
    Scenario("5x-20rps", 20, BASE, Arm(error_rate=0.05)),
    Scenario("2x-200rps", 200, BASE, Arm(error_rate=0.02)),
    Scenario("2x-20rps", 20, BASE, Arm(error_rate=0.02)),
    Scenario("latency3x-20rps", 20, Arm(0.0), Arm(0.0, median_ms=300.0)),
    Scenario("low-0.2rps", 0.2, BASE, BASE, kind="low"),
    # no target: shows what the prior's weight on 2.5x costs small regressions at high traffic
    Scenario("1.5x-200rps", 200, BASE, Arm(error_rate=0.015)),
)
BAKE_NEEDED_SCENARIO, BAKE_NEEDED_HORIZON = "2x-20rps", 240
CHUNK = 250  # runs per worker task


def _seed(*parts: object) -> int:
    """A run's seed, the same in every process (``hash`` of a str is salted per process)."""
    return zlib.crc32(":".join(map(str, parts)).encode())


def outcomes(scn: Scenario, runs: range, seed: int, cfg: GatesConfig) -> dict[str, list[Outcome]]:
    """Every rule's outcome on each of ``runs`` (seeded runs of ``scn``)."""
    longest = scn.bake_minutes + math.ceil(cfg.max_bake_extension_seconds / 60)
    result: dict[str, list[Outcome]] = {rule: [] for rule in RULES}
    for run in runs:
        run_seed = _seed(seed, scn.name, run)
        periods = simulate(scn, run_seed, scn.bake_minutes)
        for name, rule in RULES.items():
            try:
                result[name].append(rule(scn, periods, cfg))
            except ValueError:  # coalmine extended the bake: same run, more minutes
                periods = simulate(scn, run_seed, longest)
                result[name].append(rule(scn, periods, cfg))
    return result


def summarize(per_rule: dict[str, list[Outcome]], cfg: GatesConfig) -> dict[str, Any]:
    result = {}
    for name, outs in per_rule.items():
        runs = len(outs)
        minutes = [o.minute for o in outs if o.rolled_back and not o.low_traffic]
        result[name] = {
            "rollbackShare": sum(o.rolled_back and not o.low_traffic for o in outs) / runs,
            "lowTrafficRollbackShare": sum(o.low_traffic for o in outs) / runs,
            "medianMinute": statistics.median(minutes) if minutes else None,
            "promotedBelowMinShare": sum(
                not o.rolled_back and o.new_invocations < cfg.min_invocations for o in outs
            )
            / runs,
        }
    return result


def run_scenario(scn: Scenario, runs: int, seed: int, cfg: GatesConfig) -> dict[str, Any]:
    return summarize(outcomes(scn, range(runs), seed, cfg), cfg)


def bake_needed(scn: Scenario, runs: int, seed: int, cfg: GatesConfig) -> dict[str, Any]:
    """First minute each test rejects on long runs (errors only): the errors gate's own
    exact ``RatioTest`` at its share of alpha, and the SPRT yardstick."""
    first: dict[str, list[float]] = {"coalmine": [], "sprt": []}
    bar_c, bar_s = math.log(1 / gate_alpha(cfg)), math.log(1 / cfg.false_rollback_rate)
    p0, p1 = scn.old.error_rate, scn.new.error_rate
    for run in range(runs):
        periods = simulate(scn, _seed(seed, "long", run), BAKE_NEEDED_HORIZON,
                           latency=False)  # fmt: skip
        test, llr, hit = errors_test(cfg), 0.0, {}
        for minute, p in enumerate(periods, start=1):
            test.update(p.new.invocations, p.new.errors, p.old.invocations, p.old.errors)
            llr += wald_log_lr(p.new.invocations, p.new.errors, p0, p1)
            if test.log_e >= bar_c:
                hit.setdefault("coalmine", minute)
            if llr >= bar_s:
                hit.setdefault("sprt", minute)
            if len(hit) == 2:
                break
        for rule in first:
            first[rule].append(hit.get(rule, math.inf))
    out = {}
    for rule, minutes in first.items():
        ranked = sorted(minutes)
        q95 = ranked[math.ceil(0.95 * runs) - 1]
        out[rule] = {
            "medianMinutes": statistics.median(ranked),
            "minutesFor95Percent": None if q95 == math.inf else q95,
        }
    return out


LONG_AA_RPS, LONG_AA_MINUTES = 5, 100


def long_aa_alarms(runs: int, seed: int) -> dict[str, Any]:
    """Share of long healthy deployments each alias alarm would roll back (A/A: the alias's
    error rate is 1% whatever the weights): the sample's error-rate alarm (2 of 3 minutes
    above 5%) and the error-count alarm it replaced (more than 5 errors in each of 2 minutes)."""

    fired = {"alarm-rate": 0, "errors>5 (old sample)": 0}
    for run in range(runs):
        rng = random.Random(_seed(seed, "long-aa", run))
        rate, count = [], []
        hit: set[str] = set()
        for _ in range(LONG_AA_MINUTES):
            requests = poisson(rng, LONG_AA_RPS * 60)
            errors = rng.binomialvariate(requests, BASE.error_rate) if requests else 0
            rate.append(alias_rate_breaches(errors, requests))
            count.append(errors > 5)
            if sum(rate[-3:]) >= 2:
                hit.add("alarm-rate")
            if len(count) >= 2 and all(count[-2:]):
                hit.add("errors>5 (old sample)")
        for rule in hit:
            fired[rule] += 1
    return {
        "rps": LONG_AA_RPS,
        "minutes": LONG_AA_MINUTES,
        "falseAlarmShare": {rule: n / runs for rule, n in fired.items()},
    }


def _targets(res: dict[str, Any], cfg: GatesConfig) -> list[dict[str, Any]]:
    def share(s: str, r: str = "coalmine") -> float:
        return res[s][r]["rollbackShare"]

    rows: list[tuple[str, str, str, bool]] = []
    for s in ("aa-20rps", "aa-200rps"):
        rows.append((s, "false rollbacks <= 1%", f"{share(s):.1%}", share(s) <= 0.01))
    for s in ("5x-20rps", "2x-200rps"):
        yard, med = share(s, "sprt"), res[s]["coalmine"]["medianMinute"]
        rows.append((s, "detected >= 95%", f"{share(s):.1%}", share(s) >= 0.95))
        rows.append((s, ">= 0.9x yardstick", f"{share(s):.1%} vs 0.9x{yard:.1%}",
                     share(s) >= 0.9 * yard))  # fmt: skip
        rows.append((s, "median ticks <= 2", f"{med}", med is not None and med <= 2))
    yard = share("2x-20rps", "sprt")
    rows.append(("2x-20rps", ">= 0.8x yardstick", f"{share('2x-20rps'):.1%} vs 0.8x{yard:.1%}",
                 share("2x-20rps") >= 0.8 * yard))  # fmt: skip
    lat = share("latency3x-20rps")
    rows.append(("latency3x-20rps", "detected >= 95%", f"{lat:.1%}", lat >= 0.95))
    for s in ("aa-20rps", "aa-200rps"):
        alarm = share(s, "alarm-rate")
        rows.append((s, "alarm-rate false <= 1%", f"{alarm:.1%}", alarm <= 0.01))
    blind = res["low-0.2rps"]["coalmine"]["promotedBelowMinShare"]
    rows.append(("low-0.2rps", f"promoted < {cfg.min_invocations} inv. = 0", f"{blind:.1%}",
                 blind == 0))  # fmt: skip
    keys = ("scenario", "target", "measured", "met")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def _fmt(value: float | None, pct: bool = True) -> str:
    if value is None:
        return "-"
    return f"{value:.1%}" if pct else f"{value:g}"


def render(report: dict[str, Any]) -> str:
    lines = [f"{'scenario':<16}{'rule':<11}{'rolled back':>12}{'median min':>11}"
             f"{'low-traffic RB':>15}{'promoted<min':>13}"]  # fmt: skip
    for scn, rules in report["scenarios"].items():
        for rule, r in rules.items():
            lines.append(f"{scn:<16}{rule:<11}{_fmt(r['rollbackShare']):>12}"
                         f"{_fmt(r['medianMinute'], False):>11}"
                         f"{_fmt(r['lowTrafficRollbackShare']):>15}"
                         f"{_fmt(r['promotedBelowMinShare']):>13}")  # fmt: skip
    lines += ["", f"{'scenario':<16}{'target':<26}{'measured':<22}status"]
    for t in report["targets"]:
        status = "MET" if t["met"] else "NOT MET"
        lines.append(f"{t['scenario']:<16}{t['target']:<26}{t['measured']:<22}{status}")
    need = report["bakeNeeded"]
    lines.append("")
    for rule, r in need["rules"].items():
        q95 = r["minutesFor95Percent"]
        q95s = f"> {BAKE_NEEDED_HORIZON}" if q95 is None else f"{q95:g}"
        lines.append(f"{need['scenario']}: {rule} would need a {q95s}-minute bake to catch 95% "
                     f"of runs (median detection at minute {r['medianMinutes']:g})")  # fmt: skip
    long_aa = report["longAaAlarms"]
    lines.append("")
    for rule, shr in long_aa["falseAlarmShare"].items():
        target = "MET" if shr <= 0.01 else "NOT MET"
        note = f"{target} (target <= 1%)" if rule == "alarm-rate" else "(replaced: for comparison)"
        lines.append(f"aa-{long_aa['rps']}rps-{long_aa['minutes']}min: {rule} would roll back "
                     f"{shr:.1%} of healthy deployments {note}")  # fmt: skip
    secs, runs = report["seconds"], report["runs"]
    lines.append(f"{runs} runs per scenario in {secs:.1f} s: "
                 f"{'MET' if secs <= 60 else 'NOT MET'} (target <= 60 s)")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.canary_bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", metavar="OUT", help="also write the report as JSON")
    args = parser.parse_args(argv)
    cfg, started = GatesConfig(), time.monotonic()
    need_scn = next(s for s in SCENARIOS if s.name == BAKE_NEEDED_SCENARIO)
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        need = pool.submit(bake_needed, need_scn, args.runs, args.seed, cfg)
        chunks = [range(i, min(i + CHUNK, args.runs)) for i in range(0, args.runs, CHUNK)]
        futures = {s.name: [pool.submit(outcomes, s, c, args.seed, cfg) for c in chunks]
                   for s in SCENARIOS}  # fmt: skip
        results = {}
        for name, parts in futures.items():
            merged: dict[str, list[Outcome]] = {rule: [] for rule in RULES}
            for part in parts:
                for rule, outs in part.result().items():
                    merged[rule] += outs
            results[name] = summarize(merged, cfg)
        need_rules = need.result()
    long_aa = long_aa_alarms(args.runs, args.seed)
    report = {
        "runs": args.runs,
        "seed": args.seed,
        "config": cfg.to_json(),
        "scenarios": results,
        "scenarioDefinitions": [asdict(s) for s in SCENARIOS],
        "targets": _targets(results, cfg),
        "bakeNeeded": {"scenario": BAKE_NEEDED_SCENARIO, "rules": need_rules},
        "longAaAlarms": long_aa,
        "seconds": time.monotonic() - started,
    }
    sys.stdout.write(render(report) + "\n")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(report, out, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
