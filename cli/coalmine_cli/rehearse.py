"""`coalmine rehearse` and `coalmine demo`: load a scenario, rehearse it in the sandbox, print its
progress (the same lines `coalmine deploy` prints) and a summary, write the result JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from coalmine_cli.progress import progress_lines
from coalmine_sandbox.world import rehearsal
from coalmine_sandbox.world.scenario import ScenarioError, load_scenario

Emit = Callable[[str], None]


def summary(result: dict[str, Any]) -> str:
    alias = result["alias"]
    weights = alias["additionalVersionWeights"]
    routing = f"v{alias['functionVersion']}" + (f" + {weights}" if weights else " (whole)")
    per_version = ", ".join(
        f"v{v}: {c['invocations']} inv / {c['errors']} err"
        for v, c in result["invocations"].items()
    )
    return (
        f"== {result['outcome']} ({result['status']}); alias {routing}; "
        f"decision at {result['decisionAtSeconds']} s simulated; "
        f"{result['stateTransitions']} state transitions; {per_version}; "
        f"{result['simulatedSeconds']:g} s simulated in {result['wallSeconds']:g} s wall"
        + (f"\n   reason: {result['reason']}" if result.get("reason") else "")
    )


def rehearse_file(
    path: Path,
    json_out: Path | None = None,
    check_expectation: bool = False,
    emit: Emit = print,
    report_out: Path | None = None,
) -> int:
    """Load, run, print, write JSON. Exit code 0 unless the scenario is malformed (2) or, with
    `check_expectation`, ended other than its `expect.outcome` (1)."""
    try:
        scenario = load_scenario(path)
    except ScenarioError as error:
        emit(f"coalmine: bad scenario: {error}")
        return 2
    result = rehearsal.rehearse(scenario, emit, history=progress_lines)
    emit(summary(result))
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=2, default=str) + "\n")
        emit(f"   result JSON: {json_out}")
    if report_out is not None:
        from coalmine_cli import report

        report.write(result["timeline"], report_out)
        emit(f"   report: {report_out}")
    expected = scenario.expect.outcome if scenario.expect else None
    if check_expectation and expected and expected != result["outcome"]:
        emit(f"   expected {expected}, got {result['outcome']}")
        return 1
    return 0
