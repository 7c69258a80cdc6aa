"""A deployment target to deploy into again and again in ONE Sandbox (the fault matrix and the
soak): brand-api:prod with a baseline on the alias, a candidate, and a hotfix for tamperers; put
back between deployments; and the moments of a deployment at which the world can make a move."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import InitVar, dataclass, field
from typing import Any

from coalmine.lock import lock_id

from ..aws.cloudwatch.metrics import DEFAULT_PUBLISH_DELAY_SECONDS
from ..sandbox import Sandbox
from . import moves
from .moves import LOCK_TABLE

# (state, step) moments `at_moment` reaches: "during" a Task = in its retry back-off; "Bake" = in
# that step's bake; "Rollback" follows a crash of Analyze at that step.
MOMENTS: list[tuple[str, int | None]] = [
    ("Prepare", 0),
    ("PublishVersion", 0),
    ("ShiftTraffic", 1),
    ("Bake", 1),
    ("Analyze", 1),
    ("ShiftTraffic", 2),
    ("Bake", 2),
    ("Analyze", 2),
    ("Promote", None),
    ("Rollback", 1),
]
# (Task state, entry) moments `at_entry` reaches: the move is made as the entry-th invocation of
# that state's function starts (retries count), so the invocation then runs on (AWS does not cancel
# a task's Lambda call when its execution stops). Analyze@3 is the second step's first tick.
ENTRIES: list[tuple[str, int]] = [
    ("Prepare", 1),
    ("PublishVersion", 1),
    ("ShiftTraffic", 1),
    ("Analyze", 1),
    ("ShiftTraffic", 2),
    ("Analyze", 3),
    ("Promote", 1),
    ("ReleaseLock", 1),
]
# (service, API, caller) the handlers call that an API fault window can hit in the plan above;
# "Cleanup" is the function the ending's status-change event invokes (not a state).
API_CALLS: list[tuple[str, str, str]] = [
    ("dynamodb", "PutItem", "Prepare"),
    ("lambda", "GetAlias", "Prepare"),
    ("lambda", "UpdateAlias", "ShiftTraffic"),
    ("cloudwatch", "GetMetricData", "Analyze"),
    ("lambda", "UpdateAlias", "Promote"),
    ("dynamodb", "UpdateItem", "Promote"),
    ("lambda", "UpdateAlias", "Rollback"),
    ("dynamodb", "DeleteItem", "ReleaseLock"),
    ("lambda", "UpdateAlias", "Cleanup"),
    ("dynamodb", "GetItem", "Cleanup"),
]


@dataclass
class DeploymentTarget:
    """brand-api:prod with a baseline on the alias, a candidate, and a hotfix for tamperers."""

    sb: Sandbox
    function: str = "brand-api"
    alias: str = "prod"
    baseline: str = ""
    candidate: str = ""
    hotfix: str = ""
    acted: bool = False  # whether the last at_moment move happened
    _weights_seen: list[float] = field(default_factory=list)
    # False: the versions exist already (a rehearsal's), nothing is published or reset
    publish: InitVar[bool] = True

    def __post_init__(self, publish: bool) -> None:
        if not publish:
            return
        self.baseline = self.sb.publish_version(self.function, {"SAMPLE_RELEASE": "baseline"})
        self.candidate = self.sb.publish_version(self.function, {"SAMPLE_RELEASE": "candidate"})
        self.hotfix = self.sb.publish_version(self.function, {"SAMPLE_RELEASE": "hotfix"})
        self.reset()

    @property
    def lock_id(self) -> str:
        return lock_id(self.function, self.alias)

    def reset(self) -> None:
        """Put things back between deployments (clears faults, alias, lock, CloudWatch's delay
        and any changed behaviour)."""
        self.sb.faults.clear()
        self.sb.settle()
        self.sb.metrics.set_publish_delay(DEFAULT_PUBLISH_DELAY_SECONDS)
        moves.reset_behaviour(self.sb)
        self.sb.client("lambda").update_alias(
            FunctionName=self.function,
            Name=self.alias,
            FunctionVersion=self.baseline,
            RoutingConfig={"AdditionalVersionWeights": {}},
        )
        if LOCK_TABLE in self.sb.stack:
            self.sb.client("dynamodb").delete_item(
                TableName=self.sb.stack[LOCK_TABLE], Key={"lockId": {"S": self.lock_id}}
            )

    def request(self, strategy: Any, **extra: Any) -> dict[str, Any]:
        return {
            "functionName": self.function,
            "alias": self.alias,
            "targetVersion": self.candidate,
            "strategy": strategy,
            **extra,
        }

    def at_moment(
        self, state: str, step: int | None, act: Callable[[str], None]
    ) -> Callable[[], None]:
        """Arrange `act(execution_arn)` at a moment (MOMENTS) of the next deployment; returns
        the remover. "During" a Task = as a throttle on it fires (the execution then waits in
        the state's retry back-off: made there, on the state machine's thread, the move cannot
        slip past a short jittered back-off); "Bake" = the first second of that step's bake."""
        sb = self.sb
        self._weights_seen = []
        self.acted = False
        done: list[bool] = []

        def move() -> None:
            if not done and sb.hooks and sb.hooks.sfn.running:
                done.append(True)
                self.acted = True
                act(sb.hooks.sfn.running[-1])

        if state != "Bake":
            if state == "Rollback":
                sb.faults.inject("Analyze", "crash", at_step=step)
            marker = sb.faults.inject(
                state, "throttling", at_step=step if state != "Rollback" else None
            )
            marker.on_fire = move
            return lambda: None  # (reset() clears the faults)

        def on_clock(t_from: Any, t_to: Any) -> None:
            if done or not sb.hooks or not sb.hooks.sfn.running:
                return
            weights = self.routing()[1]
            if len(set(weights.values())) != 1 or self.steps_seen(weights) != step:
                return
            move()

        return sb.add_listener(on_clock)

    def at_entry(self, state: str, entry: int, act: Callable[[str], None]) -> Callable[[], None]:
        """Arrange `act(execution_arn)` as the `entry`-th invocation of `state`'s function in
        the next deployment starts (ENTRIES); returns the remover (a no-op: `reset` clears)."""
        sb = self.sb
        self.acted = False

        def hook() -> None:
            if sb.hooks and sb.hooks.sfn.running:
                self.acted = True
                act(sb.hooks.sfn.running[-1])

        sb.faults.before_invoke(state, hook, occurrence=entry)
        return lambda: None

    def steps_seen(self, weights: dict[str, float]) -> int:
        """How many distinct traffic steps this deployment has shown so far (for `at_moment`)."""
        weight = next(iter(weights.values()))
        if not self._weights_seen or self._weights_seen[-1] != weight:
            self._weights_seen.append(weight)
        return len(self._weights_seen)

    def routing(self) -> tuple[str, dict[str, float]]:
        alias = self.sb.alias(self.function, self.alias)
        weights = alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {}) or {}
        return str(alias["FunctionVersion"]), dict(weights)

    def lock_holder(self) -> str | None:
        if LOCK_TABLE not in self.sb.stack:
            return None
        item = (
            self.sb.client("dynamodb")
            .get_item(
                TableName=self.sb.stack[LOCK_TABLE],
                Key={"lockId": {"S": self.lock_id}},
                ConsistentRead=True,
            )
            .get("Item")
        )
        return None if item is None else item.get("deploymentId", {}).get("S", "?")
