"""End to end through the shipped state machine: bad input fails in Prepare, naming the field,
and changes nothing (the alias byte-for-byte, no version published).

The refused cases share one class-scoped Sandbox (each checks the alias and the versions around
itself, so a case that changed anything would also be caught by the next); inputs that a faulty
Prepare might accept and deploy get a fresh Sandbox each (one Sandbox is active at a time, so
those tests live outside the class).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_helpers import (
    ERRORS_ALARM,
    FUNCTION,
    Finished,
    alias_snapshot,
    executions,
    publish_candidate,
    published_versions,
    run,
    run_raw,
)

from coalmine_sandbox import Sandbox

STABLE = "1"  # what template.yaml's AutoPublishAlias leaves brand-api:prod on
CANDIDATE = "2"  # published by the fixture
BUCKET = "<artifact-bucket>"  # replaced by the stack's ArtifactBucket
#: A zip outside deployments/ (so putting it starts nothing), for inputs that name `code`.
CODE_KEY = "deployments/brand-api/staging-build"  # not *.zip: the upload rule ignores it
GOOD: dict[str, Any] = {
    "functionName": FUNCTION,
    "targetVersion": CANDIDATE,
    "strategy": "AllAtOnce",
    # no traffic here: AllAtOnce's watch after the cutover would (rightly) not promote blind
    "analysis": {"alarms": [ERRORS_ALARM], "intervalSeconds": 60, "watchSeconds": 0},
}
CODE = {"s3Bucket": BUCKET, "s3Key": CODE_KEY}


def _with(**fields: Any) -> dict[str, Any]:
    return {**GOOD, **fields}


def _without(*names: str) -> dict[str, Any]:
    return {k: v for k, v in GOOD.items() if k not in names}


def _steps(*weights: Any) -> dict[str, Any]:
    return {"type": "steps", "steps": [{"weight": w, "bakeSeconds": 60} for w in weights]}


# id -> (execution input (a dict, or raw JSON text), error name, the field the message names)
REFUSED: dict[str, tuple[Any, str, str]] = {
    # who and what
    "unknown function": (_with(functionName="brand-nope"), "InvalidInput", "functionName"),
    "unknown alias": (_with(alias="staging"), "InvalidInput", "alias"),
    "missing functionName": (_without("functionName"), "InvalidInput", "functionName"),
    "target $LATEST": (_with(targetVersion="$LATEST"), "InvalidInput", "targetVersion"),
    "target missing version": (_with(targetVersion="99"), "InvalidInput", "targetVersion"),
    "target equal to stable": (_with(targetVersion=STABLE), "InvalidInput", "targetVersion"),
    "both targetVersion and code": (_with(code=CODE), "InvalidInput", "targetVersion/code"),
    "neither targetVersion nor code": (
        _without("targetVersion"),
        "InvalidInput",
        "targetVersion/code",
    ),
    # strategy
    "unknown strategy name": (
        _with(strategy="Canary10Percent5Hours"),
        "InvalidInput",
        "strategy",
    ),
    "unknown strategy type": (
        _with(strategy={"type": "exponential"}),
        "InvalidInput",
        "strategy.type",
    ),
    "weight above 1": (
        _with(strategy=_steps(0.1, 1.5)),
        "InvalidInput",
        "strategy.steps[1].weight",
    ),
    "weight 0": (_with(strategy=_steps(0)), "InvalidInput", "strategy.steps[0].weight"),
    "weight below 0": (_with(strategy=_steps(-0.1)), "InvalidInput", "strategy.steps[0].weight"),
    "weights decreasing": (
        _with(strategy=_steps(0.2, 0.1)),
        "InvalidInput",
        "strategy.steps[1].weight",
    ),
    "weights repeated": (
        _with(strategy=_steps(0.1, 0.1)),
        "InvalidInput",
        "strategy.steps[1].weight",
    ),
    "canary percent 100": (
        _with(strategy={"type": "canary", "percent": 100, "intervalMinutes": 1}),
        "InvalidInput",
        "strategy.percent",
    ),
    # not a JSON object
    "input is an array": ("[1, 2]", "InvalidInput", "input"),
    "input is a string": ('"brand-api"', "InvalidInput", "input"),
    "input is null": ("null", "InvalidInput", "input"),
    # wrong types
    "targetVersion a number": (_with(targetVersion=2), "InvalidInput", "targetVersion"),
    "functionName a number": (_with(functionName=42), "InvalidInput", "functionName"),
    "alias a list": (_with(alias=["prod"]), "InvalidInput", "alias"),
    "strategy a number": (_with(strategy=42), "InvalidInput", "strategy"),
    "percent a word": (
        _with(strategy={"type": "canary", "percent": "ten", "intervalMinutes": 1}),
        "InvalidInput",
        "strategy.percent",
    ),
    "analysis a string": (_with(analysis=ERRORS_ALARM), "InvalidInput", "analysis"),
    "alarms a string": (
        _with(analysis={"alarms": ERRORS_ALARM}),
        "InvalidInput",
        "analysis.alarms",
    ),
    "intervalSeconds fractional": (
        _with(analysis={"intervalSeconds": 60.5}),
        "InvalidInput",
        "analysis.intervalSeconds",
    ),
    "intervalSeconds out of range": (
        _with(analysis={"intervalSeconds": 5}),
        "InvalidInput",
        "analysis.intervalSeconds",
    ),
    "watchSeconds negative": (
        _with(analysis={"watchSeconds": -1}),
        "InvalidInput",
        "analysis.watchSeconds",
    ),
    "watchSeconds over a day": (
        _with(analysis={"watchSeconds": 86401}),
        "InvalidInput",
        "analysis.watchSeconds",
    ),
    "code a string": (
        {**_without("targetVersion"), "code": f"s3://{BUCKET}/{CODE_KEY}"},
        "InvalidInput",
        "code",
    ),
    "code without s3Key": (
        {**_without("targetVersion"), "code": {"s3Bucket": BUCKET}},
        "InvalidInput",
        "code.s3Key",
    ),
    # unknown fields (a typo is an error, not a silent default)
    "unknown top-level field": (
        {**_without("strategy"), "stratgy": "AllAtOnce"},
        "InvalidInput",
        "stratgy",
    ),
    "unknown analysis field": (
        _with(analysis={"alarm": [ERRORS_ALARM]}),
        "InvalidInput",
        "analysis.alarm",
    ),
    # lifecycle hooks: a function name (optionally :alias or :version), never an ARN
    "hook an ARN": (
        _with(analysis={"preTrafficHook": "arn:aws:lambda:us-east-1:123456789012:function:x"}),
        "InvalidInput",
        "analysis.preTrafficHook",
    ),
    "hook a number": (
        _with(analysis={"postTrafficHook": 7}),
        "InvalidInput",
        "analysis.postTrafficHook",
    ),
    "unknown strategy field": (
        _with(strategy={"type": "canary", "percent": 10, "intervalMinutes": 1, "bake": 60}),
        "InvalidInput",
        "strategy.bake",
    ),
    "unknown code field": (
        {**_without("targetVersion"), "code": {**CODE, "s3Version": "1"}},
        "InvalidInput",
        "code.s3Version",
    ),
    # the outside world
    "unknown alarm": (
        _with(analysis={"alarms": [ERRORS_ALARM, "no-such-alarm"]}),
        "InvalidInput",
        "analysis.alarms",
    ),
}

#: Wrong-typed JSON that Prepare currently coerces and deploys (pydantic's lax mode).
COERCED: dict[str, tuple[dict[str, Any], str]] = {
    "intervalSeconds a string": (
        _with(analysis={"intervalSeconds": "60"}),
        "analysis.intervalSeconds",
    ),
    "percent a numeric string": (
        _with(strategy={"type": "canary", "percent": "10", "intervalMinutes": 1}),
        "strategy.percent",
    ),
    "weight a boolean": (_with(strategy=_steps(True)), "strategy.steps[0].weight"),
}


def _materialise(request: Any, bucket: str) -> Any:
    """The case's input with the artifact bucket's real name filled in."""
    if isinstance(request, str):
        return request
    return json.loads(json.dumps(request).replace(BUCKET, bucket))


@pytest.fixture(scope="class")
def shared() -> Iterator[Sandbox]:
    """brand-api:prod on version 1, version 2 published, a zip at CODE_KEY: a deployable world."""
    with Sandbox(seed=11) as sb:
        assert publish_candidate(sb) == CANDIDATE
        assert alias_snapshot(sb)["FunctionVersion"] == STABLE
        sb.put_object(sb.stack["ArtifactBucket"], CODE_KEY, b"PK\x05\x06" + b"\x00" * 18)
        assert executions(sb) == []
        yield sb


def _start(sb: Sandbox, request: Any) -> Finished:
    request = _materialise(request, sb.stack["ArtifactBucket"])
    return run_raw(sb, request) if isinstance(request, str) else run(sb, request)


def _assert_refused_in_prepare(done: Finished, error: str, field: str) -> None:
    assert done.status == "FAILED"
    assert done.error == error, done.cause
    assert done.message.startswith(f"{field}: "), f"{done.message!r} does not name {field!r}"
    assert done.entered == ["Prepare"], "bad input must fail in Prepare, before anything else"


def test_the_good_input_the_cases_start_from_is_accepted(sandbox: Sandbox) -> None:
    """The control: without its defect, a case's input deploys (so each case tests its defect)."""
    candidate = publish_candidate(sandbox)
    sandbox.put_object(sandbox.stack["ArtifactBucket"], CODE_KEY, b"PK\x05\x06" + b"\x00" * 18)
    done = run(sandbox, GOOD)
    assert done.status == "SUCCEEDED", done.message
    assert alias_snapshot(sandbox)["FunctionVersion"] == candidate


@pytest.mark.parametrize(
    ("request_", "field"),
    [pytest.param(*case, id=name) for name, case in COERCED.items()],
)
def test_wrong_typed_json_is_refused_not_coerced(
    sandbox: Sandbox, request_: dict[str, Any], field: str
) -> None:
    # Given a deployable world (a fresh one: a faulty Prepare deploys these)
    publish_candidate(sandbox)
    alias_before = alias_snapshot(sandbox)
    versions_before = published_versions(sandbox)
    # When a field has the wrong JSON type, though one Python could convert
    done = run(sandbox, request_)
    # Then it is refused like any other wrong type, and nothing changed
    _assert_refused_in_prepare(done, "InvalidInput", field)
    assert alias_snapshot(sandbox) == alias_before
    assert published_versions(sandbox) == versions_before


class TestRefusedInOneSandbox:
    """The refused cases, sharing one class-scoped Sandbox (one Sandbox may be active at a time:
    the tests with their own Sandbox run outside this class)."""

    @pytest.mark.parametrize(("request_", "error", "field"), REFUSED.values(), ids=REFUSED.keys())
    def test_bad_input_fails_in_prepare_and_changes_nothing(
        self, shared: Sandbox, request_: Any, error: str, field: str
    ) -> None:
        # Given the alias and the published versions as they are
        alias_before = alias_snapshot(shared)
        versions_before = published_versions(shared)
        # When a deployment starts with the bad input
        done = _start(shared, request_)
        # Then it failed in Prepare naming the field, and nothing changed
        _assert_refused_in_prepare(done, error, field)
        assert alias_snapshot(shared) == alias_before
        assert published_versions(shared) == versions_before

    def test_input_that_is_not_json_starts_nothing(self, shared: Sandbox) -> None:
        # Given the alias as it is
        alias_before = alias_snapshot(shared)
        started_before = len(executions(shared))
        # When StartExecution gets text that is not JSON, Step Functions refuses it outright
        sfn = shared.client("stepfunctions")
        with pytest.raises(ClientError):
            sfn.start_execution(stateMachineArn=shared.stack.state_machine_arn, input="stratgy: x")
        # Then no execution started and nothing changed
        assert len(executions(shared)) == started_before
        assert alias_snapshot(shared) == alias_before

    @pytest.mark.xfail(
        strict=True,
        raises=AssertionError,
        reason="sandbox (moto 5.2.5): StartExecution with non-JSON input raises a ClientError "
        "whose code is '' (message: json's 'Expecting value ...'); AWS: InvalidExecutionInput",
    )
    def test_non_json_input_is_invalid_execution_input(self, shared: Sandbox) -> None:
        sfn = shared.client("stepfunctions")
        with pytest.raises(ClientError) as raised:
            sfn.start_execution(stateMachineArn=shared.stack.state_machine_arn, input="not json")
        assert raised.value.response["Error"]["Code"] == "InvalidExecutionInput"
