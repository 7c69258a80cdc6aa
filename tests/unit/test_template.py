"""Static checks of template.yaml: the linters, and the contracts no linter knows about.

- cfn-lint (its Python API) and `sam validate --lint` (from .venv-sam; skipped with the reason
  when that virtualenv is absent - `make test` always creates it).
- One vocabulary (docs/DESIGN.md): each ASL Task state X is resource XFunction, its Handler is
  coalmine.handlers.<x>.handler and that module exists; every ASL ${...} substitution is in
  DefinitionSubstitutions and vice versa.
- Least privilege: no mutating Lambda action on Resource "*"; they are scoped to
  ${ManagedFunctionPrefix} and to functions carrying the opt-in tag coalmine:managed=true.
- checkov (offline, from .venv-checkov) finds nothing the template does not suppress with a reason.
- The upload rule's input transformer renders a valid ExecutionInput for the function its key
  prefix names.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file
from samtranslator.yaml_helper import yaml_parse

from coalmine.adapters.lambda_invoke import INVOKE_TIMEOUT_SECONDS
from coalmine.models import ExecutionInput

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
ASL_PATH = ROOT / "statemachine" / "deployment.asl.json"
ORCHESTRATOR = ROOT / "functions" / "orchestrator"
SAM = ROOT / ".venv-sam" / "bin" / "sam"
SUBSTITUTION = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.-]+)>")

# Actions on managed functions: the mutating ones and the reads that come with them.
SCOPED_LAMBDA_ACTIONS = {
    "lambda:updatealias",
    "lambda:createalias",
    "lambda:deletealias",
    "lambda:publishversion",
    "lambda:updatefunctioncode",
    "lambda:updatefunctionconfiguration",
    "lambda:deletefunction",
    "lambda:getalias",
    "lambda:getfunctionconfiguration",
    "lambda:getfunctioneventinvokeconfig",
}


def _template() -> dict[str, Any]:
    return yaml_parse(TEMPLATE_PATH.read_text())


def _resources(kind: str | None = None) -> dict[str, dict[str, Any]]:
    resources = _template()["Resources"]
    return {name: r for name, r in resources.items() if kind is None or r["Type"] == kind}


def _task_states() -> list[str]:
    states = json.loads(ASL_PATH.read_text())["States"]
    return [name for name, state in states.items() if state["Type"] == "Task"]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _statements() -> list[tuple[str, dict[str, Any]]]:
    """Every IAM statement in the template (SAM Policies and AWS::IAM::Role Policies)."""
    found: list[tuple[str, dict[str, Any]]] = []
    for name, resource in _resources().items():
        props = resource.get("Properties", {})
        for policy in props.get("Policies", []) or []:
            if not isinstance(policy, dict):
                continue
            document = policy.get("PolicyDocument", policy)
            found += [(name, statement) for statement in document.get("Statement", [])]
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ----------------------------------------------------------------------------- linters
def test_cfn_lint_is_clean() -> None:
    matches = lint_file(TEMPLATE_PATH, config=ManualArgs(regions=["us-east-1"]))

    assert [str(match) for match in matches] == []


def test_sam_validate_lint_is_clean() -> None:
    if not SAM.exists():
        reason = f"{SAM.relative_to(ROOT)} is absent (run `make sam-venv`)"
        print(f"skipping sam validate: {reason}")
        pytest.skip(reason)
    environment = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0"}

    result = subprocess.run(
        [str(SAM), "validate", "--lint", "--template", str(TEMPLATE_PATH)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


CHECKOV_ARGS = ("--framework", "cloudformation", "--skip-download", "--quiet", "--compact", "-f")


def test_checkov_is_clean() -> None:
    # every finding is fixed, or suppressed in the template with a one-line reason
    checkov = ROOT / ".venv-checkov" / "bin" / "checkov"
    if not checkov.exists():
        reason = f"{checkov.relative_to(ROOT)} is absent (run `make checkov-venv`)"
        print(f"skipping checkov: {reason}")
        pytest.skip(reason)

    result = subprocess.run(
        [str(checkov), *CHECKOV_ARGS, str(TEMPLATE_PATH)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Parsing errors: 0" in result.stdout or "Passed checks" in result.stdout
    skipped = [
        skip
        for resource in _resources().values()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert all(skip.get("comment") for skip in skipped), "every suppression says why"


# ----------------------------------------------------------------------------- one vocabulary
def test_every_task_state_has_its_function_and_handler_module() -> None:
    functions = _resources("AWS::Serverless::Function")

    for state in _task_states():
        resource = functions.get(f"{state}Function")
        assert resource is not None, f"state {state} has no resource {state}Function"
        handler = resource["Properties"]["Handler"]
        assert handler == f"coalmine.handlers.{_snake(state)}.handler"
        module = ORCHESTRATOR / "coalmine" / "handlers" / f"{_snake(state)}.py"
        assert module.is_file(), f"{handler} points at {module.relative_to(ROOT)}, missing"


def test_orchestrator_functions_share_one_code_package_and_the_layer() -> None:
    functions = _resources("AWS::Serverless::Function")

    for state in _task_states():
        props = functions[f"{state}Function"]["Properties"]
        assert props["CodeUri"] == "functions/orchestrator/"
        assert props["Layers"] == [{"Ref": "DependenciesLayer"}]
    layer = _resources()["DependenciesLayer"]
    assert layer["Properties"]["ContentUri"] == "layers/dependencies/"
    assert layer["Metadata"]["BuildMethod"] == "python3.12"
    assert (ROOT / "layers" / "dependencies" / "requirements.txt").is_file()


def test_asl_substitutions_match_definition_substitutions() -> None:
    used = set(SUBSTITUTION.findall(ASL_PATH.read_text()))
    machine = _resources("AWS::Serverless::StateMachine")["DeploymentStateMachine"]
    props = machine["Properties"]
    defined = set(props["DefinitionSubstitutions"])

    assert props["DefinitionUri"] == "statemachine/deployment.asl.json"
    assert used - defined == set(), "used in the ASL but not defined in the template"
    assert defined - used == set(), "defined in the template but never used in the ASL"
    for name, value in props["DefinitionSubstitutions"].items():
        function = name.removesuffix("Arn")
        assert value == {"Fn::GetAtt": [function, "Arn"]}, name


def test_state_machine_may_invoke_each_task_function() -> None:
    props = _resources()["DeploymentStateMachine"]["Properties"]
    invocable = {
        policy["LambdaInvokePolicy"]["FunctionName"]["Ref"]
        for policy in props["Policies"]
        if "LambdaInvokePolicy" in policy
    }

    assert props["Type"] == "STANDARD"
    assert invocable == {f"{state}Function" for state in _task_states()}


# ----------------------------------------------------------------------------- least privilege
def test_no_mutating_lambda_action_on_a_wildcard_resource() -> None:
    checked: set[str] = set()
    for resource, statement in _statements():
        actions = {action.lower() for action in _as_list(statement.get("Action", []))}
        if not actions & (SCOPED_LAMBDA_ACTIONS | {"lambda:*", "*"}):
            continue
        checked.add(resource)
        assert not actions & {"lambda:*", "*"}, f"{resource}: wildcard action {actions}"
        for target in _as_list(statement["Resource"]):
            assert target != "*", f"{resource}: {sorted(actions)} on Resource '*'"
            text = target["Fn::Sub"] if isinstance(target, dict) else target
            assert "${ManagedFunctionPrefix}" in text, f"{resource}: {text} is not scoped"
    lock_only = {"ReleaseLockFunction"}
    assert checked == {f"{state}Function" for state in _task_states()} - lock_only | {
        "CleanupFunction"
    }


MUTATING_LAMBDA_ACTIONS = {
    "lambda:updatealias",
    "lambda:createalias",
    "lambda:publishversion",
    "lambda:updatefunctioncode",
}


def test_mutating_lambda_actions_need_the_opt_in_tag() -> None:
    found = 0
    for resource, statement in _statements():
        actions = {action.lower() for action in _as_list(statement.get("Action", []))}
        if not actions & MUTATING_LAMBDA_ACTIONS:
            continue
        found += 1
        condition = statement.get("Condition", {}).get("StringEquals", {})
        assert condition.get("aws:ResourceTag/coalmine:managed") == "true", resource
    assert found >= 5  # PublishVersion, ShiftTraffic, Promote, Rollback, Cleanup
    brand_api = _resources()["BrandApiFunction"]["Properties"]
    assert brand_api["Tags"] == {"coalmine:managed": "true"}


def test_every_function_and_the_state_machine_log_with_retention() -> None:
    resources = _resources()
    log_groups = _resources("AWS::Logs::LogGroup")
    for group in log_groups.values():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}

    for name, function in _resources("AWS::Serverless::Function").items():
        group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert group in log_groups, name
    destinations = resources["DeploymentStateMachine"]["Properties"]["Logging"]["Destinations"]
    arn = destinations[0]["CloudWatchLogsLogGroup"]["LogGroupArn"]
    assert arn == {"Fn::GetAtt": ["DeploymentStateMachineLogGroup", "Arn"]}


# ----------------------------------------------------------------------------- deploy on upload
def test_upload_rule_renders_a_valid_execution_input_for_its_prefix() -> None:
    resources = _resources()
    rule = resources["DeployOnUploadRule"]["Properties"]
    pattern = rule["EventPattern"]
    bucket = resources["ArtifactBucket"]["Properties"]
    [target] = rule["Targets"]
    transformer = target["InputTransformer"]
    [matcher] = pattern["detail"]["object"]["key"]
    assert matcher["wildcard"].startswith("deployments/")
    assert matcher["wildcard"].endswith("/*.zip")
    function = matcher["wildcard"].removeprefix("deployments/").removesuffix("/*.zip")

    assert bucket["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"]
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    assert pattern["source"] == ["aws.s3"]
    assert pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["bucket"]["name"] == [{"Ref": "ArtifactBucket"}]
    assert target["Arn"] == {"Ref": "DeploymentStateMachine"}
    assert transformer["InputPathsMap"] == {
        "bucket": "$.detail.bucket.name",
        "key": "$.detail.object.key",
        "versionId": "$.detail.object.version-id",
    }
    # Given an upload of deployments/<function>/build-42.zip, version "v42"
    values = {
        "bucket": "artifacts",
        "key": f"deployments/{function}/build-42.zip",
        "versionId": "v42",
    }
    template = transformer["InputTemplate"]["Fn::Sub"]
    alarm = resources["BrandApiErrorsAlarm"]["Properties"]["AlarmName"]
    rendered = SUBSTITUTION.sub(lambda m: {"BrandApiErrorsAlarm": alarm}[m[1]], template)
    rendered = PLACEHOLDER.sub(lambda m: values[m[1]], rendered)

    # Then the execution input deploys exactly that object to the function the prefix names
    request = ExecutionInput.model_validate(json.loads(rendered))
    assert request.function_name == function
    assert request.code is not None
    assert (request.code.s3_bucket, request.code.s3_key) == ("artifacts", values["key"])
    assert request.code.s3_object_version == "v42"
    assert request.analysis.alarms == [alarm]


def test_brand_api_is_within_the_managed_scope() -> None:
    template = _template()
    prefix = template["Parameters"]["ManagedFunctionPrefix"]["Default"]
    brand_api = template["Resources"]["BrandApiFunction"]["Properties"]

    assert brand_api["FunctionName"].startswith(prefix)
    assert brand_api["AutoPublishAlias"] == "prod"
    assert brand_api["Handler"] == "brand_api.app.handler"
    assert (ROOT / "functions" / "brand_api" / "brand_api" / "app.py").is_file()
    assert {"FAULT_ERROR_RATE", "FAULT_LATENCY_MS", "TABLE_NAME"} <= set(
        brand_api["Environment"]["Variables"]
    )


def test_outputs_name_what_the_cli_and_the_demo_need() -> None:
    outputs = set(_template()["Outputs"])

    assert {
        "DeploymentStateMachineArn",
        "ArtifactBucketName",
        "BrandApiUrl",
        "BrandApiErrorsAlarmName",
    } <= outputs


# ----------------------------------------------------------------------------- lifecycle hooks
def test_orchestrator_may_invoke_only_opted_in_managed_functions() -> None:
    invoking = {
        resource: statement
        for resource, statement in _statements()
        if "lambda:invokefunction" in {a.lower() for a in _as_list(statement.get("Action", []))}
    }
    sample = invoking.pop("BrandApiSmokeFunction")

    # the hooks run in ShiftTraffic and Promote: prefix-scoped and opt-in tagged, like a change
    assert set(invoking) == {"ShiftTrafficFunction", "PromoteFunction"}
    for resource, statement in invoking.items():
        for target in _as_list(statement["Resource"]):
            assert "${ManagedFunctionPrefix}" in target["Fn::Sub"], resource
        condition = statement["Condition"]["StringEquals"]
        assert condition["aws:ResourceTag/coalmine:managed"] == "true", resource
    # the sample hook may invoke brand-api's versions and nothing else
    assert _as_list(sample["Resource"]) == [
        {
            "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:"
            "function:${BrandApiFunction}:*"
        }
    ]


def test_the_sample_hook_is_in_scope_and_answers_in_time() -> None:
    template = _template()
    prefix = template["Parameters"]["ManagedFunctionPrefix"]["Default"]
    resources = template["Resources"]
    hook = resources["BrandApiSmokeFunction"]["Properties"]
    handler_module = hook["Handler"].removesuffix(".handler").replace(".", "/") + ".py"

    assert hook["FunctionName"].startswith(prefix)
    assert hook["Tags"] == {"coalmine:managed": "true"}
    assert (ROOT / hook["CodeUri"] / handler_module).is_file()
    assert hook["Environment"]["Variables"]["TARGET_FUNCTION_NAME"] == {"Ref": "BrandApiFunction"}
    assert hook["Timeout"] < INVOKE_TIMEOUT_SECONDS
    # ShiftTraffic waits for one hook, Promote for up to two; each Task outlives its function
    states = json.loads(ASL_PATH.read_text())["States"]
    for state, hooks in (("ShiftTraffic", 1), ("Promote", 2)):
        timeout = resources[f"{state}Function"]["Properties"]["Timeout"]
        assert timeout > hooks * INVOKE_TIMEOUT_SECONDS, state
        assert states[state]["TimeoutSeconds"] > timeout, state


def test_every_function_importing_a_layer_package_has_that_layer() -> None:
    # The sandbox finds layer packages on the virtualenv path; on AWS only an attached layer is
    # there. So: a function whose code imports sample_faults must list SampleFaultsLayer.
    functions = _resources("AWS::Serverless::Function")
    importing = {
        name
        for name, res in functions.items()
        if any(
            re.search(r"^(from|import) sample_faults\b", path.read_text(), re.M)
            for path in (ROOT / res["Properties"]["CodeUri"]).rglob("*.py")
        )
    }
    assert importing == {"BrandApiFunction", "AssetProcessorFunction"}
    for name in importing:
        assert {"Ref": "SampleFaultsLayer"} in functions[name]["Properties"]["Layers"], name


def test_no_function_sends_its_response_to_x_ray() -> None:
    variables = _template()["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
    for name, function in _resources("AWS::Serverless::Function").items():
        own = function["Properties"].get("Environment", {}).get("Variables", {})
        assert own.get("POWERTOOLS_TRACER_CAPTURE_RESPONSE", "false") == "false", name


def test_samconfig_leaves_the_region_to_the_user() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    for env in config.values():
        if isinstance(env, dict):
            for command in env.values():
                assert "region" not in command.get("parameters", {})


# ----------------------------------------------------------------------------- lifecycle events
EMITTERS = {  # the functions whose steps put lifecycle events (coalmine/lifecycle_events.py)
    "PrepareFunction",  # Deployment Started
    "ShiftTrafficFunction",  # Traffic Shifted
    "PromoteFunction",  # Traffic Shifted (the cutover)
    "ReleaseLockFunction",  # Deployment Promoted / Rolled Back / Aborted
    "CleanupFunction",  # Deployment Stopped / Failed
}


def test_only_the_emitting_functions_may_put_events_on_the_default_bus_as_coalmine() -> None:
    granted: dict[str, dict[str, Any]] = {}
    for name, statement in _statements():
        if "events:putevents" in {str(a).lower() for a in _as_list(statement["Action"])}:
            granted[name] = statement
    assert set(granted) == EMITTERS
    for statement in granted.values():
        assert statement["Resource"] == {
            "Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}"
            ":event-bus/default"
        }
        assert statement["Condition"] == {"StringEquals": {"events:source": "coalmine"}}
    with_bus = {
        name
        for name, r in _resources("AWS::Serverless::Function").items()
        if "EVENT_BUS_NAME" in r["Properties"].get("Environment", {}).get("Variables", {})
    }
    assert with_bus == EMITTERS


def test_the_alerts_rule_sends_every_unhappy_ending_to_alerts_topic_and_may_publish() -> None:
    from coalmine import lifecycle_events

    rule = _resources()["DeploymentAlertsRule"]["Properties"]
    assert rule["EventPattern"] == {
        "source": ["coalmine"],
        "detail-type": list(lifecycle_events.ALERTS),
    }
    assert [t["Arn"] for t in rule["Targets"]] == [{"Ref": "AlertsTopic"}]
    statements = _resources()["AlertsTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    [events] = [s for s in statements if s["Principal"] == {"Service": "events.amazonaws.com"}]
    assert events["Action"] == "sns:Publish"
    assert events["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["DeploymentAlertsRule", "Arn"]}}
    }


def test_the_dashboard_is_json_and_names_only_metrics_the_code_emits() -> None:
    from coalmine import outcome_metrics
    from coalmine.observability import NAMESPACE

    body = _resources()["DeploymentsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    names = set(SUBSTITUTION.findall(body))
    assert names <= {"AWS::Region", *_resources()}, names
    dashboard = json.loads(SUBSTITUTION.sub("x", body))
    widgets = dashboard["widgets"]
    assert {w["type"] for w in widgets} == {"log", "metric"}
    expressions = [m[0]["expression"] for w in widgets if w["type"] == "metric"
                   for m in w["properties"]["metrics"]]  # fmt: skip
    drawn = set()
    for expression in expressions:
        [(namespace, metric)] = re.findall(r"\{(\w+),[^}]*\} MetricName=\"(\w+)\"", expression)
        assert namespace == NAMESPACE
        drawn.add(metric)
    assert drawn == set(outcome_metrics.NAMES)  # every metric drawn, and only those
    [log] = [w for w in widgets if w["type"] == "log"]
    query = log["properties"]["query"]
    for field in ("DeploymentDuration", "DecisionTime", "AnalysisTicks", "ending", "deploymentId"):
        assert field in query
    assert "SOURCE '${ReleaseLockLogGroup}'" in body
    assert "SOURCE '${CleanupLogGroup}'" in body
