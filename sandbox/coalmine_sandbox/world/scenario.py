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
    # brand-api: the share of lookups answered "not found" although the brand exists (a
    # business regression: no error, no latency; its BrandLookup metric counts it per version)
    not_found_rate: float = Field(default=0.0, ge=0, le=1)

    def environment(self) -> dict[str, str]:
        env = {
            "FAULT_ERROR_RATE": f"{self.error_rate:g}",
            "FAULT_LATENCY_MS": f"{self.latency_ms:g}",
        }
        if self.not_found_rate:
            env["FAULT_NOT_FOUND_RATE"] = f"{self.not_found_rate:g}"
        return env


Action = Literal[
    "tamper-alias",
    "stop-execution",
    "start-second-deployment",
    "inject-fault",
    "inject-api-fault",
    "metrics-delay",
    "candidate-change",
    "expire-lock",
    "abort",
    "promote-now",
    "pause",
    "resume",
    "approve",
    "reject",
]
#: An operator's requests (adapters/operator_requests.py, as the CLI makes them): `reason` needed.
OPERATOR_ACTIONS = ("abort", "promote-now", "pause", "resume", "approve", "reject")
#: Services whose APIs the handlers call (botocore's names), for inject-api-fault.
ApiService = Literal["lambda", "cloudwatch", "dynamodb", "stepfunctions", "s3", "events", "sqs"]
# The fields only some actions read: naming one on another action is a mistake, said so.
_ONLY_FOR = {
    "service": ("inject-api-fault",),
    "api": ("inject-api-fault",),
    "caller": ("inject-api-fault",),
    "from_seconds": ("inject-api-fault",),
    "to_seconds": ("inject-api-fault",),
    "occurrence": ("inject-api-fault",),
    "seconds": ("metrics-delay",),
    "error_rate": ("candidate-change",),
    "latency_ms": ("candidate-change",),
    "reason": OPERATOR_ACTIONS,
}


class Event(_Model):
    """Something the world does during the rehearsal (rehearsal_events.py performs it), either
    `at_seconds` simulated seconds after the execution started or as the `at_entry`-th
    invocation of the Task state `at_state` starts: an out-of-band alias change, a console stop,
    a second deployment of the same alias, a fault injected into a state, an AWS API answering
    errors for a window of time (`from_seconds`..`to_seconds`), CloudWatch's publishing delay
    changing, the candidate starting to behave differently, the alias lock's expiry passing, or
    an operator's request (`abort`, `promote-now`, `pause`, `resume`, with its `reason`).
    """

    at_seconds: float | None = Field(default=None, ge=0, le=86_400)
    at_state: str | None = Field(default=None, pattern=r"^[A-Z][A-Za-z]{0,79}$")
    at_entry: int = Field(default=1, ge=1, le=1000)
    action: Action
    version: str = Field(default="hotfix", pattern=r"^(baseline|candidate|hotfix|[0-9]+)$")
    weights: dict[str, float] | None = None  # tamper-alias: AdditionalVersionWeights to set
    cause: str = "stopped by the rehearsal"  # stop-execution
    state: str | None = None  # inject-fault
    kind: Literal["throttling", "service-error", "crash", "timeout"] | None = None
    times: int | None = Field(default=1, ge=1)
    at_step: int | None = Field(default=None, ge=0)
    # inject-api-fault: which API answers errors, for whom, and when
    service: ApiService | None = None
    api: str | None = Field(default=None, pattern=r"^[A-Z][A-Za-z0-9]{1,79}$")
    caller: str | None = Field(default=None, pattern=r"^[A-Z][A-Za-z]{0,79}$")
    from_seconds: float | None = Field(default=None, ge=0, le=86_400)
    to_seconds: float | None = Field(default=None, gt=0, le=86_400)
    occurrence: int | None = Field(default=None, ge=1)
    seconds: float | None = Field(default=None, ge=0, le=86_400)  # metrics-delay
    error_rate: float | None = Field(default=None, ge=0, le=1)  # candidate-change
    latency_ms: float | None = Field(default=None, ge=0, le=900_000)
    # an operator's request (OPERATOR_ACTIONS): why
    reason: str | None = Field(default=None, min_length=1, max_length=1024)

    @model_validator(mode="after")
    def _fault_needs_state_and_kind(self) -> Event:
        if self.action == "inject-fault" and (self.state is None or self.kind is None):
            raise ValueError("inject-fault needs `state` and `kind`")
        return self

    @model_validator(mode="after")
    def _one_moment(self) -> Event:
        if self.action == "inject-api-fault":
            if self.at_seconds is not None or self.at_state is not None:
                raise ValueError(
                    "inject-api-fault holds for a window: give `fromSeconds`/`toSeconds`, "
                    "not `atSeconds`/`atState`"
                )
            return self
        if (self.at_seconds is None) == (self.at_state is None):
            raise ValueError(f"{self.action} needs exactly one of `atSeconds` or `atState`")
        if self.at_state is None and "at_entry" in self.model_fields_set:
            raise ValueError("`atEntry` counts the entries of `atState`: give `atState` too")
        return self

    @model_validator(mode="after")
    def _fields_of_the_action(self) -> Event:
        for name, actions in _ONLY_FOR.items():
            if getattr(self, name) is not None and self.action not in actions:
                raise ValueError(f"`{to_camel(name)}` is only for {', '.join(actions)}")
        if self.action == "inject-api-fault":
            if self.service is None or self.api is None:
                raise ValueError("inject-api-fault needs `service` and `api`")
            if self.kind not in ("throttling", "service-error"):
                raise ValueError("inject-api-fault needs `kind`: throttling or service-error")
            start = self.from_seconds or 0.0
            if self.to_seconds is not None and self.to_seconds <= start:
                raise ValueError(f"`toSeconds` ({self.to_seconds:g}) must be after `fromSeconds`")
        if self.action in OPERATOR_ACTIONS and self.reason is None:
            raise ValueError(f"{self.action} needs `reason` (recorded with the operator's action)")
        if self.action == "metrics-delay" and self.seconds is None:
            raise ValueError("metrics-delay needs `seconds` (CloudWatch's publishing delay)")
        if (
            self.action == "candidate-change"
            and self.error_rate is None
            and self.latency_ms is None
        ):
            raise ValueError("candidate-change needs `errorRate` and/or `latencyMs`")
        return self

    @property
    def api_fault_times(self) -> int | None:
        """inject-api-fault: every call in the window unless `times` was given."""
        return self.times if "times" in self.model_fields_set else None


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
