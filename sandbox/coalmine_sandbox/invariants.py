"""The safety invariant every deployment must end with, and a reusable world to deploy into
(one Sandbox, many deployments: the fault matrix and the soak use it).

After an execution ends (and what its ending triggers has played out):
1. the alias is wholly on one version (no AdditionalVersionWeights);
2. SUCCEEDED only if promoted: if the execution SUCCEEDED (outcome PROMOTED) the alias is on
   the new version; otherwise it is on the stable version (or on the new one if the Promote
   state had completed before a stop or a timeout), or on what someone else set if they
   changed it out of band (never overwritten);
3. the deployment's record is final: the execution is not RUNNING;
4. the alias lock is free (DeploymentLocksTable, when the stack has one).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .sandbox import Sandbox

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
LOCK_TABLE = "DeploymentLocksTable"


@dataclass
class World:
    """brand-api:prod with a baseline on the alias, a candidate, and a hotfix for tamperers."""

    sb: Sandbox
    function: str = "brand-api"
    alias: str = "prod"
    baseline: str = ""
    candidate: str = ""
    hotfix: str = ""
    acted: bool = False  # whether the last at_moment move happened

    def __post_init__(self) -> None:
        self.baseline = self.sb.publish_version(self.function, {"SAMPLE_RELEASE": "baseline"})
        self.candidate = self.sb.publish_version(self.function, {"SAMPLE_RELEASE": "candidate"})
        self.hotfix = self.sb.publish_version(self.function, {"SAMPLE_RELEASE": "hotfix"})
        self.reset()

    def reset(self) -> None:
        """The world puts things back between deployments (clears faults, alias and lock)."""
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
                TableName=self.sb.stack[LOCK_TABLE],
                Key={"lockId": {"S": f"{self.function}:{self.alias}"}},
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
        """Arrange `act(execution_arn)` at a moment of the next deployment; returns the remover.

        "During" a Task = in its retry back-off (one throttle on it, then the move at the next
        simulated second); "Bake" = the first second of that step's bake; "Rollback" follows a
        crash of Analyze at `step`."""
        sb = self.sb
        if state == "Rollback":
            sb.faults.inject("Analyze", "crash", at_step=step)
        if state != "Bake":
            sb.faults.inject(state, "throttling", at_step=step if state != "Rollback" else None)
        done: list[bool] = []

        def on_clock(t_from: Any, t_to: Any) -> None:
            if done or not sb.hooks or not sb.hooks.sfn.running:
                return
            if state == "Bake":
                weights = self.routing()[1]
                if len(set(weights.values())) != 1 or self.steps_seen(weights) != step:
                    return
            elif not sb.faults.fired:
                return
            done.append(True)
            self.acted = True
            act(sb.hooks.sfn.running[-1])

        self._weights_seen: list[float] = []
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
                Key={"lockId": {"S": f"{self.function}:{self.alias}"}},
                ConsistentRead=True,
            )
            .get("Item")
        )
        return None if item is None else item.get("deploymentId", {}).get("S", "?")

    def violations(self, described: dict[str, Any], tampered_to: str | None = None) -> list[str]:
        """What is wrong after this execution ended ([] = the invariant holds)."""
        found: list[str] = []
        status = described["status"]
        version, weights = self.routing()
        where = f"{described.get('name', '?')} ({status} {described.get('error') or ''})"
        if status not in TERMINAL:
            found.append(f"{where}: the execution is still {status}")
        if weights:
            found.append(f"{where}: alias left weighted: v{version} + {weights}")
        output = json.loads(described.get("output") or "null") or {}
        promoted = status == "SUCCEEDED" and output.get("outcome") == "PROMOTED"
        if status == "SUCCEEDED" and not promoted:
            found.append(f"{where}: SUCCEEDED with outcome {output.get('outcome')!r}")
        new = str(output.get("toVersion") or self.candidate)
        if promoted and version != new:
            found.append(f"{where}: PROMOTED but the alias is on v{version}, not v{new}")
        if not promoted:
            allowed = {self.baseline}
            if self._promotion_completed(described["executionArn"]):  # then stopped/timed out
                allowed.add(new)
            if tampered_to:  # someone else's change is never overwritten
                allowed = {tampered_to}
            if version not in allowed:
                found.append(
                    f"{where}: not promoted, but the alias is on v{version} "
                    f"(expected v{' or v'.join(sorted(allowed))})"
                )
        holder = self.lock_holder()
        if holder is not None:
            found.append(f"{where}: the alias lock is still held by {holder}")
        return found

    def _promotion_completed(self, arn: str) -> bool:
        sfn = self.sb.client("stepfunctions")
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        return any(
            e["type"] == "TaskStateExited" and e["stateExitedEventDetails"]["name"] == "Promote"
            for e in events
        )
