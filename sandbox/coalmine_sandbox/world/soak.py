"""`coalmine soak`: many deployments in ONE sandbox, one after another, each with a random
strategy, a random candidate, maybe a random fault (aws/faults.py) and maybe a random move by the
world (moves.py: a stop, an out-of-band alias change, a racing second deployment) at one of the
MOMENTS a deployment has, or a stop as a Task state starts (ENTRIES, target.py); maybe an AWS API
answering errors to one handler for a window of simulated time (API_CALLS), CloudWatch's
publishing delay rising, or the candidate starting to fail under a trickle of traffic. The
invariant (invariants.py) is checked after each. The seed replays a run exactly:

    soak: 300 deployments, 0 invariant violations, seed 1
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..aws.faults import KINDS
from ..sandbox import Sandbox
from . import moves
from .invariants import violations
from .samples import SAMPLES
from .target import API_CALLS, ENTRIES, MOMENTS, DeploymentTarget
from .traffic import TrafficGenerator

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
TRICKLE_RPS = 2.0  # traffic while a changed candidate runs (so its failures are seen)
WALL_LIMIT_SECONDS = 600.0  # per deployment


@dataclass
class SoakResult:
    deployments: int
    seed: int
    violations: list[str] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    moves: dict[str, int] = field(default_factory=dict)  # how many deployments drew each
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
            label, found = _one(target, rng, index, result.moves)
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
    emit(f"  moves drawn: {dict(sorted(result.moves.items()))}")
    emit(result.line())
    return result


def _one(
    target: DeploymentTarget, rng: random.Random, index: int, drawn: dict[str, int]
) -> tuple[str, list[str]]:
    """One deployment: its label (the status) and the invariant violations after it; `drawn`
    counts the moves it drew."""

    def draw(move: str) -> None:
        drawn[move] = drawn.get(move, 0) + 1

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
        draw("fault")
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
        draw("stop" if move < 0.12 else "tamper" if move < 0.24 else "second-deployment")
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
    elif move < 0.4:  # a stop as a Task state starts (its invocation runs on)
        state, entry = rng.choice(ENTRIES)
        draw("stop-at-state")
        remove = target.at_entry(state, entry, lambda arn: moves.stop_execution(sb, arn, "soak"))
    started = sb.clock.now()
    world = _world_changes(target, rng, request, started, draw)
    arn = sb.start_execution(request)
    described = sb.wait_for_execution(arn, timeout_wall=WALL_LIMIT_SECONDS)
    for undo in world:
        undo()
    if remove is not None:
        remove()
    for other in second:
        sb.wait_for_execution(other, timeout_wall=WALL_LIMIT_SECONDS)
    # A second deployment must be refused while the first runs; one whose Prepare ran once the
    # first had ended (started as the first's last state was retrying, its Prepare stamped no
    # earlier than the first's stop: a jittered back-off can be shorter than the time a new
    # execution takes to start) may proceed, and then it decides the alias: the invariant is
    # checked on the one that ended last.
    deciding, found = described, []
    for other in second:
        ended = sb.client("stepfunctions").describe_execution(executionArn=other)
        if ended["status"] != "SUCCEEDED":
            continue
        prepared = _prepared_at(sb, other)
        if prepared is None or prepared < described["stopDate"]:
            found.append(f"{ended['name']}: a second deployment of a held alias SUCCEEDED")
        else:
            deciding = ended
    tampered_to = target.hotfix if tampered and target.acted and deciding is described else None
    found += violations(target, deciding, tampered_to=tampered_to)
    label = f"{described['status']} {described.get('error') or ''}".strip()
    return label, found


def _world_changes(
    target: DeploymentTarget,
    rng: random.Random,
    request: dict[str, Any],
    started: datetime,
    draw: Callable[[str], None],
) -> list[Callable[[], None]]:
    """Maybe an API fault window, a rising publishing delay, a candidate starting to fail (with
    a trickle of traffic); returns what undoes the listeners (reset() undoes the rest)."""
    sb, undo = target.sb, []
    if rng.random() < 0.25:
        service, api, caller = rng.choice(API_CALLS)
        draw("api-fault-window")
        begin = rng.choice([0, 30, 60, 120, 240])
        sb.faults.inject_api(
            api,
            service=service,
            kind=rng.choice(["throttling", "service-error"]),
            caller=caller,
            times=None,
            start=started + timedelta(seconds=begin),
            until=started + timedelta(seconds=begin + rng.choice([30, 120, 240, 600])),
        )
    if rng.random() < 0.15:
        delay = rng.choice([120, 240, 300])
        draw("metrics-delay")
        undo.append(_at(sb, started, rng.choice([0, 60, 120]), lambda: _delay(sb, delay)))
    if rng.random() < 0.15:
        version = str(request["targetVersion"])
        draw("candidate-change")
        env = {"FAULT_ERROR_RATE": f"{rng.choice([0.3, 1.0]):g}"}
        undo.append(
            _at(
                sb,
                started,
                rng.choice([0, 60, 150]),
                lambda: moves.change_behaviour(sb, target.function, version, env),
            )
        )
        undo.append(_trickle(target, random.Random(rng.getrandbits(32))))
    return undo


def _delay(sb: Sandbox, seconds: float) -> None:
    sb.metrics.set_publish_delay(seconds)


def _at(
    sb: Sandbox, started: datetime, seconds: float, act: Callable[[], None]
) -> Callable[[], None]:
    """Run `act()` once, `seconds` simulated seconds after `started`; returns the remover."""
    done: list[bool] = []

    def on_clock(t_from: datetime, t_to: datetime) -> None:
        if not done and (t_to - started).total_seconds() >= seconds:
            done.append(True)
            act()

    return sb.add_listener(on_clock)


def _trickle(target: DeploymentTarget, rng: random.Random) -> Callable[[], None]:
    """A trickle of API requests on the alias (its table unseeded: unknown brands answer 404),
    each starting at its arrival time; returns the remover."""
    sb = target.sb
    traffic: TrafficGenerator | None = None

    def invoke(event: dict[str, Any]) -> None:
        assert traffic is not None
        sb.runtime.invoke_alias(target.function, target.alias, event, start=traffic.current_arrival)

    traffic = TrafficGenerator(invoke, TRICKLE_RPS, rng, SAMPLES["brand-api"].events(sb, None))
    return sb.add_listener(traffic.on_clock)


def _prepared_at(sb: Sandbox, arn: str) -> datetime | None:
    """When the execution's Prepare (which takes the alias's lock) succeeded."""
    events = sb.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=100)[
        "events"
    ]
    return next(
        (
            e["timestamp"]
            for e in events
            if e["type"] == "TaskStateExited" and e["stateExitedEventDetails"]["name"] == "Prepare"
        ),
        None,
    )
