"""Provisioned concurrency on an alias, in simulated time (docs/provisioned-concurrency.md says
which parts AWS documents and which are ASSUMED here).

- Put/Get/DeleteProvisionedConcurrencyConfig on an alias (the seams serve them at moto's API).
  Put on a weighted alias is refused as AWS refuses it ("Alias with weights can not be used with
  Provisioned Concurrency"). A new config is IN_PROGRESS with 0 allocated until allocated.
- The alias's environments follow its routing (AWS: "If you change the version that an alias
  points to, Lambda deallocates the provisioned concurrency from the old version and allocates it
  to the new version"). ASSUMED split for a weighted alias: the additional version gets
  floor(weight x requested) environments, the primary the rest.
- A version's environments going down are gone at once; going up, they are allocated
  ``allocation_seconds`` after the change (AWS: "a minute or two of preparation"), the config
  IN_PROGRESS meanwhile. A version made to fail (``fail_allocation``, e.g. its init code raises:
  FUNCTION_ERROR_INIT_FAILURE) never gets them: the config is FAILED with that StatusReason from
  then on, while the alias routes to that version.
- An invocation through the alias runs warm on one of its version's allocated environments if one
  is free at its start (each warm one holds its environment for its duration); otherwise it
  spills over to standard concurrency: a cold start (``cold_start_ms`` added to its duration)
  counted as ProvisionedConcurrencySpilloverInvocations (warm ones as
  ProvisionedConcurrencyInvocations).

Every question is answered for a time ``at`` (epoch seconds), not from mutable "now" state, so a
traffic catch-up after a handler's simulated wait sees the allocation as it was at each start.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .concurrency import Concurrency

WEIGHTED_ALIAS = "Alias with weights can not be used with Provisioned Concurrency"


def shares(requested: int, primary: str, weights: Mapping[str, float]) -> dict[str, int]:
    """Environments per version of an alias routing ``weights`` beside ``primary`` (ASSUMED)."""
    out: dict[str, int] = {}
    for version, weight in weights.items():
        if version != primary:
            out[version] = min(requested, math.floor(requested * float(weight) + 1e-9))
    out[primary] = requested - sum(out.values())
    return out


@dataclass
class _AliasConfig:
    requested: int
    modified: float
    # version -> [(from, environments allocated)]; (from, {version: environments wanted})
    allocation: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    targets: list[tuple[float, dict[str, int]]] = field(default_factory=list)
    failures: list[tuple[float, str, str]] = field(default_factory=list)  # (at, version, why)

    def target_at(self, at: float) -> dict[str, int]:
        found = [wanted for since, wanted in self.targets if since <= at]
        return found[-1] if found else {}

    def allocated_at(self, version: str, at: float) -> int:
        found = [count for since, count in self.allocation.get(version, []) if since <= at]
        return found[-1] if found else 0

    def change(self, now: float, wanted: dict[str, int], delay: float, failing: Any) -> None:
        if self.targets and self.targets[-1][1] == wanted:  # the same split: nothing moves
            return
        self.targets = [t for t in self.targets if t[0] <= now] + [(now, wanted)]
        self.failures = [f for f in self.failures if f[0] <= now]
        for version in set(self.allocation) | set(wanted):
            history = [c for c in self.allocation.get(version, []) if c[0] <= now]
            current, want = (history[-1][1] if history else 0), wanted.get(version, 0)
            if want < current:
                history.append((now, want))
            elif want > current:
                why = failing(version)
                if why is None:
                    history.append((now + delay, want))
                else:
                    self.failures.append((now + delay, version, why))
            self.allocation[version] = history

    def status_at(self, at: float) -> tuple[str, str | None, int]:
        """(Status, StatusReason, allocated environments) at ``at``."""
        wanted = self.target_at(at)
        allocated = sum(self.allocated_at(v, at) for v in self.allocation)
        for since, version, why in self.failures:
            if since <= at and wanted.get(version, 0) > self.allocated_at(version, at):
                return "FAILED", why, allocated
        pending = any(self.allocated_at(v, at) != n for v, n in wanted.items())
        return ("IN_PROGRESS" if pending else "READY"), None, allocated


@dataclass
class ProvisionedConcurrency:
    allocation_seconds: float = 90.0
    cold_start_ms: float = 800.0
    _configs: dict[tuple[str, str], _AliasConfig] = field(default_factory=dict)
    _failing: dict[tuple[str, str], str] = field(default_factory=dict)
    _busy: Concurrency = field(default_factory=Concurrency)

    # ------------------------------------------------------------------ the control plane
    def put(
        self,
        function_name: str,
        alias: str,
        requested: int,
        primary: str,
        weights: Mapping[str, float],
        at: float,
    ) -> dict[str, Any]:
        """PutProvisionedConcurrencyConfig on an alias; ValueError(WEIGHTED_ALIAS) if weighted."""
        if weights:
            raise ValueError(WEIGHTED_ALIAS)
        config = self._configs.get((function_name, alias))
        if config is None:
            config = self._configs[(function_name, alias)] = _AliasConfig(requested, at)
        config.requested, config.modified = requested, at
        config.change(at, shares(requested, primary, {}), self.allocation_seconds,
                      lambda v: self._failing.get((function_name, v)))  # fmt: skip
        return self.describe(function_name, alias, at) or {}

    def delete(self, function_name: str, alias: str) -> bool:
        return self._configs.pop((function_name, alias), None) is not None

    def describe(self, function_name: str, alias: str, at: float) -> dict[str, Any] | None:
        """GetProvisionedConcurrencyConfig's answer at ``at`` (None: no config)."""
        config = self._configs.get((function_name, alias))
        if config is None:
            return None
        status, why, allocated = config.status_at(at)
        answer: dict[str, Any] = {
            "RequestedProvisionedConcurrentExecutions": config.requested,
            "AvailableProvisionedConcurrentExecutions": allocated,
            "AllocatedProvisionedConcurrentExecutions": allocated,
            "Status": status,
            "LastModified": datetime.fromtimestamp(config.modified, UTC).strftime(
                "%Y-%m-%dT%H:%M:%S.000+0000"
            ),
        }
        if why is not None:
            answer["StatusReason"] = why
        return answer

    def on_routing(
        self, function_name: str, alias: str, primary: str, weights: Mapping[str, float], at: float
    ) -> None:
        """The alias now routes ``weights`` beside ``primary``: its environments follow."""
        config = self._configs.get((function_name, alias))
        if config is None:
            return
        wanted = shares(config.requested, primary, weights)
        config.change(at, wanted, self.allocation_seconds,
                      lambda v: self._failing.get((function_name, v)))  # fmt: skip

    def fail_allocation(self, function_name: str, version: str, reason: str) -> None:
        """Environments of ``version`` cannot be allocated from now on (its init fails)."""
        self._failing[(function_name, version)] = reason

    # ------------------------------------------------------------------ invocations
    def admit(self, function_name: str, alias: str, version: str, at: float) -> bool | None:
        """Warm (True) or spilled over (False) for an invocation of ``version`` through
        ``alias`` starting at ``at``; None when the alias has no provisioned concurrency."""
        config = self._configs.get((function_name, alias))
        if config is None:
            return None
        key = f"{function_name}:{alias}:{version}"
        return self._busy.in_use(key, at) < config.allocated_at(version, at)

    def occupy(self, function_name: str, alias: str, version: str, at: float, ms: float) -> None:
        """A warm invocation holds one of its version's environments for ``ms``."""
        self._busy.occupy(f"{function_name}:{alias}:{version}", at, ms)
