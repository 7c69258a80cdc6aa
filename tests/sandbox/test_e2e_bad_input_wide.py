"""Bad input, widened: malformed execution inputs and trigger events, each refused before any
change (the execution FAILED in Prepare or PublishVersion, with an error naming the field; or,
for a trigger event, no execution at all). Nothing changed: the alias byte for
byte (RevisionId included), the published versions, $LATEST's CodeSha256.

Complements test_e2e_bad_input.py (types, ranges, unknown fields, the either/or rule): this file
covers hostile names, huge and deeply nested values, NaN/Infinity, ARNs, artifacts and events.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_helpers import (
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
from coalmine_sandbox.aws.cloudformation.package import zip_dir

REPO = Path(__file__).resolve().parents[2]
BUCKET = "<artifact-bucket>"
# under deployments/brand-api/ (code deploys from its function's prefix only), not named *.zip
# so the upload rule starts nothing
GOOD_KEY = "deployments/brand-api/staging-build"  # a real zip
NOT_A_ZIP_KEY = "deployments/brand-api/not-a-zip"
BEFORE_PUBLISH = {"Prepare", "PublishVersion"}
CHANGES = {"ShiftTraffic", "Analyze", "Promote", "Rollback"}


def good(**fields: Any) -> dict[str, Any]:
    return {"functionName": FUNCTION, "targetVersion": "2", "strategy": "AllAtOnce", **fields}


def nested(depth: int) -> Any:
    value: Any = "junk"
    for _ in range(depth):
        value = {"a": value}
    return value


# id -> (input: dict or raw JSON text, the field the error must name)
CASES: dict[str, tuple[Any, str]] = {
    "shell injection in functionName": (good(functionName="brand-api; rm -rf /"), "functionName"),
    "path traversal in functionName": (good(functionName="../../etc/passwd"), "functionName"),
    "another account's function ARN": (
        good(functionName="arn:aws:lambda:us-east-1:999999999999:function:brand-api"),
        "functionName",
    ),
    "own-account ARN with a qualifier": (
        good(functionName="arn:aws:lambda:us-east-1:123456789012:function:brand-api:prod"),
        "functionName",
    ),
    "functionName of 10,000 chars": (good(functionName="b" * 10_000), "functionName"),
    "functionName empty": (good(functionName=""), "functionName"),
    "functionName with unicode": (good(functionName="brand-\u0430pi"), "functionName"),
    "functionName null": (good(functionName=None), "functionName"),
    "alias $LATEST": (good(alias="$LATEST"), "alias"),
    "alias all digits": (good(alias="7"), "alias"),
    "alias with a newline": (good(alias="prod\nstaging"), "alias"),
    "alias of 200 KB": (good(alias="p" * 200_000), "alias"),  # 1 MB: refused by StartExecution
    "targetVersion negative": (good(targetVersion="-1"), "targetVersion"),
    "targetVersion 0": (good(targetVersion="0"), "targetVersion"),
    "targetVersion with spaces": (good(targetVersion=" 2 "), "targetVersion"),
    "targetVersion NaN": ('{"functionName": "brand-api", "targetVersion": NaN}', "targetVersion"),
    "weight NaN": (
        '{"functionName": "brand-api", "targetVersion": "2", "strategy": {"type": "steps", '
        '"steps": [{"weight": NaN, "bakeSeconds": 60}]}}',
        "strategy.steps[0].weight",
    ),
    "weight Infinity": (
        '{"functionName": "brand-api", "targetVersion": "2", "strategy": {"type": "steps", '
        '"steps": [{"weight": Infinity, "bakeSeconds": 60}]}}',
        "strategy.steps[0].weight",
    ),
    "intervalSeconds -Infinity": (
        '{"functionName": "brand-api", "targetVersion": "2", '
        '"analysis": {"intervalSeconds": -Infinity}}',
        "analysis.intervalSeconds",
    ),
    "negative bakeSeconds": (
        good(strategy={"type": "steps", "steps": [{"weight": 0.1, "bakeSeconds": -60}]}),
        "strategy.steps[0].bakeSeconds",
    ),
    "negative canary percent": (
        good(strategy={"type": "canary", "percent": -10, "intervalMinutes": 5}),
        "strategy.percent",
    ),
    "linear every 0 minutes": (
        good(strategy={"type": "linear", "percent": 10, "intervalMinutes": 0}),
        "strategy.intervalMinutes",
    ),
    "no steps": (good(strategy={"type": "steps", "steps": []}), "strategy.steps"),
    "51 steps": (
        good(
            strategy={
                "type": "steps",
                "steps": [{"weight": (i + 1) / 100, "bakeSeconds": 1} for i in range(51)],
            }
        ),
        "strategy.steps",
    ),
    "strategy name with shell injection": (good(strategy="AllAtOnce; reboot"), "strategy"),
    "deeply nested junk in analysis": (good(analysis=nested(60)), "analysis"),
    "deeply nested junk as an unknown field": (good(junk=nested(60)), "junk"),
    "51 alarms": (good(analysis={"alarms": [f"a{i}" for i in range(51)]}), "analysis.alarms"),
    "empty alarm name": (good(analysis={"alarms": [""]}), "analysis.alarms[0]"),
    "empty object": ({}, "functionName"),
    "a number as the input": ("42", "input"),
    "true as the input": ("true", "input"),
    "code bucket of another account": (
        {
            "functionName": FUNCTION,
            "code": {"s3Bucket": "someone-elses-bucket", "s3Key": GOOD_KEY},
        },
        "code.s3Bucket",
    ),
    "code outside its function's prefix": (
        {"functionName": FUNCTION, "code": {"s3Bucket": BUCKET, "s3Key": "staging/brand-api.zip"}},
        "code.s3Key",
    ),
    "code key that does not exist": (
        {
            "functionName": FUNCTION,
            "code": {"s3Bucket": BUCKET, "s3Key": "deployments/brand-api/nope"},
        },
        "code",
    ),
    "code that is not a zip": (
        {"functionName": FUNCTION, "code": {"s3Bucket": BUCKET, "s3Key": NOT_A_ZIP_KEY}},
        "code",
    ),
    "code with a bogus object version": (
        {
            "functionName": FUNCTION,
            "code": {"s3Bucket": BUCKET, "s3Key": GOOD_KEY, "s3ObjectVersion": "no-such-version"},
        },
        "code",
    ),
}
#: Cases the product does not refuse as it should yet (xfail(strict=True): when the
#: product is fixed they XPASS and fail the run, so the mark is removed with the fix).
NOT_REFUSED_YET: dict[str, str] = {}


@pytest.fixture(scope="module")
def world() -> Iterator[Sandbox]:
    with Sandbox(seed=13) as sb:
        assert publish_candidate(sb) == "2"
        bucket = sb.stack["ArtifactBucket"]
        sb.put_object(bucket, GOOD_KEY, zip_dir(REPO / "functions" / "brand_api"))
        sb.put_object(bucket, NOT_A_ZIP_KEY, b"this is not a zip file\n" * 10)
        assert executions(sb) == []
        yield sb


def _snapshot(sb: Sandbox) -> tuple[Any, ...]:
    latest = sb.client("lambda").get_function_configuration(FunctionName=FUNCTION)
    return alias_snapshot(sb), published_versions(sb), latest["CodeSha256"]


def _start(sb: Sandbox, request: Any) -> Finished:
    bucket = sb.stack["ArtifactBucket"]
    if isinstance(request, str):
        return run_raw(sb, request)
    return run(sb, json.loads(json.dumps(request).replace(BUCKET, bucket)))


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        pytest.param(
            *case,
            id=name,
            marks=[pytest.mark.xfail(strict=True, reason=NOT_REFUSED_YET[name])]
            if name in NOT_REFUSED_YET
            else [],
        )
        for name, case in CASES.items()
    ],
)
def test_refused_before_any_change(world: Sandbox, request_: Any, field: str) -> None:
    # Given everything as it is
    before = _snapshot(world)
    # When a deployment starts with the bad input
    done = _start(world, request_)
    # Then it failed before any traffic moved, naming the field, and nothing changed
    assert done.status == "FAILED", done.message
    assert not set(done.entered) & CHANGES, f"it went as far as {done.entered}"
    assert set(done.entered) & BEFORE_PUBLISH
    assert field in done.message, f"{done.error}: {done.message[:300]!r} does not name {field!r}"
    assert _snapshot(world) == before


@pytest.mark.parametrize(
    "key",
    [
        "uploads/brand-api.zip",
        "deployments/brand-api",
        "Deployments/brand-api/x.zip",
        "deployments-brand-api/x.zip",
    ],
)
def test_an_upload_outside_the_layout_starts_nothing(world: Sandbox, key: str) -> None:
    # Given everything as it is
    before = _snapshot(world)
    started = len(executions(world))
    # When a zip lands outside deployments/<function>/<name>.zip
    world.put_object(world.stack["ArtifactBucket"], key, zip_dir(REPO / "functions" / "brand_api"))
    # Then no execution started and nothing changed
    assert world.event_errors == []
    assert len(executions(world)) == started
    assert _snapshot(world) == before


def test_an_upload_that_is_not_a_zip_is_refused_before_any_change(world: Sandbox) -> None:
    # Given everything as it is
    before = _snapshot(world)
    started = {e["executionArn"] for e in executions(world)}
    # When something that is not a zip lands in deployments/brand-api/ (the rule starts a run)
    world.put_object(world.stack["ArtifactBucket"], "deployments/brand-api/x.zip", b"not a zip")
    new = [e for e in executions(world) if e["executionArn"] not in started]
    assert len(new) == 1
    described = world.wait_for_execution(new[0]["executionArn"])
    # Then that execution failed before any change, and nothing changed
    assert described["status"] == "FAILED"
    assert "unzip" in (described.get("cause") or "").lower()
    assert _snapshot(world) == before


def test_an_input_over_256_kib_is_refused_by_start_execution(world: Sandbox) -> None:
    # Given everything as it is, and an input of 1 MB (an alias of a million characters)
    before = _snapshot(world)
    sfn = world.client("stepfunctions")
    text = json.dumps(good(alias="p" * 1_000_000))
    # When it is started: Step Functions itself refuses it (input at most 262,144 bytes)
    with pytest.raises(ClientError) as refused:
        sfn.start_execution(stateMachineArn=world.stack.state_machine_arn, input=text)
    # Then no execution started and nothing changed
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert _snapshot(world) == before
