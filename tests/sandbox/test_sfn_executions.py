"""Step Functions executions on the simulated clock (seams/sfn_executions.py): a Wait state moves
time only while every other running execution waits too, so an execution whose thread is slow to
start (a busy machine) still runs its first states at the simulated time it was started, as on
AWS. Without that, the first execution's Wait raced minutes ahead of the second's start."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from e2e_helpers import REPO

from coalmine_sandbox.world.rehearsal import rehearse
from coalmine_sandbox.world.scenario import load_scenario

WORKER = "moto.stepfunctions.parser.backend.execution_worker"


@pytest.mark.slow
def test_a_second_execution_slow_to_start_runs_at_its_start_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib

    worker = importlib.import_module(WORKER).ExecutionWorker
    original = worker._execution_logic
    started: list[int] = []

    def slow_second(self: Any) -> None:
        started.append(threading.get_ident())
        if len(started) == 2:  # the second deployment's thread is scheduled late
            time.sleep(1.5)
        original(self)

    monkeypatch.setattr(worker, "_execution_logic", slow_second)
    # a 10% canary baking 2 h at 0.2 rps with a 30-minute tick: its Wait moves time fast; a
    # second deployment starts at 31 min and the first is stopped at 40 min
    scenario = load_scenario(REPO / "scenarios" / "race-expired-lock-long-canary.json")
    result = rehearse(scenario)

    assert len(started) == 2
    second = next(e for e in result["events"] if e["action"] == "start-second-deployment")
    # refused while the first still held the alias, not let in after the stop at 40 min
    assert second["result"].endswith("ended FAILED (DeploymentInProgress)"), second
    assert result["outcome"] == "STOPPED"
    alias = result["alias"]
    assert (alias["functionVersion"], alias["additionalVersionWeights"]) == (
        result["fromVersion"],
        {},
    )
