"""The decision modules are pure: importing one loads no AWS SDK (they run in the benchmark and
the unit tests without boto3, and a decision never hides an AWS call)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ORCHESTRATOR = Path(__file__).resolve().parents[2] / "functions" / "orchestrator"
PURE = [
    "analysis",
    "async_gates",
    "cleanup_retries",
    "custom_resource",
    "deployment",
    "evidence",
    "execution_history",
    "execution_limits",
    "execution_timeline",
    "gates",
    "gates_config",
    "history",
    "hooks",
    "lifecycle_events",
    "lock",
    "metric_queries",
    "outcome_metrics",
    "ownership",
    "models",
    "policy_floor",
    "preflight",
    "provisioned_concurrency",
    "recovery",
    "sequential",
    "strategies",
    "targets",
    "timeline",
    "validation",
    "watch",
]


@pytest.mark.parametrize("module", PURE)
def test_a_decision_module_imports_no_aws_sdk(module: str) -> None:
    code = (
        f"import sys; import coalmine.{module}; "
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in {'boto3', 'botocore'}); "
        "print(','.join(loaded))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ORCHESTRATOR,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "", f"coalmine.{module} loads {out.stdout.strip()}"


def test_every_pure_module_is_type_checked_strictly() -> None:
    """pyproject.toml's strict mypy override names every pure module, and no module gone."""
    import tomllib

    config = tomllib.loads((ORCHESTRATOR.parents[1] / "pyproject.toml").read_text())
    strict = next(
        set(o["module"])
        for o in config["tool"]["mypy"]["overrides"]
        if o.get("disallow_untyped_defs")
    )
    assert {f"coalmine.{m}" for m in PURE} <= strict
    assert all((ORCHESTRATOR / (m.replace(".", "/") + ".py")).exists() for m in strict)


@pytest.mark.parametrize(
    "handler", sorted(p.name for p in (ORCHESTRATOR / "coalmine" / "handlers").glob("[!_]*.py"))
)
def test_a_handler_stays_thin(handler: str) -> None:
    """Parse, one domain call, return JSON: a handler that grows past 60 lines holds a decision
    or an AWS call sequence that belongs in a domain or adapter module."""
    lines = (ORCHESTRATOR / "coalmine" / "handlers" / handler).read_text().splitlines()
    assert len(lines) <= 60, f"handlers/{handler} has {len(lines)} lines"
