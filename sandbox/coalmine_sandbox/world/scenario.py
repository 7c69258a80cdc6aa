"""A rehearsal scenario: which sample, how much traffic, how the old and new versions behave,
and the deployment to run (the execution input without targetVersion/code)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class Traffic(_Model):
    rps: float = Field(ge=0, le=2000, description="requests per second hitting the alias")
    # async samples: the share of uploads that are bad objects (the function raises on them)
    poison_rate: float = Field(default=0.0, ge=0, le=1)


class Behaviour(_Model):
    """How a version behaves, applied through the fault knobs of the published version."""

    error_rate: float = Field(default=0.0, ge=0, le=1)
    latency_ms: float = Field(default=0.0, ge=0, le=900_000)

    def environment(self) -> dict[str, str]:
        return {
            "FAULT_ERROR_RATE": f"{self.error_rate:g}",
            "FAULT_LATENCY_MS": f"{self.latency_ms:g}",
        }


class Event(_Model):
    """Something the world does during the rehearsal, `at_seconds` simulated seconds after the
    execution started (rehearsal_events.py performs it): an out-of-band alias change, a console
    stop, a second deployment of the same alias, or a fault injected into a state."""

    at_seconds: float = Field(ge=0, le=86_400)
    action: Literal["tamper-alias", "stop-execution", "start-second-deployment", "inject-fault"]
    version: str = Field(default="hotfix", pattern=r"^(baseline|candidate|hotfix|[0-9]+)$")
    weights: dict[str, float] | None = None  # tamper-alias: AdditionalVersionWeights to set
    cause: str = "stopped by the rehearsal"  # stop-execution
    state: str | None = None  # inject-fault
    kind: Literal["throttling", "service-error", "crash", "timeout"] | None = None
    times: int | None = Field(default=1, ge=1)
    at_step: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _fault_needs_state_and_kind(self) -> Event:
        if self.action == "inject-fault" and (self.state is None or self.kind is None):
            raise ValueError("inject-fault needs `state` and `kind`")
        return self


class Expect(_Model):
    outcome: str | None = None


class Scenario(_Model):
    name: str = "rehearsal"
    description: str = ""
    function: str = "brand-api"
    seed: int = 0
    traffic: Traffic
    baseline: Behaviour = Field(default_factory=Behaviour)
    candidate: Behaviour = Field(default_factory=Behaviour)
    deployment: dict[str, Any] = Field(default_factory=dict)
    warmup_seconds: int = Field(default=120, ge=0, le=3600)
    # the function's reserved concurrency (PutFunctionConcurrency) during the rehearsal: requests
    # beyond it are throttled (sync traffic only; aws/awslambda/concurrency.py)
    reserved_concurrency: int | None = Field(default=None, ge=0, le=1000)
    # default 60 s; for async samples (unset) the sample's own, long enough for the retries
    drain_seconds: int = Field(default=60, ge=0, le=3600)
    expect: Expect | None = None
    events: list[Event] = Field(default_factory=list, max_length=100)


class ScenarioError(ValueError):
    """The scenario file is unreadable or malformed."""


def load_scenario(path: Path) -> Scenario:
    try:
        text = path.read_text()
    except OSError as error:
        raise ScenarioError(f"{path}: cannot read: {error.strerror}") from error
    try:
        data = yaml.safe_load(text) if path.suffix in {".yaml", ".yml"} else json.loads(text)
    except (ValueError, yaml.YAMLError) as error:
        raise ScenarioError(
            f"{path}: not valid {path.suffix.lstrip('.') or 'JSON'}: {error}"
        ) from error
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise ScenarioError(f"{path}: {where}: {first['msg']}") from error
    for forbidden in ("targetVersion", "code", "functionName"):
        if forbidden in scenario.deployment:
            raise ScenarioError(
                f"{path}: deployment.{forbidden}: set by the rehearsal (it publishes the candidate)"
            )
    return scenario
