"""The `coalmine` command: `rehearse` (scenario files) and `deploy` (against a Sandbox)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_helpers import brand_api_zip, start_traffic

from coalmine_cli.main import main
from coalmine_sandbox import Sandbox
from coalmine_sandbox.world import rehearsal

REPO = Path(__file__).resolve().parents[2]
FUNCTION = "brand-api"

# ------------------------------------------------------------------ rehearse: malformed scenarios

VALID = json.loads((REPO / "scenarios" / "healthy-canary.json").read_text())


def _without(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}


# id -> (file text, what the message must name)
MALFORMED: dict[str, tuple[str, str]] = {
    "bad JSON": ('{"function": "brand-api", "traffic": {"rps": 20},', "not valid json"),
    "unknown field": (json.dumps(VALID | {"trafic": {"rps": 5}}), "trafic"),
    "unknown nested field": (
        json.dumps(VALID | {"candidate": {"errorRate": 0.2, "latency": 20}}),
        "candidate.latency",
    ),
    "deployment.targetVersion": (
        json.dumps(VALID | {"deployment": VALID["deployment"] | {"targetVersion": "2"}}),
        "deployment.targetVersion",
    ),
    "missing traffic": (json.dumps(_without(VALID, "traffic")), "traffic"),
    "traffic out of range": (json.dumps(VALID | {"traffic": {"rps": -1}}), "traffic.rps"),
    "not an object": ("[1, 2]", "(top level)"),
}


@pytest.mark.parametrize(("text", "named"), MALFORMED.values(), ids=MALFORMED.keys())
def test_rehearse_refuses_a_malformed_scenario(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    text: str,
    named: str,
) -> None:
    # Given a malformed scenario file, and a rehearsal that must never start
    scenario = tmp_path / "scenario.json"
    scenario.write_text(text)

    def started(*_: Any, **__: Any) -> None:
        raise AssertionError("a rehearsal started for a malformed scenario")

    monkeypatch.setattr(rehearsal, "rehearse", started)
    monkeypatch.setattr(Sandbox, "__enter__", started)
    out_json = tmp_path / "out.json"
    # When it is rehearsed
    code = main(["rehearse", str(scenario), "--json", str(out_json)])
    # Then it exits 2 naming the problem, and wrote nothing
    printed = capsys.readouterr()
    message = printed.out + printed.err
    assert code == 2
    assert "bad scenario" in message
    assert str(scenario) in message
    assert named.lower() in message.lower(), message
    assert not out_json.exists()


def test_rehearse_a_missing_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.json"
    assert main(["rehearse", str(missing)]) == 2
    assert "cannot read" in capsys.readouterr().out


# ------------------------------------------------------------------ rehearse: a real run


@pytest.mark.slow
def test_rehearse_the_faulty_canary_writes_a_rolled_back_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_json = tmp_path / "nested" / "faulty.json"
    code = main(
        ["rehearse", str(REPO / "scenarios" / "faulty-canary.json"), "--json", str(out_json)]
    )
    # Without --check-expectation a rollback is still a successful rehearsal
    assert code == 0
    result = json.loads(out_json.read_text())
    assert result["outcome"] == "ROLLED_BACK"
    assert str(out_json) in capsys.readouterr().out


# ------------------------------------------------------------------ deploy against a Sandbox


def _deploy_args(sb: Sandbox, *extra: str) -> list[str]:
    return [
        "deploy",
        "--state-machine-arn",
        sb.stack.state_machine_arn,
        "--region",
        "us-east-1",
        "--function",
        FUNCTION,
        "--poll-seconds",
        "0.01",
        *extra,
    ]


def _executions(sb: Sandbox) -> list[dict[str, Any]]:
    return sb.client("stepfunctions").list_executions(stateMachineArn=sb.stack.state_machine_arn)[
        "executions"
    ]


def test_deploy_all_at_once_promotes_and_prints_progress(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a new published version of brand-api
    stable = sandbox.alias(FUNCTION, "prod")["FunctionVersion"]
    target = sandbox.publish_version(FUNCTION, {"CLI_TEST_MARKER": "v2"})
    assert target != stable
    # When it is deployed all at once (no traffic here: the watch after the cutover would
    # rightly refuse to promote blind, so it is opted out)
    request = tmp_path / "input.json"
    request.write_text(json.dumps({"functionName": FUNCTION, "analysis": {"watchSeconds": 0}}))
    args = ["--input", str(request), "--target-version", target, "--strategy", "AllAtOnce"]
    code = main(_deploy_args(sandbox, *args))
    # Then the command exits 0 after printing the execution's progress
    out = capsys.readouterr().out
    assert code == 0, out
    assert "started arn:aws:states:" in out
    assert "[Prepare] plan AllAtOnce: no steps -> 100%" in out
    assert f"[PublishVersion] new version {target} ready" in out
    assert f"[Promote] promoted: 100% -> v{target}" in out
    assert "[execution succeeded]" in out
    assert out.rstrip().endswith("status SUCCEEDED")
    # And the alias is wholly on the new version
    alias = sandbox.alias(FUNCTION, "prod")
    assert alias["FunctionVersion"] == target
    assert not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (["--target-version", "2", "--strategy", "Nope"], "strategy"),
        (["--target-version", "2", "--strategy", "Canary10Percent99999Minutes"], "strategy"),
        (["--strategy", "AllAtOnce"], "targetVersion/code"),
    ],
    ids=["unknown strategy", "canary too long", "no target"],
)
def test_deploy_bad_input_exits_2_and_starts_nothing(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], extra: list[str], field: str
) -> None:
    code = main(_deploy_args(sandbox, *extra))

    printed = capsys.readouterr()
    assert code == 2
    assert printed.err.startswith(f"coalmine: invalid deployment input: {field}: "), printed.err
    assert "started" not in printed.out
    assert _executions(sandbox) == []


# ------------------------------------------------------------------ deploy --zip (what CI runs)


def _zip_args(sb: Sandbox, *extra: str) -> list[str]:
    return [*_deploy_args(sb, *extra), "--artifact-bucket", sb.stack["ArtifactBucket"]]


def _uploaded(sb: Sandbox) -> list[str]:
    listing = sb.client("s3").list_objects_v2(
        Bucket=sb.stack["ArtifactBucket"], Prefix="deployments/"
    )
    return [item["Key"] for item in listing.get("Contents", [])]


def test_deploy_zip_with_fields_metadata_cannot_carry_uploads_out_of_the_rules_reach(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a build's zip of brand-api, and an input with a field an upload's metadata cannot
    # carry (analysis.watchSeconds); the stack's upload rule is on
    stable = sandbox.alias(FUNCTION, "prod")["FunctionVersion"]
    build = tmp_path / "brand-api.zip"
    build.write_bytes(brand_api_zip("from-ci"))
    request = tmp_path / "input.json"
    request.write_text(json.dumps({"functionName": FUNCTION, "analysis": {"watchSeconds": 0}}))
    # When CI deploys it
    args = ["--input", str(request), "--zip", str(build), "--zip-name", "build-42"]
    code = main(_zip_args(sandbox, *args, "--strategy", "AllAtOnce", "--timeout", "600"))
    # Then the zip is the object deployments/brand-api/build-42 (not *.zip: the rule ignores
    # it), and the one execution, the CLI's, deployed exactly that object's version
    out = capsys.readouterr().out
    assert code == 0, out
    key = "deployments/brand-api/build-42"
    assert _uploaded(sandbox) == [key]
    assert f"uploaded s3://{sandbox.stack['ArtifactBucket']}/{key}" in out
    head = sandbox.client("s3").head_object(Bucket=sandbox.stack["ArtifactBucket"], Key=key)
    [execution] = _executions(sandbox)
    assert f"started {execution['executionArn']}" in out
    started = json.loads(
        sandbox.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])[
            "input"
        ]
    )
    assert started["code"] == {
        "s3Bucket": sandbox.stack["ArtifactBucket"],
        "s3Key": key,
        "s3ObjectVersion": head["VersionId"],
    }
    # And the alias serves a new version running that code
    alias = sandbox.alias(FUNCTION, "prod")
    assert alias["FunctionVersion"] != stable
    assert not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")


def test_deploy_zip_follows_the_deployment_the_upload_rule_starts(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a build's zip of brand-api, 20 rps on brand-api:prod, and the stack's upload rule on
    stable = sandbox.alias(FUNCTION, "prod")["FunctionVersion"]
    build = tmp_path / "brand-api.zip"
    build.write_bytes(brand_api_zip("followed"))
    _, stop_traffic = start_traffic(sandbox, rps=20)
    # When CI deploys it with a strategy (which the upload's metadata carries)
    args = ["--function", FUNCTION, "--zip", str(build), "--zip-name", "build-43"]
    try:
        code = main(_zip_args(sandbox, *args, "--strategy", "AllAtOnce", "--timeout", "600"))
    finally:
        stop_traffic()
    # Then it uploaded deployments/brand-api/build-43.zip with the strategy as its metadata
    out = capsys.readouterr().out
    assert code == 0, out
    bucket, key = sandbox.stack["ArtifactBucket"], "deployments/brand-api/build-43.zip"
    head = sandbox.client("s3").head_object(Bucket=bucket, Key=key)
    assert head["Metadata"] == {"coalmine-strategy": "AllAtOnce"}
    # And followed the one deployment the upload rule started (it started none of its own)
    [execution] = _executions(sandbox)
    assert f"following {execution['executionArn']} (started by the upload rule)" in out
    assert "started arn:" not in out
    described = sandbox.client("stepfunctions").describe_execution(
        executionArn=execution["executionArn"]
    )
    upload = json.loads(described["input"])["upload"]
    assert (upload["detail"]["object"]["key"], upload["detail"]["object"]["version-id"]) == (
        key,
        head["VersionId"],
    )
    # which ran the metadata's strategy to a promotion of that code
    output = json.loads(described["output"])
    assert (output["plan"]["strategy"], output["outcome"]) == ("AllAtOnce", "PROMOTED")
    assert output["fromVersion"] == stable
    assert sandbox.alias(FUNCTION, "prod")["FunctionVersion"] == output["toVersion"]


def test_deploy_zip_starts_the_deployment_when_no_rule_does(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given the stack's upload rule switched off (a stack without it)
    sandbox.client("events").disable_rule(Name=sandbox.stack["DeployOnUploadRule"])
    build = tmp_path / "brand-api.zip"
    build.write_bytes(brand_api_zip("no-rule"))
    # When CI deploys a zip with a strategy only, looking for the rule's deployment 0 s
    args = ["--function", FUNCTION, "--zip", str(build), "--zip-name", "build-44"]
    args += ["--strategy", "AllAtOnce", "--rule-wait", "0", "--timeout", "600", "--no-wait"]
    code = main(_zip_args(sandbox, *args))
    # Then it said none came and started one itself, with the object as `code`
    out = capsys.readouterr().out
    assert code == 0, out
    assert "no deployment started by the upload rule within 0 s" in out
    [execution] = _executions(sandbox)
    assert f"started {execution['executionArn']}" in out
    described = sandbox.client("stepfunctions").describe_execution(
        executionArn=execution["executionArn"]
    )
    assert json.loads(described["input"])["code"]["s3Key"] == "deployments/brand-api/build-44.zip"
    sandbox.wait_for_execution(execution["executionArn"])  # (it ends before the Sandbox does)


BAD_ZIPS: dict[str, tuple[list[str], str]] = {
    "missing file": (["--zip", "{tmp}/nope.zip"], "no such file"),
    "not a zip": (["--zip", "{tmp}/not.zip"], "not a zip archive"),
    "and a version": (["--zip", "{tmp}/ok.zip", "--target-version", "2"], "targetVersion"),
    "bad name": (["--zip", "{tmp}/ok.zip", "--zip-name", "a/b"], "--zip-name"),
}


@pytest.mark.parametrize(("extra", "named"), BAD_ZIPS.values(), ids=BAD_ZIPS.keys())
def test_deploy_zip_bad_input_exits_2_before_any_aws_call(
    sandbox: Sandbox,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    extra: list[str],
    named: str,
) -> None:
    (tmp_path / "not.zip").write_text("not a zip")
    (tmp_path / "ok.zip").write_bytes(brand_api_zip("unused"))

    code = main(_zip_args(sandbox, *[arg.format(tmp=tmp_path) for arg in extra]))

    printed = capsys.readouterr()
    assert code == 2, printed
    assert named in printed.err, printed.err
    assert _uploaded(sandbox) == []
    assert _executions(sandbox) == []


# ------------------------------------------------------------------ the CI workflow's steps


def _workflow_step(name: str) -> tuple[str, dict[str, str]]:
    """(the `run` script of the workflow step called `name`, the workflow's env)."""
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "deploy.yml").read_text())
    [job] = workflow["jobs"].values()
    [step] = [s for s in job["steps"] if s.get("name") == name]
    return step["run"], {k: str(v) for k, v in workflow["env"].items()}


@pytest.mark.slow
def test_the_workflows_deploy_and_summary_steps_run_against_the_sandbox(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given the runner's environment after the build steps (the zip of brand-api's build)
    sandbox.client("events").disable_rule(Name=sandbox.stack["DeployOnUploadRule"])
    (tmp_path / "function.zip").write_bytes(brand_api_zip("from-the-workflow"))
    deploy_script, workflow_env = _workflow_step("Deploy through coalmine")
    env = {
        **os.environ,
        **workflow_env,
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
        "GITHUB_RUN_ATTEMPT": "2",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
    }
    # When the deploy step's command runs (as bash expands it; the stack's outputs given
    # directly: the sandbox has no CloudFormation stack to describe)
    expand = "coalmine() { printf '%s\\0' \"$@\"; }\n" + deploy_script
    subprocess.run(["bash", "-eu", "-c", expand], env=env, check=True, timeout=60)
    argv = (tmp_path / "result.json").read_text().split("\0")[:-1]
    extra = ["--state-machine-arn", sandbox.stack.state_machine_arn]
    extra += ["--artifact-bucket", sandbox.stack["ArtifactBucket"], "--region", "us-east-1"]
    extra += ["--rule-wait", "0"]  # (the rule is off: the CLI starts the deployment at once)
    code = main([*argv, *extra])
    # the step's `>` redirect (the CLI's last line: the handlers, run in this process here, log
    # to the same stdout before it)
    (tmp_path / "result.json").write_text(capsys.readouterr().out.strip().splitlines()[-1])
    # Then it uploaded the build under the commit's name and deployed it with the workflow's
    # strategy: with no traffic in this sandbox the canary cannot be judged, and is rolled back
    key = "deployments/brand-api/0123456789ab-2.zip"
    assert _uploaded(sandbox) == [key]
    assert code == 1
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["deployment"]["code"]["s3Key"] == key
    assert result["deployment"]["plan"]["strategy"] == workflow_env["STRATEGY"]
    # And the summary step writes the outcome to the job summary
    summary_script, _ = _workflow_step("Job summary")
    subprocess.run(["bash", "-eu", "-c", summary_script], env=env, check=True, timeout=60)
    summary = (tmp_path / "summary.md").read_text()
    assert "## coalmine deploy of brand-api" in summary
    assert f"| outcome | **{result['deployment']['outcome']}** |" in summary
    assert result["deployment"]["outcome"] == "ROLLED_BACK"
    assert "not enough traffic" in summary
    assert result["executionArn"] in summary
