"""How long a rehearsal takes on this machine (issue: a Canary10Percent5Minutes rehearsal at
20 rps must take <= 10 s wall). A benchmark that prints numbers, not a timed test.

    python -m bench.rehearsal_speed [--runs 3] [--scenario scenarios/healthy-canary.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from coalmine_sandbox.rehearsal import rehearse
from coalmine_sandbox.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]
TARGET_WALL_SECONDS = 10.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenario", default=str(REPO / "scenarios" / "healthy-canary.json"))
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
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
        Path(args.json).write_text(json.dumps({"runs": rows, "medianWallSeconds": median}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
