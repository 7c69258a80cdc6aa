"""How long a rehearsal takes on this machine (target: a Canary10Percent5Minutes rehearsal at
20 rps in <= 3 s wall), and how long the sandbox takes to stand template.yaml up. A benchmark
that prints numbers, not a timed test; bench/sandbox_speed.py prints the rehearsal figure with
the async and long-plan ones.

    python -m bench.rehearsal_speed [--runs 3] [--scenario scenarios/healthy-canary.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from coalmine_sandbox import Sandbox
from coalmine_sandbox.resources import SCENARIOS
from coalmine_sandbox.world.rehearsal import rehearse
from coalmine_sandbox.world.scenario import load_scenario

TARGET_WALL_SECONDS = 3.0


def stand_up_seconds(runs: int = 3) -> float:
    """Median wall seconds to enter a Sandbox (template.yaml stood up), imports warmed first."""
    with Sandbox(seed=1):
        pass
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        with Sandbox(seed=1):
            times.append(time.perf_counter() - began)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenario", default=str(SCENARIOS / "healthy-canary.json"))
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    stand_up = stand_up_seconds()
    print(f"stand-up: {stand_up * 1000:.0f} ms wall (median of 3, template.yaml)")
    scenario = load_scenario(Path(args.scenario))
    rows = []
    for run in range(args.runs):
        began = time.perf_counter()
        result = rehearse(scenario, emit=lambda _line: None)
        wall = time.perf_counter() - began
        invocations = sum(v["invocations"] for v in result["invocations"].values())
        rows.append(
            {
                "run": run + 1,
                "wallSeconds": round(wall, 2),
                "invocations": invocations,
                "simulatedSeconds": result["simulatedSeconds"],
                "outcome": result["outcome"],
            }
        )
        print(
            f"run {run + 1}: {wall:5.2f} s wall for {result['simulatedSeconds']:g} s simulated, "
            f"{invocations} invocations ({wall / max(invocations, 1) * 1e3:.2f} ms each incl. "
            f"stand-up), outcome {result['outcome']}"
        )
    median = statistics.median(row["wallSeconds"] for row in rows)
    verdict = "MET" if median <= TARGET_WALL_SECONDS else "NOT MET"
    print(f"median {median:.2f} s wall (target <= {TARGET_WALL_SECONDS:g} s): {verdict}")
    if args.json:
        figures = {"runs": rows, "medianWallSeconds": median, "standUpSeconds": stand_up}
        Path(args.json).write_text(json.dumps(figures) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
