"""A small soak: random strategies, candidates, faults and world moves in one sandbox, zero
invariant violations. `coalmine soak` runs the full 300."""

from __future__ import annotations

from coalmine_sandbox.world.soak import soak


def test_a_small_soak_has_no_invariant_violations() -> None:
    lines: list[str] = []
    # When 20 random deployments run one after another in one sandbox
    result = soak(deployments=20, seed=3, emit=lines.append)
    # Then none broke the invariant, and the run says so with its seed
    assert result.violations == []
    assert lines[-1] == "soak: 20 deployments, 0 invariant violations, seed 3"
    # And the run exercised more than the happy path, the new moves among them
    assert len(result.outcomes) >= 2
    drawn = {"api-fault-window", "metrics-delay", "candidate-change", "stop-at-state", "fault"}
    assert drawn <= set(result.moves), result.moves
    assert lines[-2] == f"  moves drawn: {dict(sorted(result.moves.items()))}"


def test_the_same_seed_replays_the_same_run() -> None:
    first = soak(deployments=6, seed=9, emit=lambda _: None)
    second = soak(deployments=6, seed=9, emit=lambda _: None)
    assert first.outcomes == second.outcomes
    assert first.moves == second.moves
