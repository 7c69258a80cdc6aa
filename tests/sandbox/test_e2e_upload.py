"""End to end: deploy by upload. A zip put under `deployments/brand-api/` in the stack's artifact
bucket reaches the shipped state machine through the template's EventBridge rule (nothing here
calls StartExecution), and the code in that zip is what ends up serving brand-api:prod."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from e2e_helpers import (
    ALIAS,
    ERRORS_ALARM,
    FUNCTION,
    alias_snapshot,
    brand_api_zip,
    code_sha256,
    executions,
    finish,
    published_versions,
    routing,
    run,
    sha256_b64,
    start_traffic,
    unknown_brand_request,
)

from coalmine_sandbox import Sandbox

MARKER = "upload-e2e-build-42"


def _not_found_message(sb: Sandbox) -> tuple[str, str]:
    """(executed version, the 404 message) of brand-api:prod for an unknown brand."""
    result = sb.runtime.invoke_alias(FUNCTION, ALIAS, unknown_brand_request())
    assert not result.error, result.payload
    assert result.payload["statusCode"] == 404
    return result.executed_version, json.loads(result.payload["body"])["message"]


def test_an_upload_under_the_layout_deploys_and_promotes_that_code(sandbox: Sandbox) -> None:
    # Given brand-api:prod serving its original code, and a build of brand-api with a marker
    stable, _ = routing(alias_snapshot(sandbox))
    served_by, message = _not_found_message(sandbox)
    assert (served_by, MARKER in message) == (stable, False)
    archive = brand_api_zip(MARKER)
    bucket = sandbox.stack["ArtifactBucket"]
    key = "deployments/brand-api/build-42.zip"

    # And 20 rps on the alias (the default analysis needs traffic to judge before promoting)
    _, stop_traffic = start_traffic(sandbox, rps=20)

    # When the zip is uploaded under deployments/brand-api/
    put = sandbox.put_object(bucket, key, archive)

    # Then the upload rule started exactly one deployment, of that object version
    assert sandbox.event_errors == []
    started = executions(sandbox)
    assert len(started) == 1
    try:
        done = finish(sandbox, started[0]["executionArn"])
    finally:
        stop_traffic()
    request = json.loads(done.description["input"])
    assert set(request) == {"upload"}  # the one rule's input: the function is the key's
    # (the S3 event whole: Prepare derives the code from it, coalmine/uploads.py)
    assert request["upload"]["detail"]["object"] == {
        **request["upload"]["detail"]["object"],
        "key": key,
        "version-id": put["VersionId"],
    }
    assert request["upload"]["detail"]["bucket"]["name"] == bucket
    # And it ran through PublishVersion to a promotion, watching brand-api's alarm (its tag's)
    assert done.status == "SUCCEEDED", f"{done.error}: {done.message}"
    out = done.output
    assert out["functionName"] == FUNCTION
    assert out["analysis"]["alarms"] == [ERRORS_ALARM]
    assert out["outcome"] == "PROMOTED"
    new = out["toVersion"]
    assert out["fromVersion"] == stable
    assert new not in {stable, "$LATEST"}
    assert new in published_versions(sandbox)
    assert [r["verdict"] for r in out["steps"]] == ["PASS"] * len(out["plan"]["steps"])
    # And the version published is the uploaded zip, byte for byte ...
    assert code_sha256(sandbox, new) == sha256_b64(archive)
    assert code_sha256(sandbox, stable) != sha256_b64(archive)
    # ... brand-api:prod is wholly on it, and it runs the uploaded code
    assert routing(alias_snapshot(sandbox)) == (new, {})
    served_by, message = _not_found_message(sandbox)
    assert served_by == new
    assert MARKER in message


@pytest.fixture(scope="class")
def quiet() -> Iterator[Sandbox]:
    """One Sandbox for the cases that must change nothing (each checks around itself)."""
    with Sandbox(seed=3) as sb:
        yield sb


class TestNothingDeployed:
    """Uploads that must start nothing, and code Lambda refuses, sharing one class-scoped Sandbox
    (one may be active at a time, so the tests with their own Sandbox live outside this class)."""

    @pytest.mark.parametrize(
        "key",
        [
            "other/brand-api.zip",
            "brand-api.zip",
            "deployments/brand-api.zip",
            "Deployments/brand-api/build.zip",
            "staging/deployments/brand-api/build.zip",
        ],
    )
    def test_an_upload_outside_the_layout_starts_nothing(self, quiet: Sandbox, key: str) -> None:
        # Given the alias and versions as they are
        alias_before = alias_snapshot(quiet)
        versions_before = published_versions(quiet)
        started_before = len(executions(quiet))
        # When a zip lands outside deployments/<function>/<name>.zip
        quiet.put_object(quiet.stack["ArtifactBucket"], key, brand_api_zip("outside"))
        # Then no deployment started, and nothing changed
        assert quiet.event_errors == []
        assert len(executions(quiet)) == started_before
        assert alias_snapshot(quiet) == alias_before
        assert published_versions(quiet) == versions_before

    # what AWS refuses as `code`: started directly, with objects the upload rule ignores (not *.zip)
    @pytest.mark.parametrize(
        ("body", "problem"),
        [(None, "missing object"), (b"this is not a zip", "not a zip")],
        ids=["missing object", "not a zip"],
    )
    def test_code_that_lambda_refuses_fails_before_traffic_moves(
        self, quiet: Sandbox, body: bytes | None, problem: str
    ) -> None:
        # Given a key in the artifact bucket holding no zip
        bucket = quiet.stack["ArtifactBucket"]
        key = f"deployments/brand-api/{problem.replace(' ', '-')}"
        if body is not None:
            quiet.put_object(bucket, key, body)
        alias_before = alias_snapshot(quiet)
        versions_before = published_versions(quiet)
        # When a deployment names it as its code
        done = run(
            quiet,
            {
                "functionName": FUNCTION,
                "code": {"s3Bucket": bucket, "s3Key": key},
                "strategy": "AllAtOnce",
            },
        )
        # Then it failed before any shift, naming `code`; the alias and versions are as they were
        assert done.status == "FAILED"
        assert done.error == "InvalidInput", done.cause
        assert done.message.startswith("code"), done.message
        assert "ShiftTraffic" not in done.entered
        assert "Promote" not in done.entered
        assert alias_snapshot(quiet) == alias_before
        assert published_versions(quiet) == versions_before

    def test_a_bad_policy_in_the_uploads_metadata_fails_in_prepare_naming_it(
        self, quiet: Sandbox
    ) -> None:
        # Given the alias and versions as they are
        alias_before = alias_snapshot(quiet)
        versions_before = published_versions(quiet)
        started_before = {e["executionArn"] for e in executions(quiet)}
        bucket = quiet.stack["ArtifactBucket"]
        key = "deployments/brand-api/bad-policy.zip"
        # When a zip is uploaded with a strategy coalmine does not know in its metadata
        metadata = {"coalmine-strategy": "Yolo"}
        quiet.put_object(bucket, key, brand_api_zip("bad-policy"), Metadata=metadata)
        # Then the deployment it started failed in Prepare, naming the field and the object
        [new] = [e for e in executions(quiet) if e["executionArn"] not in started_before]
        done = finish(quiet, new["executionArn"])
        assert done.status == "FAILED"
        assert done.error == "InvalidInput", done.cause
        assert done.message.startswith(f"coalmine-strategy (metadata of s3://{bucket}/{key})")
        assert "ShiftTraffic" not in done.entered
        assert alias_snapshot(quiet) == alias_before
        assert published_versions(quiet) == versions_before


def test_a_file_that_is_not_a_zip_under_the_layout_starts_nothing(sandbox: Sandbox) -> None:
    # When a checksum file lands next to the zips
    sandbox.put_object(sandbox.stack["ArtifactBucket"], "deployments/brand-api/x.sha256", b"0")
    # Then no deployment started
    started = executions(sandbox)
    for execution in started:  # (let a wrongly started one end before the Sandbox closes)
        finish(sandbox, execution["executionArn"])
    assert started == []


def test_code_names_an_object_version_and_that_version_is_deployed(sandbox: Sandbox) -> None:
    # Given two builds uploaded to the same key (a versioned bucket keeps both)
    bucket = sandbox.stack["ArtifactBucket"]
    key = "deployments/brand-api/staging-build"  # (not *.zip: the upload rule ignores it)
    first, second = brand_api_zip("first-build"), brand_api_zip("second-build")
    first_version = sandbox.put_object(bucket, key, first)["VersionId"]
    sandbox.put_object(bucket, key, second)
    # When the first build is deployed by its object version
    code = {"s3Bucket": bucket, "s3Key": key, "s3ObjectVersion": first_version}
    request = {"functionName": FUNCTION, "code": code, "strategy": "AllAtOnce"}
    # (no traffic here: opt out of the watch after the cutover, which would not promote blind)
    done = run(sandbox, {**request, "analysis": {"watchSeconds": 0}})
    # Then the version published is the first build
    assert done.status == "SUCCEEDED", f"{done.error}: {done.message}"
    assert code_sha256(sandbox, done.output["toVersion"]) == sha256_b64(first)


# Keys EventBridge would have spliced unescaped into the old rule's JSON string: a double quote
# that closes the string (and injects a strategy and a dry run), backslashes (invalid JSON: the
# upload vanished), unicode. Each is data now: the deployment is brand-api's, of that object.
HOSTILE_KEYS = {
    "quote": 'deployments/brand-api/x", "strategy": "AllAtOnce", "analysis": {"dryRun": true}, '
    '"z": {"a": "b.zip',
    "backslash": "deployments/brand-api/build\\v2\\.zip",
    "unicode": "deployments/brand-api/büild-☃-42.zip",
}


@pytest.mark.parametrize("key", list(HOSTILE_KEYS.values()), ids=list(HOSTILE_KEYS))
def test_a_key_holding_quotes_backslashes_or_unicode_deploys_that_object_and_nothing_else(
    sandbox: Sandbox, key: str
) -> None:
    # Given 20 rps on brand-api:prod, and a build uploaded under a hostile key
    archive = brand_api_zip("hostile-key")
    bucket = sandbox.stack["ArtifactBucket"]
    _, stop_traffic = start_traffic(sandbox, rps=20)
    put = sandbox.put_object(bucket, key, archive)
    # Then the rule started one deployment, which the upload's own policy drives to the end
    assert sandbox.event_errors == []
    started = executions(sandbox)
    assert len(started) == 1
    try:
        done = finish(sandbox, started[0]["executionArn"])
    finally:
        stop_traffic()
    assert done.status == "SUCCEEDED", f"{done.error}: {done.message}"
    out = done.output
    # And nothing was injected: the default strategy, a real run, the tag's alarm
    assert out["outcome"] == "PROMOTED"
    assert out["plan"]["strategy"] == "Canary10Percent5Minutes"
    assert [step["weight"] for step in out["plan"]["steps"]] == [0.1]
    request = json.loads(done.description["input"])
    assert set(request) == {"upload"}
    assert out["analysis"]["alarms"] == [ERRORS_ALARM]
    assert request["upload"]["detail"]["object"]["key"] == key
    # And the version published is that object's version, byte for byte
    assert request["upload"]["detail"]["object"]["version-id"] == put["VersionId"]
    assert code_sha256(sandbox, out["toVersion"]) == sha256_b64(archive)


def test_an_uploads_metadata_sets_its_strategy(sandbox: Sandbox) -> None:
    # Given 20 rps on brand-api:prod
    _, stop_traffic = start_traffic(sandbox, rps=20)
    archive = brand_api_zip("metadata-policy")
    # When a zip is uploaded with a strategy and one more alarm in its metadata
    metadata = {"coalmine-strategy": "AllAtOnce", "coalmine-alarms": '["brand-api-prod-errors"]'}
    key = "deployments/brand-api/with-policy.zip"
    sandbox.put_object(sandbox.stack["ArtifactBucket"], key, archive, Metadata=metadata)
    [started] = executions(sandbox)
    try:
        done = finish(sandbox, started["executionArn"])
    finally:
        stop_traffic()
    # Then the deployment ran with that strategy (the tag's alarm kept, not repeated)
    assert done.status == "SUCCEEDED", f"{done.error}: {done.message}"
    out = done.output
    assert out["plan"]["strategy"] == "AllAtOnce"
    assert out["outcome"] == "PROMOTED"
    assert code_sha256(sandbox, out["toVersion"]) == sha256_b64(archive)
