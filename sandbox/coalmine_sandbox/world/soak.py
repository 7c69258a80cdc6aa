"""`coalmine soak`: many deployments in ONE sandbox, one after another, each with a random
strategy, a random candidate, maybe a random fault (aws/faults.py) and maybe a random move by the
world (moves.py: a stop, an out-of-band alias change, a racing second deployment) at one of the
MOMENTS a deployment has (target.py); the invariant (invariants.py) is checked after each. The
seed replays a run exactly:

    soak: 300 deployments, 0 invariant violations, seed 1
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..aws.faults import KINDS
from ..sandbox import Sandbox
from . import moves
from .invariants import violations
from .target import MOMENTS, DeploymentTarget

Emit = Callable[[str], None]
# No synthetic traffic here: opt out of the minimum sample (minInvocations 0: a bake without
# enough traffic may pass), or every deployment would (correctly) refuse to promote blind; an
# AllAtOnce cutover is watched for 60 s (as long as the blue/green bake here).
ANALYSIS = {"intervalSeconds": 60, "minInvocations": 0, "watchSeconds": 60}
STRATEGIES: list[Any] = [
    {
        "type": "steps",
        "steps": [{"weight": 0.1, "bakeSeconds": 60}, {"weight": 0.5, "bakeSeconds": 60}],
    },
    {"type": "canary", "percent": 5, "intervalMinutes": 1},
    {"type": "linear", "percent": 50, "intervalMinutes": 1},
    {"type": "blueGreen", "bakeSeconds": 60},
    "AllAtOnce",
]
STATES = ["Prepare", "PublishVersion", "ShiftTraffic", "Analyze", "Promote", "Rollback"]


@dataclass
class SoakResult:
    deployments: int
    seed: int
    violations: list[str] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    wall_seconds: float = 0.0

    def line(self) -> str:
        return (
            f"soak: {self.deployments} deployments, {len(self.violations)} invariant violations, "
            f"seed {self.seed}"
        )


def soak(deployments: int = 300, seed: int = 0, emit: Emit = lambda line: None) -> SoakResult:
    rng = random.Random(seed)
    result = SoakResult(deployments, seed)
    began = time.perf_counter()
    with Sandbox(seed=seed) as sb:
        target = DeploymentTarget(sb)
        for index in range(1, deployments + 1):
            label, found = _one(target, rng, index)
            key = label.split(" ", 1)[0]
            result.outcomes[key] = result.outcomes.get(key, 0) + 1
            for problem in found:
                result.violations.append(f"#{index} {problem}")
                emit(f"  VIOLATION #{index}: {problem}")
            if index % 25 == 0 or index == deployments:
                emit(
                    f"  {index}/{deployments} deployments, {len(result.violations)} violations, "
                    f"{time.perf_counter() - began:.1f} s wall"
                )
    result.wall_seconds = round(time.perf_counter() - began, 1)
    emit(f"  outcomes: {dict(sorted(result.outcomes.items()))}")
    emit(result.line())
    return result


def _prepared_after(sb: Sandbox, arn: str, first: dict[str, Any]) -> bool:
    """Whether execution ``arn`` left Prepare (took the lock) at or after ``first`` ended."""
    events = sb.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)
    prepared = next(
        (
            e["timestamp"]
            for e in events["events"]
            if e["type"] == "TaskStateExited" and e["stateExitedEventDetails"]["name"] == "Prepare"
        ),
        None,
    )
    stopped = first.get("stopDate")
    return prepared is not None and stopped is not None and prepared >= stopped


def _one(target: DeploymentTarget, rng: random.Random, index: int) -> tuple[str, list[str]]:
    """One deployment: its label (the status) and the invariant violations after it."""
    sb = target.sb
    target.reset()
    strategy = rng.choice(STRATEGIES)
    request = target.request(strategy, analysis=ANALYSIS)
    candidate = rng.random()
    if candidate < 0.2:  # new code: a freshly published version
        request["targetVersion"] = sb.publish_version(
            target.function, {"SAMPLE_RELEASE": f"c{index}"}
        )
    elif candidate < 0.25:  # the stable version itself: bad input
        request["targetVersion"] = target.baseline
    elif candidate < 0.3:  # a version that does not exist: bad input
        request["targetVersion"] = "9999"
    if rng.random() < 0.5:
        sb.faults.inject(
            rng.choice(STATES),
            rng.choice(KINDS),
            at_step=rng.choice([None, 0, 1, 2]),
            times=rng.choice([1, 2, None]),
            point=rng.choice(["before", "after"]),
        )
    move, remove, second = rng.random(), None, []
    tampered = False
    if move < 0.3:
        state, step = rng.choice(MOMENTS)
        if move < 0.12:
            remove = target.at_moment(
                state, step, lambda arn: moves.stop_execution(sb, arn, "soak")
            )
        elif move < 0.24:
            tampered = True
            remove = target.at_moment(
                state,
                step,
                lambda arn: moves.tamper_alias(sb, target.function, target.alias, target.hotfix),
            )
        else:
            remove = target.at_moment(
                state,
                step,
                lambda arn: second.append(moves.start_second_deployment(sb, request)),
            )
    arn = sb.start_execution(request)
    described = sb.wait_for_execution(arn)
    if remove is not None:
        remove()
    for other in second:
        sb.wait_for_execution(other)
    # A second deployment started while the first held the alias must be refused (one deployment
    # per alias); one whose Prepare came once the first had ended (its move fell on the first's
    # last instant) took a free lock, and then it, ending last, decides the alias.
    judged, refused = described, []
    for other in second:
        ended = sb.client("stepfunctions").describe_execution(executionArn=other)
        if ended["status"] != "SUCCEEDED":
            continue
        if _prepared_after(sb, other, described):
            judged = ended
        else:
            refused.append(f"{ended['name']}: a second deployment of a held alias SUCCEEDED")
    found = violations(
        target, judged, tampered_to=target.hotfix if tampered and target.acted else None
    )
    found += refused
    label = f"{described['status']} {described.get('error') or ''}".strip()
    return label, found
