"""The data that flows through the deployment state machine.

``ExecutionInput`` is what a user (or the upload rule, or CI) starts an execution with.
``Deployment`` is the state every step handler receives and returns: the state machine passes it
from state to state unchanged except by the handlers, so it is also the execution's output.
JSON field names are camelCase (the ASL reads ``$.action``, ``$.bake.waitSeconds``, ...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    model_validator,
)
from pydantic.alias_generators import to_camel

from coalmine.gates_config import GatesConfig

FunctionName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
]


def _not_a_version_number(value: str) -> str:
    if value.isdigit():
        raise ValueError("an alias name cannot be all digits (that is a version number)")
    return value


AliasName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$"),
    AfterValidator(_not_a_version_number),
]
VersionNumber = Annotated[str, StringConstraints(min_length=1, max_length=10, pattern=r"^[0-9]+$")]
_HOOK_FUNCTION = re.compile(r"[A-Za-z0-9_-]{1,64}(:(\$LATEST|[A-Za-z0-9_-]{1,128}))?")


def _hook_function(value: str) -> str:
    if not _HOOK_FUNCTION.fullmatch(value):
        raise ValueError(
            f"{value[:80]!r} is not a Lambda function name, optionally with :alias or :version "
            "(e.g. brand-api-smoke or brand-api-smoke:live); ARNs are not accepted"
        )
    return value


#: A lifecycle hook (docs/reference.md "Hooks"): a function name, maybe qualified; never an ARN.
HookFunction = Annotated[str, AfterValidator(_hook_function)]

#: The role coalmine assumes in the function's account (docs/cross-account.md): an IAM role ARN.
RoleArn = Annotated[
    str,
    StringConstraints(
        max_length=2048,
        pattern=r"^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/([A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]{1,64}$",
    ),
]
#: An AWS region name such as eu-west-1 or us-gov-west-1.
RegionName = Annotated[
    str, StringConstraints(max_length=32, pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$")
]


class Model(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields are refused."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=False
    )

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


# ----------------------------------------------------------------------------- execution input
class InputModel(Model):
    """What a user writes: strict JSON types, so ``"60"`` is not an integer and ``true`` is not
    a weight (lax coercion could turn a typo into promoting at once)."""

    model_config = ConfigDict(strict=True)


class CodeLocation(InputModel):
    s3_bucket: Annotated[str, StringConstraints(min_length=3, max_length=63)]
    s3_key: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    s3_object_version: Annotated[str, StringConstraints(min_length=1, max_length=1024)] | None = (
        None
    )


class ApprovalConfig(InputModel):
    """A human gate (coalmine/approvals.py): hold the weight, analysing at every tick, until an
    operator approves (go on) or rejects (roll back), or ``timeout_seconds`` pass."""

    timeout_seconds: int = Field(default=3600, ge=60, le=24 * 3600)
    on_timeout: Literal["rollback", "continue"] = "rollback"


class CanaryStrategy(InputModel):
    """Shift ``percent`` of traffic, bake, then promote."""

    type: Literal["canary"]
    percent: float = Field(gt=0, lt=100)
    interval_minutes: float = Field(gt=0, le=24 * 60)
    approve_before_promotion: ApprovalConfig | None = None


class LinearStrategy(InputModel):
    """Add ``percent`` every interval until 100%."""

    type: Literal["linear"]
    percent: float = Field(gt=0, lt=100)
    interval_minutes: float = Field(gt=0, le=24 * 60)
    approve_before_promotion: ApprovalConfig | None = None


class StepSpec(InputModel):
    weight: float = Field(gt=0, le=1)
    bake_seconds: int = Field(ge=0, le=24 * 3600)


class ApprovalStepSpec(InputModel):
    """``{"approval": {...}}`` in a steps plan: wait for a human after the step before it."""

    approval: ApprovalConfig


def _plan_item_kind(value: Any) -> str:
    """A steps plan's item: an approval (``{"approval": ...}``) or a weighted step."""
    if isinstance(value, dict):
        return "approval" if "approval" in value else "step"
    return "approval" if isinstance(value, ApprovalStepSpec) else "step"


PlanItem = Annotated[
    Annotated[StepSpec, Tag("step")] | Annotated[ApprovalStepSpec, Tag("approval")],
    Discriminator(_plan_item_kind),
]


class StepsStrategy(InputModel):
    """An explicit list of weights (fractions, strictly increasing) each with its bake time, and
    approvals between them."""

    type: Literal["steps"]
    steps: list[PlanItem] = Field(min_length=1, max_length=50)


class BlueGreenStrategy(InputModel):
    """Cut over at once, keep the old version on the ``previous`` alias, bake, roll back if bad."""

    type: Literal["blueGreen"]
    bake_seconds: int = Field(default=300, ge=0, le=24 * 3600)
    previous_alias: AliasName = "previous"


StrategySpec = Annotated[
    CanaryStrategy | LinearStrategy | StepsStrategy | BlueGreenStrategy,
    Field(discriminator="type"),
]


class HookCallback(InputModel):
    """A lifecycle hook that answers later (docs/reference.md "Hooks"): the state machine invokes
    it with a task token and waits up to ``timeout_seconds`` (CodeDeploy's hour at most) for
    SendTaskSuccess/Failure; with ``heartbeat_seconds``, a wait with no SendTaskHeartbeat (or
    answer) for that long ends it too. None: no heartbeat asked for (coalmine/hooks.py)."""

    timeout_seconds: int = Field(default=3600, ge=60, le=3600)
    heartbeat_seconds: int | None = Field(default=None, ge=1, le=3600)

    @model_validator(mode="after")
    def _heartbeat_within_timeout(self) -> HookCallback:
        if self.heartbeat_seconds is not None and self.heartbeat_seconds >= self.timeout_seconds:
            raise ValueError(
                f"heartbeatSeconds ({self.heartbeat_seconds}) must be less than timeoutSeconds "
                f"({self.timeout_seconds})"
            )
        return self


class AnalysisConfig(InputModel, GatesConfig):
    """How the new version is judged: the metric gates' settings (``GatesConfig``, all on by
    default, so no ``analysis`` field still means a judged deployment), the alarms gate, the
    tick and dry run (docs/analysis.md)."""

    alarms: list[Annotated[str, StringConstraints(min_length=1, max_length=255)]] = Field(
        default_factory=list, max_length=50
    )
    interval_seconds: int = Field(default=60, ge=10, le=3600)
    # AllAtOnce: how long the new version is watched after the cutover, judged against the old
    # version's own minutes before it (analysis.py); 0: not judged
    watch_seconds: int = Field(default=300, ge=0, le=24 * 3600)
    # how long after a minute ends its metrics are assumed readable (coalmine/arrival.py)
    metrics_delay_seconds: int = Field(default=120, ge=0, le=900)
    dry_run: bool = False
    pre_traffic_hook: HookFunction | None = None  # coalmine/hooks.py
    post_traffic_hook: HookFunction | None = None
    # the hook answers through a task token instead of its Invoke's result (hooks.py)
    pre_traffic_hook_callback: HookCallback | None = None
    post_traffic_hook_callback: HookCallback | None = None
    # async targets only (coalmine/async_gates.py): the alias's queue, judged at the alias level
    max_event_age_seconds: int | None = Field(default=None, ge=1, le=21_600)  # None: half max age
    max_dropped_event_rate: float | None = Field(default=None, gt=0, lt=1)  # None: not judged
    max_destination_delivery_failures: int | None = Field(default=0, ge=0)  # None: not judged
    # an operator's pause longer than this rolls back (operator_actions.py)
    max_pause_seconds: int = Field(default=86_400, ge=60, le=86_400)
    # lowTrafficPolicy "ask": how long the human gate it opens waits (then rolls back)
    ask_timeout_seconds: int = Field(default=3600, ge=60, le=86_400)


class CloudFormationCallback(InputModel):
    """Where a deployment started by the ``Custom::CoalmineAlias`` provider answers
    CloudFormation when it ends (coalmine/custom_resource.py): the request's pre-signed
    ``ResponseURL`` and ids, copied verbatim into the answer."""

    response_url: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    stack_id: Annotated[str, StringConstraints(min_length=1, max_length=2048)]
    request_id: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    logical_resource_id: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    physical_resource_id: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    function_version: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None


class ExecutionInput(InputModel):
    function_name: FunctionName
    alias: AliasName = "prod"
    target_version: VersionNumber | None = None
    code: CodeLocation | None = None
    strategy: str | StrategySpec = "Canary10Percent5Minutes"
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig)
    # who asks, as the caller reports it (the CLI: its caller identity's ARN); kept in the
    # history item's startedBy (history.started_by), never trusted for a decision
    started_by: str | None = Field(default=None, min_length=1, max_length=256)
    callback: CloudFormationCallback | None = None  # set by the Custom::CoalmineAlias provider
    # another account (and region): every Lambda and CloudWatch call through this role
    target_role_arn: RoleArn | None = None
    region: RegionName | None = None  # the function's region (needs targetRoleArn)


class TargetFields(InputModel):
    """Only the input's target (Prepare reads it first: the role it names reads the rest)."""

    model_config = ConfigDict(extra="ignore")
    target_role_arn: RoleArn | None = None
    region: RegionName | None = None


class Target(Model):
    """Where the function is when it is not in coalmine's own account (docs/cross-account.md):
    the role assumed for its Lambda and CloudWatch calls, its account and region (resolved)."""

    role_arn: RoleArn
    account: Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
    region: RegionName

    @classmethod
    def of(cls, role_arn: str, region: str) -> Target:
        return cls(role_arn=role_arn, account=role_arn.split(":")[4], region=region)


# ----------------------------------------------------------------------------- plan
class Step(Model):
    """One traffic step: ``weight`` (0 < w < 1) of the alias's traffic on the new version."""

    weight: float = Field(gt=0, lt=1)
    bake_seconds: int = Field(ge=0)


class ApprovalGate(Model):
    """A human gate of the plan: after step ``after_step``'s bake passed (0-based), the weight is
    held until an operator approves or rejects, or ``timeout_seconds`` pass (approvals.py)."""

    after_step: int = Field(ge=0)
    timeout_seconds: int
    on_timeout: Literal["rollback", "continue"] = "rollback"


class Plan(Model):
    """What a strategy means: weighted steps, then promotion, then an optional bake after it."""

    strategy: str
    steps: list[Step]
    post_promotion_bake_seconds: int = 0
    previous_alias: AliasName | None = None  # blue/green keeps the old version here
    approvals: list[ApprovalGate] = Field(default_factory=list)  # coalmine/approvals.py


class AsyncTarget(Model):
    """The alias is invoked asynchronously: its event invoke config (GetFunctionEventInvokeConfig
    with the alias as qualifier; ``configured`` False: it has none, Lambda's defaults apply, and
    Analyze found it by its AsyncEventsReceived), and what coalmine derived from it: how long a
    failed event can keep being retried (``retry_window_seconds``) and how the last bake was
    lengthened to cover it (``last_bake``; None if it already did)."""

    maximum_retry_attempts: int = Field(default=2, ge=0, le=2)
    maximum_event_age_in_seconds: int = Field(default=21_600, ge=60, le=21_600)
    on_success: str | None = None  # destination ARN
    on_failure: str | None = None
    configured: bool = True
    retry_window_seconds: int = 0
    last_bake: str | None = None


# ----------------------------------------------------------------------------- state
class Action(StrEnum):
    """What the state machine's ``NextAction`` Choice does next."""

    SHIFT = "SHIFT"
    BAKE = "BAKE"
    AWAIT = "AWAIT"  # AwaitApproval: a human gate (coalmine/approvals.py)
    HOOK = "HOOK"  # AwaitHook: a lifecycle hook that answers through a task token (hooks.py)
    PROMOTE = "PROMOTE"
    FINISH = "FINISH"
    ROLLBACK = "ROLLBACK"


class Verdict(StrEnum):
    """What a gate, a tick or a step says about the new version."""

    PASS = "PASS"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"


_SEVERITY = {Verdict.PASS: 0, Verdict.INCONCLUSIVE: 1, Verdict.FAIL: 2}


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """The worst of ``verdicts``: FAIL > INCONCLUSIVE > PASS; none -> PASS."""
    return max(verdicts, key=_SEVERITY.__getitem__, default=Verdict.PASS)


class TickAction(StrEnum):
    """What one analysis tick decides (``Tick.action``; analysis.py)."""

    CONTINUE = "CONTINUE"  # bake on
    EXTEND = "EXTEND"  # bake over, too little traffic: bake ``extend_seconds`` more
    PASS = "PASS"  # step done: shift further or promote
    ASK = "ASK"  # step done, too little traffic to judge: a human decides (approvals.py)
    ROLLBACK = "ROLLBACK"


class Outcome(StrEnum):
    IN_PROGRESS = "IN_PROGRESS"
    PROMOTED = "PROMOTED"
    ROLLED_BACK = "ROLLED_BACK"


class GateResult(Model):
    gate: str
    verdict: Verdict
    reason: str
    evidence: dict[str, Any] = Field(default_factory=dict)


class Tick(Model):
    """One analysis of one step: when (seconds into the step's bake), what each gate said, and
    what the tick decided (``action``) and why."""

    elapsed_seconds: int
    verdict: Verdict
    gates: list[GateResult]
    action: TickAction | None = None
    reason: str | None = None
    enforced: bool = True  # False in a dry run: the decision was recorded, not acted on
    at: datetime | None = None  # when the tick ran
    coverage: dict[str, Any] | None = None  # the minutes its metrics cover (coalmine/arrival.py)
    # its number in the step (0, 1, ...), given when it is written to the evidence store
    # (coalmine/evidence.py); None: not written yet
    seq: int | None = None


class WorstGate(Model):
    """The most severe gate result a step's ticks recorded (the first of that verdict)."""

    gate: str
    verdict: Verdict
    reason: str
    elapsed_seconds: int


class StepRecord(Model):
    """Evidence for one step (index -1 is the bake after promotion)."""

    index: int
    weight: float
    bake_seconds: int
    verdict: Verdict | None = None
    reason: str | None = None
    ticks: list[Tick] = Field(default_factory=list)
    # A rolling summary of every tick of the step (coalmine/evidence.py): the ticks themselves
    # are in the evidence store; the document keeps only the running step's latest ones.
    tick_count: int = 0
    verdict_counts: dict[str, int] = Field(default_factory=dict)
    worst_gate: WorstGate | None = None
    started_at: datetime | None = None  # when the step's bake began (its first tick says)


class EvidenceRecord(Model):
    """Where the deployment's full evidence is (``s3://bucket/reports/...``) and what reached it."""

    location: str | None = None
    ticks_written: int = 0
    ticks_lost: int = 0  # ticks whose write failed after its retries (counted EvidenceWriteFailed)


class Bake(Model):
    bake_seconds: int = 0
    elapsed_seconds: int = 0
    wait_seconds: int = 0
    extended_seconds: int = 0  # added to the bake for too little traffic (<= maxBakeExtension)


class AliasState(Model):
    """What an alias routes, as GetAlias/UpdateAlias report it (not part of the Deployment)."""

    function_version: str
    weights: dict[str, float] = Field(default_factory=dict)
    revision_id: str = ""

    def describe(self) -> str:
        if not self.weights:
            return f"version {self.function_version} (no weights)"
        extra = ", ".join(f"{w * 100:g}% to version {v}" for v, w in self.weights.items())
        return f"version {self.function_version} with {extra}"


class OperatorAction(Model):
    """An operator's request on a running deployment (coalmine/operator_actions.py): appended to
    the alias's lock by the CLI (or a rehearsal event), acted on by the next analysis tick and then
    kept in the deployment document's ``operatorActions``."""

    id: str = Field(min_length=1, max_length=64)
    action: Literal["abort", "promote-now", "pause", "resume", "approve", "reject"]
    principal: str = Field(min_length=1, max_length=2048)  # STS GetCallerIdentity's Arn
    at: datetime  # when it was requested
    reason: str = Field(min_length=1, max_length=1024)
    applied_at: datetime | None = None  # when the analysis tick acted on it
    # approve / reject: the gate it answers (when that gate opened, as the lock said): the
    # deployment's own time, so the asker's clock (skewed, or a sandbox's) decides nothing
    gate: datetime | None = None


class ApprovalWait(Model):
    """The human gate the deployment waits at (coalmine/approvals.py): since when, until when, and
    the next wait's length (AwaitApproval's TimeoutSecondsPath: at most one analysis interval)."""

    step: int
    requested_at: datetime
    timeout_seconds: int
    on_timeout: Literal["rollback", "continue"] = "rollback"
    wait_seconds: int = Field(ge=1)


class ErrorInfo(Model):
    """What a Catch puts at ``$.error`` (Step Functions' own field names)."""

    model_config = ConfigDict(alias_generator=None, extra="ignore")
    Error: str
    Cause: str | None = None


class HookWait(Model):
    """A lifecycle hook the deployment waits for (coalmine/hooks.py): AwaitHook invokes
    ``function`` with the hook's payload and a task token, waits ``timeout_seconds`` (and
    ``heartbeat_seconds`` between heartbeats: with none asked for, ``timeout_seconds - 1``, as
    Step Functions wants HeartbeatSeconds below TimeoutSeconds, and its end is the timeout); its
    answer (``answer``) or the Catch's error (``error``) is judged when ``resume`` runs again."""

    lifecycle: Literal["PreTraffic", "PostTraffic"]
    function: str
    resume: Literal["SHIFT", "PROMOTE"]
    since: datetime
    timeout_seconds: int = Field(ge=1, le=3600)
    heartbeat_seconds: int = Field(ge=1, le=3600)
    heartbeat_asked: bool = True  # analysis.*TrafficHookCallback.heartbeatSeconds was given
    answer: Any = None  # SendTaskSuccess's output (AwaitHook's ResultPath)
    # AwaitHook's Catch: {Error, Cause} of SendTaskFailure, States.Timeout, ... (either may be null)
    error: dict[str, Any] | None = None


class Deployment(Model):
    deployment_id: str
    function_name: FunctionName
    alias: AliasName
    from_version: VersionNumber
    to_version: VersionNumber | None = None
    code: CodeLocation | None = None
    revision_id: str
    plan: Plan
    analysis: AnalysisConfig
    step_index: int = -1
    weight: float = 0.0
    bake: Bake = Field(default_factory=Bake)
    action: Action
    outcome: Outcome = Outcome.IN_PROGRESS
    reason: str | None = None
    steps: list[StepRecord] = Field(default_factory=list)
    hooks: list[GateResult] = Field(default_factory=list)  # each lifecycle hook run, in order
    error: ErrorInfo | None = None
    async_target: AsyncTarget | None = None  # set once the alias is known to be invoked async
    # Prepare took over a dead deployment's lock: whose, and whether it first restored the alias
    taken_over: str | None = None
    started_at: datetime | None = None  # the execution's start ($$.Execution.StartTime)
    evidence: EvidenceRecord | None = None  # where the per-tick evidence went (evidence.py)
    execution_arn: str | None = None  # the execution's ARN (Prepare's event): lifecycle events
    decided_at: datetime | None = None  # when promotion or rollback was decided (recording.py)
    operator_actions: list[OperatorAction] = Field(default_factory=list)  # operator_actions.py
    paused_at: datetime | None = None  # an operator's pause holds the step (operator_actions.py)
    approval: ApprovalWait | None = None  # waiting for a human (approvals.py)
    hook_wait: HookWait | None = None  # waiting for a hook's callback (hooks.py)
    target: Target | None = None  # another account/region (docs/cross-account.md); None: ours


class PrepareEvent(Model):
    """What the ``Prepare`` state passes its handler: the raw input plus the execution's name."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")
    request: Any
    deployment_id: str
    execution_arn: str | None = None  # the holder the deployment lock names
    started_at: datetime | None = None  # $$.Execution.StartTime: the history item's sort key

    @property
    def from_upload(self) -> bool:
        """The input came with an upload (its policy may tighten, never loosen: policy_floor)."""
        raw = self.request
        if isinstance(raw, str | bytes):
            try:
                raw = json.loads(raw)
            except ValueError:
                return False
        return isinstance(raw, dict) and "upload" in raw


# ----------------------------------------------------------------------------- Lambda's answers
# Plain records the Lambda adapter returns (adapters/lambda_api.py) and the pure modules judge.
@dataclass(frozen=True)
class FunctionState:
    version: str
    code_sha256: str
    last_update_status: str | None
    last_update_status_reason: str | None
    package_type: str
    state: str | None = None
    role: str = ""
    dead_letter_target: str | None = None  # DeadLetterConfig.TargetArn
    arn: str = ""


@dataclass(frozen=True)
class Invoked:
    """What a synchronous Invoke answered: the payload as text, ``FunctionError`` (``Unhandled``
    when the function raised) and the version that ran."""

    payload: str
    function_error: str | None = None
    executed_version: str | None = None
