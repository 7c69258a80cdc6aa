"""End to end: onboarding a function that is not a sample, with no change to coalmine's template.

A function created here (not in template.yaml) is opted in with its tag and deployed by putting a
zip under deployments/<function>/ in the artifact bucket: the template's one upload rule starts
the deployment and Prepare takes the function's name from the key. An untagged function, or a
key naming no function, is refused in Prepare with a clear error, and nothing changes."""

from __future__ import annotations

import io
import json
import random
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from e2e_helpers import (
    alias_snapshot,
    code_sha256,
    executions,
    finish,
    published_versions,
    routing,
    sha256_b64,
)

from coalmine_sandbox import Sandbox
from coalmine_sandbox.world.traffic import TrafficGenerator

ALIAS = "prod"
SOURCE = """
RELEASE = "{release}"


def handler(event, context):
    return {{"release": RELEASE}}
"""


def release_zip(release: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("orders.py", SOURCE.format(release=release))
    return buffer.getvalue()


def new_function(sb: Sandbox, make_role: Any, name: str, tags: dict[str, str]) -> str:
    """A zip function (release v1) with version 1 and alias prod on it; tagged with `tags`."""
    arn = str(
        sb.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=make_role(sb),
            Handler="orders.handler",
            Code={"ZipFile": release_zip("v1")},
            Timeout=10,
        )["FunctionArn"]
    )
    if tags:
        sb.client("lambda").tag_resource(Resource=arn, Tags=tags)
    version = sb.publish_version(name, {})
    sb.client("lambda").create_alias(FunctionName=name, Name=ALIAS, FunctionVersion=version)
    return arn


def traffic(sb: Sandbox, name: str, rps: float) -> Callable[[], None]:
    """`rps` requests per simulated second on name:prod, from a clock listener."""

    def invoke(event: dict[str, Any]) -> None:
        sb.runtime.invoke_alias(name, ALIAS, event)

    generator = TrafficGenerator(invoke, rps, random.Random(11), lambda rng: {})
    return sb.add_listener(generator.on_clock)


def served_release(sb: Sandbox, name: str) -> tuple[str, str]:
    result = sb.runtime.invoke_alias(name, ALIAS, {})
    assert not result.error, result.payload
    return result.executed_version, result.payload["release"]


def test_a_new_function_is_onboarded_with_a_tag_and_an_upload(
    sandbox: Sandbox, make_role: Any
) -> None:
    # Given a function coalmine's template knows nothing of, opted in by its tag alone
    name = "team-b-orders"
    new_function(sandbox, make_role, name, {"coalmine:managed": "true"})
    assert name not in {r.ref for r in sandbox.stack.resources.values()}
    assert served_release(sandbox, name) == ("1", "v1")
    # And 20 rps on its prod alias (the default canary judges traffic before promoting)
    stop_traffic = traffic(sandbox, name, rps=20)
    archive = release_zip("v2")
    bucket = sandbox.stack["ArtifactBucket"]
    key = f"deployments/{name}/build-2.zip"

    # When a zip of its next release is uploaded under deployments/team-b-orders/
    put = sandbox.put_object(bucket, key, archive)

    # Then the one upload rule started one deployment, of that object version, with the event
    # whole as its input (the function's name comes from the key)
    assert sandbox.event_errors == []
    [started] = executions(sandbox)
    try:
        done = finish(sandbox, started["executionArn"])
    finally:
        stop_traffic()
    request = json.loads(done.description["input"])
    assert set(request) == {"upload"}
    assert request["upload"]["detail"]["object"]["key"] == key
    assert request["upload"]["detail"]["object"]["version-id"] == put["VersionId"]
    # And it ran the default canary to a promotion
    assert done.status == "SUCCEEDED", f"{done.error}: {done.message}"
    out = done.output
    assert (out["functionName"], out["outcome"]) == (name, "PROMOTED")
    assert out["plan"]["strategy"] == "Canary10Percent5Minutes"
    assert [r["verdict"] for r in out["steps"]] == ["PASS"]
    # And the new version is the uploaded zip, and prod wholly serves it
    assert out["fromVersion"] == "1"
    new = out["toVersion"]
    assert code_sha256(sandbox, new, name) == sha256_b64(archive)
    assert routing(alias_snapshot(sandbox, name, ALIAS)) == (new, {})
    assert served_release(sandbox, name) == (new, "v2")


@pytest.fixture(scope="module")
def quiet() -> Iterator[Sandbox]:
    with Sandbox(seed=5) as sb:
        yield sb


def _table_items(sb: Sandbox, logical: str, function: str) -> list[dict[str, Any]]:
    """The table's items that name the function (the lock's id, the history item's key)."""
    items = sb.client("dynamodb").scan(TableName=sb.stack[logical])["Items"]
    return [item for item in items if function in json.dumps(item)]


@pytest.mark.parametrize(
    ("name", "tags", "words"),
    [
        ("team-c-reports", {}, "team-c-reports is not opted in to coalmine: tag it"),
        ("team-d-billing", {"coalmine:managed": "false"}, "is not opted in to coalmine"),
        (None, {}, "no Lambda function named 'no-such-function'"),
    ],
    ids=["untagged", "tagged false", "no such function"],
)
def test_an_upload_for_a_function_not_opted_in_fails_in_prepare_and_changes_nothing(
    quiet: Sandbox, make_role: Any, name: str | None, tags: dict[str, str], words: str
) -> None:
    # Given a function without the opt-in tag (or none at all), serving version 1
    function = name or "no-such-function"
    if name is not None:
        new_function(quiet, make_role, name, tags)
    before = (
        (
            alias_snapshot(quiet, name, ALIAS),
            published_versions(quiet, name),
            code_sha256(quiet, "$LATEST", name),
        )
        if name is not None
        else None
    )
    started_before = {e["executionArn"] for e in executions(quiet)}
    # When a zip is uploaded under its prefix
    quiet.put_object(
        quiet.stack["ArtifactBucket"], f"deployments/{function}/build-2.zip", release_zip("v2")
    )
    # Then the deployment the rule started failed in Prepare, naming functionName
    assert quiet.event_errors == []
    [new] = [e for e in executions(quiet) if e["executionArn"] not in started_before]
    done = finish(quiet, new["executionArn"])
    assert done.status == "FAILED"
    assert done.error == "InvalidInput", done.cause
    assert done.message.startswith("functionName: "), done.message
    assert words in done.message
    assert done.entered == ["Prepare"]
    # And nothing changed: the alias, the versions, $LATEST's code; no lock, no history item
    if name is not None:
        after = (
            alias_snapshot(quiet, name, ALIAS),
            published_versions(quiet, name),
            code_sha256(quiet, "$LATEST", name),
        )
        assert after == before
    assert _table_items(quiet, "DeploymentLocksTable", function) == []
    assert _table_items(quiet, "DeploymentHistoryTable", function) == []


def test_the_policy_object_next_to_the_zip_drives_the_deployment(
    quiet: Sandbox, make_role: Any
) -> None:
    # Given a new opted-in function, and its policy object next to where its zips go
    name = "team-e-search"
    new_function(quiet, make_role, name, {"coalmine:managed": "true"})
    bucket = quiet.stack["ArtifactBucket"]
    policy = {"strategy": "AllAtOnce", "analysis": {"watchSeconds": 0}}
    quiet.put_object(bucket, f"deployments/{name}/coalmine.json", json.dumps(policy))
    started_before = {e["executionArn"] for e in executions(quiet)}
    # When a zip is uploaded (no traffic: the policy asks for no watch after the cutover)
    archive = release_zip("v2")
    quiet.put_object(bucket, f"deployments/{name}/build-2.zip", archive)
    # Then the policy object started nothing itself, and the zip's deployment ran its policy
    [new] = [e for e in executions(quiet) if e["executionArn"] not in started_before]
    done = finish(quiet, new["executionArn"])
    assert done.status == "SUCCEEDED", f"{done.error}: {done.message}"
    assert (done.output["plan"]["strategy"], done.output["outcome"]) == ("AllAtOnce", "PROMOTED")
    assert code_sha256(quiet, done.output["toVersion"], name) == sha256_b64(archive)
    assert served_release(quiet, name) == (done.output["toVersion"], "v2")
    # (a deployment that ran leaves its history item: what the refused ones must not)
    assert _table_items(quiet, "DeploymentHistoryTable", name) != []


def test_a_policy_object_that_is_not_json_fails_in_prepare_naming_it_and_changes_nothing(
    quiet: Sandbox, make_role: Any
) -> None:
    # Given a new opted-in function whose policy object is not JSON
    name = "team-f-mail"
    new_function(quiet, make_role, name, {"coalmine:managed": "true"})
    bucket = quiet.stack["ArtifactBucket"]
    quiet.put_object(bucket, f"deployments/{name}/coalmine.json", "strategy: AllAtOnce\n")
    before = (alias_snapshot(quiet, name, ALIAS), published_versions(quiet, name))
    latest = code_sha256(quiet, "$LATEST", name)
    started_before = {e["executionArn"] for e in executions(quiet)}
    # When a zip is uploaded
    quiet.put_object(bucket, f"deployments/{name}/build-2.zip", release_zip("v2"))
    # Then its deployment failed in Prepare naming the object, and nothing changed
    [new] = [e for e in executions(quiet) if e["executionArn"] not in started_before]
    done = finish(quiet, new["executionArn"])
    assert (done.status, done.error) == ("FAILED", "InvalidInput"), done.cause
    assert done.message.startswith(
        f"coalmine.json (s3://{bucket}/deployments/{name}/coalmine.json): not JSON"
    ), done.message
    assert done.entered == ["Prepare"]
    assert (alias_snapshot(quiet, name, ALIAS), published_versions(quiet, name)) == before
    assert code_sha256(quiet, "$LATEST", name) == latest
    assert _table_items(quiet, "DeploymentLocksTable", name) == []
    assert _table_items(quiet, "DeploymentHistoryTable", name) == []


FLOOR_CASES = {
    # an upload's policy may tighten the function's own, never loosen it
    "upload: dry run": (
        {},
        {"policy": {"analysis": {"dryRun": True}}},
        "analysis.dryRun: a dry run of {name}: an upload's policy may tighten",
    ),
    "upload: promote on low traffic": (
        {"coalmine:allow": "dryRun"},
        {"policy": {"analysis": {"lowTrafficPolicy": "promote"}}},
        "analysis.lowTrafficPolicy: promotion on low traffic: {name}'s tag coalmine:allow does "
        "not list promoteOnLowTraffic",
    ),
    "upload: a strategy the tags do not pin": (
        {"coalmine:strategies": "Canary10Percent5Minutes"},
        {"metadata": {"coalmine-strategy": "AllAtOnce"}},
        "strategy: AllAtOnce is not a strategy {name} allows",
    ),
    # and the same floor holds for a caller of StartExecution
    "direct: dry run forbidden": (
        {"coalmine:allow": "none"},
        {"direct": {"analysis": {"dryRun": True}}},
        "analysis.dryRun: a dry run of {name}: {name}'s tag coalmine:allow does not list dryRun",
    ),
    "direct: a bake that rounds to 0 s": (
        {},
        {"direct": {"strategy": {"type": "canary", "percent": 10, "intervalMinutes": 0.001}}},
        "strategy.intervalMinutes: 0.001 minutes rounds to a bake of 0 s",
    ),
}


@pytest.mark.parametrize(
    ("tags", "how", "message"), list(FLOOR_CASES.values()), ids=list(FLOOR_CASES)
)
def test_the_functions_floor_holds_for_uploads_and_direct_callers(
    quiet: Sandbox, make_role: Any, tags: dict[str, str], how: dict[str, Any], message: str
) -> None:
    # Given an opted-in function with its tags' floor
    name = f"floor-{len(executions(quiet))}-fn"  # (a new function per case)
    new_function(quiet, make_role, name, {"coalmine:managed": "true", **tags})
    bucket = quiet.stack["ArtifactBucket"]
    before = (alias_snapshot(quiet, name, ALIAS), published_versions(quiet, name))
    started_before = {e["executionArn"] for e in executions(quiet)}
    # When a deployment tries to go below it: by an upload (its policy object or metadata), or
    # by StartExecution
    key = f"deployments/{name}/build-2"
    if "direct" in how:
        quiet.put_object(bucket, key, release_zip("v2"))
        code = {"s3Bucket": bucket, "s3Key": key}
        quiet.start_execution({"functionName": name, "code": code, **how["direct"]})
    else:
        if "policy" in how:
            quiet.put_object(bucket, f"deployments/{name}/coalmine.json", json.dumps(how["policy"]))
        metadata = how.get("metadata", {})
        quiet.put_object(bucket, f"{key}.zip", release_zip("v2"), Metadata=metadata)
    # Then it failed in Prepare naming the field, and nothing changed
    [new] = [e for e in executions(quiet) if e["executionArn"] not in started_before]
    done = finish(quiet, new["executionArn"])
    assert (done.status, done.error) == ("FAILED", "InvalidInput"), done.cause
    assert done.message.startswith(message.format(name=name)), done.message
    assert done.entered == ["Prepare"]
    assert (alias_snapshot(quiet, name, ALIAS), published_versions(quiet, name)) == before
    assert _table_items(quiet, "DeploymentLocksTable", name) == []
