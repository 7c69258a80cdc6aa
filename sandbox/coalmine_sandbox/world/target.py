"""A deployment target to deploy into again and again in ONE Sandbox (the fault matrix and the
soak): brand-api:prod with a baseline on the alias, a candidate, and a hotfix for tamperers; put
back between deployments; and the moments of a deployment at which the world can make a move."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import InitVar, dataclass, field
from typing import Any

from coalmine.lock import lock_id

from ..sandbox import Sandbox
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
        """Put things back between deployments (clears faults, alias and lock)."""
        self.sb.faults.clear()
        self.sb.settle()
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
        the remover. "During" a Task = one throttle on it, then the move at the next simulated
        second; "Bake" = the first second of that step's bake."""
        sb = self.sb
        if state == "Rollback":
            sb.faults.inject("Analyze", "crash", at_step=step)
        marker = None
        if state != "Bake":
            marker = sb.faults.inject(
                state, "throttling", at_step=step if state != "Rollback" else None
            )
        done: list[bool] = []

        def on_clock(t_from: Any, t_to: Any) -> None:
            if done or not sb.hooks or not sb.hooks.sfn.running:
                return
            if state == "Bake":
                weights = self.routing()[1]
                if len(set(weights.values())) != 1 or self.steps_seen(weights) != step:
                    return
            elif marker is None or not marker.fired:  # (not another fault's firing)
                return
            done.append(True)
            self.acted = True
            act(sb.hooks.sfn.running[-1])

        self._weights_seen = []
        self.acted = False
        return sb.add_listener(on_clock)

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
