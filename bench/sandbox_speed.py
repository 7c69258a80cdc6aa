"""How fast the sandbox rehearses, on this machine: three figures with their targets, each printed
MET or NOT MET. A benchmark that prints numbers, not a timed test (wall clock depends on the load).

    python -m bench.sandbox_speed [--only sync,async,long] [--runs 3] [--json OUT]

- sync: a ``Canary10Percent5Minutes`` rehearsal of brand-api at 20 rps
  (scenarios/healthy-canary.json), median wall of ``--runs`` runs in one process: <= 3 s.
- async: a linear deployment of the asset processor (``Linear10PercentEvery3Minutes``) at
  3.4 uploads/s with 30% bad objects, about 34 simulated minutes: >= 60x real time (<= 35 s).
- long: a ``Linear10PercentEvery10Minutes`` plan of brand-api at 5 rps with 10-s analysis ticks:
  the wall (and CPU) seconds per simulated minute over its last minutes divided by those over its
  first minutes, <= 1.1 (no slower at its end than at its start, with room for noise). The run
  ends where the deployment ends (promoted: the document it carries stays bounded, evidence.py).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from coalmine_sandbox.world.rehearsal import rehearse
from coalmine_sandbox.world.scenario import Scenario, load_scenario

REPO = Path(__file__).resolve().parents[1]
SYNC_TARGET_SECONDS = 3.0
ASYNC_TARGET_SPEEDUP = 60.0
LONG_TARGET_RATIO = 1.1
LONG_WINDOW_MINUTES = 5

ASYNC_SCENARIO = {
    "name": "async-poison-linear",
    "description": "brand-asset-processor: 3.4 uploads/s, 30% bad objects (they fail every "
    "attempt, then land in the DLQ); a healthy candidate shifted 10% every 3 minutes.",
    "function": "asset-processor",
    "seed": 11,
    "traffic": {"rps": 3.4, "poisonRate": 0.3},
    "baseline": {"errorRate": 0, "latencyMs": 0},
    "candidate": {"errorRate": 0, "latencyMs": 0},
    "deployment": {
        "strategy": "Linear10PercentEvery3Minutes",
        "analysis": {"intervalSeconds": 60},
    },
    "warmupSeconds": 60,
}
LONG_SCENARIO = {
    "name": "long-plan-10s-ticks",
    "description": "brand-api at 5 rps, Linear10PercentEvery10Minutes judged every 10 s.",
    "function": "brand-api",
    "seed": 5,
    "traffic": {"rps": 5},
    "baseline": {"errorRate": 0, "latencyMs": 20},
    "candidate": {"errorRate": 0, "latencyMs": 20},
    "deployment": {
        "strategy": "Linear10PercentEvery10Minutes",
        "analysis": {"intervalSeconds": 10, "minInvocations": 0},
    },
    "warmupSeconds": 60,
}


def _verdict(met: bool) -> str:
    return "MET" if met else "NOT MET"


def _invocations(result: dict[str, Any]) -> int:
    return sum(v["invocations"] for v in result["invocations"].values())


def sync_figure(runs: int) -> dict[str, Any]:
    scenario = load_scenario(REPO / "scenarios" / "healthy-canary.json")
    walls = []
    for run in range(runs):
        began, cpu = time.perf_counter(), time.process_time()
        result = rehearse(scenario, emit=lambda _line: None)
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu
        walls.append(wall)
        print(
            f"  sync run {run + 1}: {wall:5.2f} s wall ({cpu:5.2f} s CPU) for "
            f"{result['simulatedSeconds']:g} s simulated, {_invocations(result)} invocations, "
            f"outcome {result['outcome']}"
        )
    median = statistics.median(walls)
    met = median <= SYNC_TARGET_SECONDS
    print(
        f"sync Canary10Percent5Minutes at 20 rps: median {median:.2f} s wall "
        f"(target <= {SYNC_TARGET_SECONDS:g} s): {_verdict(met)}"
    )
    return {"medianWallSeconds": round(median, 2), "walls": [round(w, 2) for w in walls]}


def async_figure() -> dict[str, Any]:
    scenario = Scenario.model_validate(ASYNC_SCENARIO)
    began, cpu = time.perf_counter(), time.process_time()
    result = rehearse(scenario, emit=lambda _line: None)
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    simulated = result["simulatedSeconds"]
    attempts = _invocations(result)
    speedup = simulated / wall
    met = speedup >= ASYNC_TARGET_SPEEDUP
    print(
        f"  async: {result['sent']} uploads, {attempts} attempts, outcome {result['outcome']}, "
        f"{wall:.1f} s wall ({cpu:.1f} s CPU), {wall / max(attempts, 1) * 1e3:.2f} ms per attempt"
    )
    print(
        f"async linear poison rehearsal: {simulated / 60:.1f} simulated minutes in {wall:.1f} s "
        f"wall = {speedup:.0f}x real time (target >= {ASYNC_TARGET_SPEEDUP:g}x, i.e. <= "
        f"{simulated / ASYNC_TARGET_SPEEDUP:.0f} s): {_verdict(met)}"
    )
    return {
        "wallSeconds": round(wall, 2),
        "simulatedSeconds": simulated,
        "attempts": attempts,
        "uploads": result["sent"],
        "speedup": round(speedup, 1),
    }


class _MinuteClock:
    """Records wall and CPU time at every per-minute progress line (`t+Nm`) the rehearsal
    prints from the clock's thread, once per simulated minute of the deployment."""

    def __init__(self) -> None:
        self.marks: list[tuple[float, float]] = []

    def emit(self, line: str) -> None:
        if line.lstrip().startswith("t+"):
            self.marks.append((time.perf_counter(), time.process_time()))

    def per_minute(self, which: Callable[[tuple[float, float]], float]) -> list[float]:
        values = [which(m) for m in self.marks]
        return [b - a for a, b in itertools.pairwise(values)]


def long_figure() -> dict[str, Any]:
    scenario = Scenario.model_validate(LONG_SCENARIO)
    clock = _MinuteClock()
    began = time.perf_counter()
    result = rehearse(scenario, emit=clock.emit)
    wall = time.perf_counter() - began
    walls = clock.per_minute(lambda m: m[0])
    cpus = clock.per_minute(lambda m: m[1])
    n = LONG_WINDOW_MINUTES
    if len(walls) < 2 * n:
        print(f"long plan: only {len(walls)} simulated minutes measured: NOT MET")
        return {"minutes": len(walls)}
    first_wall, last_wall = statistics.mean(walls[:n]), statistics.mean(walls[-n:])
    first_cpu, last_cpu = statistics.mean(cpus[:n]), statistics.mean(cpus[-n:])
    ratio = last_cpu / first_cpu
    met = ratio <= LONG_TARGET_RATIO
    print(
        f"  long: ended {result['outcome']} ({result['status']}) after "
        f"{result['simulatedSeconds'] / 60:.1f} simulated minutes, {result['stateTransitions']} "
        f"state transitions, {wall:.1f} s wall; reason: {str(result.get('reason'))[:120]}"
    )
    print(
        f"  long: per simulated minute, first {n}: {first_wall:.2f} s wall / {first_cpu:.2f} s "
        f"CPU; last {n}: {last_wall:.2f} s wall / {last_cpu:.2f} s CPU"
    )
    print(
        f"long plan with 10-s ticks: end/start CPU per simulated minute {ratio:.2f} "
        f"(wall {last_wall / first_wall:.2f}; target <= {LONG_TARGET_RATIO:g}): {_verdict(met)}"
    )
    return {
        "minutes": len(walls),
        "outcome": result["outcome"],
        "firstWallPerMinute": round(first_wall, 3),
        "lastWallPerMinute": round(last_wall, 3),
        "firstCpuPerMinute": round(first_cpu, 3),
        "lastCpuPerMinute": round(last_cpu, 3),
        "ratio": round(ratio, 2),
        "wallSeconds": round(wall, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--only", default="sync,async,long", help="comma-separated figures")
    parser.add_argument("--runs", type=int, default=3, help="sync runs (the median is reported)")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {}
    wanted = {name.strip() for name in args.only.split(",")}
    if "sync" in wanted:
        figures["sync"] = sync_figure(args.runs)
    if "async" in wanted:
        figures["async"] = async_figure()
    if "long" in wanted:
        figures["long"] = long_figure()
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
