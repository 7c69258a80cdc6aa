"""Static checks of template.yaml: the linters, and the contracts no linter knows about.

- cfn-lint (its Python API) and `sam validate --lint` (from .venv-sam; skipped with the reason
  when that virtualenv is absent - `make test` always creates it).
- One vocabulary (docs/DESIGN.md): each ASL Task state X is resource XFunction, its Handler is
  coalmine.handlers.<x>.handler and that module exists; every ASL ${...} substitution is in
  DefinitionSubstitutions and vice versa.
- Least privilege: no mutating Lambda action on Resource "*"; they are scoped to
  ${ManagedFunctionPrefix} (optional, default none) and to functions carrying the opt-in tag
  coalmine:managed=true (test_template_iam.py evaluates the statements for tagged and untagged
  functions).
- checkov (offline, from .venv-checkov) finds nothing the template does not suppress with a reason.
- The upload rule (one, for every function) renders a valid ExecutionInput for the function its
  key names.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file
from samtranslator.yaml_helper import yaml_parse

from coalmine.adapters.lambda_invoke import INVOKE_TIMEOUT_SECONDS
from coalmine.validation import parse_request
from coalmine_sandbox.aws.cloudformation.intrinsics import Resolver, references
from coalmine_sandbox.aws.eventbridge import target_input

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
ASL_PATH = ROOT / "statemachine" / "deployment.asl.json"
ORCHESTRATOR = ROOT / "functions" / "orchestrator"
ORCHESTRATOR_URI = "functions/orchestrator/"
SAM = ROOT / ".venv-sam" / "bin" / "sam"
SUBSTITUTION = re.compile(r"\$\{([A-Za-z0-9_]+)\}")

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
    "lambda:getprovisionedconcurrencyconfig",
}


def _template() -> dict[str, Any]:
    return yaml_parse(TEMPLATE_PATH.read_text())


def _resources(kind: str | None = None) -> dict[str, dict[str, Any]]:
    resources = _template()["Resources"]
    return {name: r for name, r in resources.items() if kind is None or r["Type"] == kind}


#: Task states that invoke no coalmine function: AwaitHook invokes the user's hook itself (a
#: callback-mode lifecycle hook, coalmine/hooks.py), named by the deployment document.
USER_FUNCTION_TASKS = {"AwaitHook"}


def _task_states() -> list[str]:
    states = json.loads(ASL_PATH.read_text())["States"]
    return [
        name
        for name, state in states.items()
        if state["Type"] == "Task" and name not in USER_FUNCTION_TASKS
    ]


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


def _evaluate(value: Any, stack_name: str, refs: dict[str, str] | None = None) -> Any:
    """`value` as CloudFormation gives it in a stack of that name (the parameters' defaults, the
    template's Conditions; `refs`: the names of the resources it refers to)."""
    template = _template()
    defaults = {name: str(p.get("Default")) for name, p in template["Parameters"].items()}
    resolver = Resolver(
        ref=lambda name: (refs or {})[name],
        get_att=lambda name, attribute: (refs or {})[f"{name}.{attribute}"],
        pseudo={
            "AWS::StackName": stack_name,
            "AWS::Region": "eu-west-1",
            "AWS::AccountId": "123456789012",
            "AWS::Partition": "aws",
            "AWS::StackId": f"arn:aws:cloudformation:eu-west-1:123456789012:stack/{stack_name}/"
            f"{uuid.uuid5(uuid.NAMESPACE_URL, stack_name)}",
        },
        parameters=defaults,
        conditions=template["Conditions"],
    )
    return resolver.resolve(value)


SAMPLE_FUNCTIONS = ("BrandApiFunction", "BrandApiSmokeFunction", "AssetProcessorFunction")


# ----------------------------------------------------------------------------- linters
DEPLOY_SAMPLES_DEFAULT = re.compile(r'(\n  DeploySamples:\n    Type: String\n    Default: )"false"')


@pytest.fixture(params=["false", "true"], ids=lambda v: f"DeploySamples={v}")
def template_variant(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """template.yaml as shipped (DeploySamples false), and with the samples' default true: the
    linters judge the template as each install deploys it."""
    if request.param == "false":
        return TEMPLATE_PATH
    text, count = DEPLOY_SAMPLES_DEFAULT.subn(r'\1"true"', TEMPLATE_PATH.read_text())
    assert count == 1, "DeploySamples' default moved: update DEPLOY_SAMPLES_DEFAULT"
    variant = tmp_path / "template.yaml"
    variant.write_text(text)
    for local in ("functions", "layers", "statemachine", "LICENSE", "README.md"):
        (tmp_path / local).symlink_to(ROOT / local)
    return variant


def test_cfn_lint_is_clean(template_variant: Path) -> None:
    matches = lint_file(template_variant, config=ManualArgs(regions=["us-east-1"]))

    assert [str(match) for match in matches] == []


def test_sam_validate_lint_is_clean(template_variant: Path) -> None:
    if not SAM.exists():
        reason = f"{SAM.relative_to(ROOT)} is absent (run `make sam-venv`)"
        print(f"skipping sam validate: {reason}")
        pytest.skip(reason)
    environment = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0"}

    result = subprocess.run(
        [str(SAM), "validate", "--lint", "--template", str(template_variant)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


CHECKOV_ARGS = ("--framework", "cloudformation", "--skip-download", "--quiet", "--compact", "-f")


def test_checkov_is_clean(template_variant: Path) -> None:
    # every finding is fixed, or suppressed in the template with a one-line reason
    checkov = ROOT / ".venv-checkov" / "bin" / "checkov"
    if not checkov.exists():
        reason = f"{checkov.relative_to(ROOT)} is absent (run `make checkov-venv`)"
        print(f"skipping checkov: {reason}")
        pytest.skip(reason)

    result = subprocess.run(
        [str(checkov), *CHECKOV_ARGS, str(template_variant)],
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
    lock_only = {"ReleaseLockFunction", "AwaitApprovalFunction"}  # no Lambda API call
    assert checked == {f"{state}Function" for state in _task_states()} - lock_only | {
        "CleanupFunction",
        "CoalmineAliasFunction",  # Custom::CoalmineAlias: Create and a revert point the alias
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
    assert brand_api["Tags"]["coalmine:managed"] == "true"


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
def test_one_upload_rule_renders_a_valid_execution_input_for_any_function() -> None:
    resources = _resources()
    rule = resources["DeployOnUploadRule"]
    pattern = rule["Properties"]["EventPattern"]
    bucket = resources["ArtifactBucket"]["Properties"]
    [target] = rule["Properties"]["Targets"]
    transformer = target["InputTransformer"]
    [matcher] = pattern["detail"]["object"]["key"]
    # one rule for every function, not a sample's: it exists whatever DeploySamples says
    assert "Condition" not in rule
    assert matcher == {"wildcard": "deployments/*/*.zip"}

    assert bucket["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"]
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    assert pattern["source"] == ["aws.s3"]
    assert pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["bucket"]["name"] == [{"Ref": "ArtifactBucket"}]
    assert target["Arn"] == {"Ref": "DeploymentStateMachine"}
    # no value of the event is spliced into a JSON string (EventBridge does not escape them)
    assert "InputPathsMap" not in transformer
    assert transformer["InputTemplate"] == '{"upload": <aws.events.event.json>}'
    # Given an upload of deployments/team-b-orders/<a key holding a quote>.zip, version "v42"
    key = 'deployments/team-b-orders/build-42", "strategy": "AllAtOnce.zip'
    event = {
        "version": "0",
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": "artifacts"}, "object": {"key": key, "version-id": "v42"}},
    }
    # When EventBridge renders the rule's input for it
    text = target_input({"InputTransformer": transformer}, event)

    # Then the execution input deploys exactly that object to the function its key names
    request = parse_request(json.loads(text), "artifacts")
    assert request.function_name == "team-b-orders"
    assert request.code is not None
    assert (request.code.s3_bucket, request.code.s3_key) == ("artifacts", key)
    assert request.code.s3_object_version == "v42"
    assert request.strategy == "Canary10Percent5Minutes"
    # And an event EventBridge cannot deliver lands in a dead-letter queue that raises an alarm
    assert target["DeadLetterConfig"] == {"Arn": _get_att("DeployOnUploadDeadLetterQueue", "Arn")}
    queue_policy = resources["DeployOnUploadDeadLetterQueuePolicy"]["Properties"]
    [statement] = queue_policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": _get_att("DeployOnUploadRule", "Arn")}
    }
    alarm_props = resources["DeployOnUploadUndeliveredAlarm"]["Properties"]
    assert alarm_props["AlarmActions"] == [{"Ref": "AlertsTopic"}]
    assert alarm_props["Dimensions"][0]["Value"] == _get_att(
        "DeployOnUploadDeadLetterQueue", "QueueName"
    )


def _get_att(resource: str, attribute: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [resource, attribute]}


def test_brand_api_is_within_the_managed_scope() -> None:
    template = _template()
    prefix = template["Parameters"]["ManagedFunctionPrefix"]["Default"]
    brand_api = template["Resources"]["BrandApiFunction"]["Properties"]

    for stack_name in ("coalmine", "team-b"):
        assert _evaluate(brand_api["FunctionName"], stack_name).startswith(prefix)
    assert brand_api["AutoPublishAlias"] == "prod"
    # its alarm guards every deployment of it through its tags (the upload rule names none)
    assert brand_api["Tags"]["coalmine:alarms"] == {"Ref": "BrandApiErrorsAlarm"}
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
def test_orchestrator_may_invoke_only_functions_tagged_as_hooks() -> None:
    invoking = {
        resource: statement
        for resource, statement in _statements()
        if "lambda:invokefunction" in {a.lower() for a in _as_list(statement.get("Action", []))}
    }
    sample = invoking.pop("BrandApiSmokeFunction")

    # the hooks run in ShiftTraffic and Promote, a callback-mode hook in the state machine's
    # AwaitHook: prefix-scoped and with the hook's own tag
    assert set(invoking) == {"ShiftTrafficFunction", "PromoteFunction", "DeploymentStateMachine"}
    for resource, statement in invoking.items():
        for target in _as_list(statement["Resource"]):
            assert "${ManagedFunctionPrefix}" in target["Fn::Sub"], resource
        condition = statement["Condition"]["StringEquals"]
        assert condition == {"aws:ResourceTag/coalmine:hook": "true"}, resource
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

    for stack_name in ("coalmine", "team-b"):
        assert _evaluate(hook["FunctionName"], stack_name).startswith(prefix)
    assert hook["Tags"] == {"coalmine:hook": "true"}  # a hook, not a function coalmine deploys
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


# ----------------------------------------------------------------------------- an installable stack
def test_samples_are_deployed_only_when_asked() -> None:
    template = _template()
    parameter = template["Parameters"]["DeploySamples"]
    conditioned = {
        name for name, r in template["Resources"].items() if r.get("Condition") == "DeploySamples"
    }
    functions = _resources("AWS::Serverless::Function")

    assert parameter["Default"] == "false"
    assert template["Conditions"]["DeploySamples"] == {
        "Fn::Equals": [{"Ref": "DeploySamples"}, "true"]
    }
    # every function that is not the orchestrator is a sample, and so is all that serves them
    samples = {
        name for name, f in functions.items() if f["Properties"]["CodeUri"] != ORCHESTRATOR_URI
    }
    assert samples == set(SAMPLE_FUNCTIONS)
    assert (
        samples
        | {
            "BrandApi",
            "BrandApiAccessLogGroup",
            "BrandsTable",
            "BrandApiErrorsAlarm",
            "SampleFaultsLayer",
            "AssetsBucket",
            "AssetResultsTable",
            "AssetIdempotencyTable",
            "AssetsProcessedQueue",
            "AssetsDeadLetterQueue",
        }
        <= conditioned
    )
    # and an output naming any of them exists only with them
    for name, output in template["Outputs"].items():
        if references(output["Value"]) & conditioned:
            assert output.get("Condition") == "DeploySamples", name


def test_a_second_stack_names_its_samples_apart() -> None:
    # every name a sample resource sets is the documented one in a stack named coalmine, and
    # differs in any other stack (the account-wide names: functions, log groups, alarm, bucket)
    resources = {
        name: r
        for name, r in _template()["Resources"].items()
        if r.get("Condition") == "DeploySamples"
    }
    named = {
        (logical, key): value
        for logical, r in resources.items()
        for key, value in (r.get("Properties") or {}).items()
        if key in {"FunctionName", "LogGroupName", "AlarmName", "BucketName", "RuleName"}
    }

    assert len(named) >= 8
    for where, value in named.items():
        assert _evaluate(value, "coalmine") != _evaluate(value, "team-b"), where
    assert {
        _evaluate(resources[f]["Properties"]["FunctionName"], "coalmine") for f in SAMPLE_FUNCTIONS
    } == {
        "brand-api",
        "brand-api-smoke",
        "brand-asset-processor",
    }
    assert _evaluate(resources["BrandApiErrorsAlarm"]["Properties"]["AlarmName"], "coalmine") == (
        "brand-api-prod-errors"
    )


def test_serverless_repo_metadata_names_what_publishing_needs() -> None:
    application = _template()["Metadata"]["AWS::ServerlessRepo::Application"]
    pyproject = (ROOT / "pyproject.toml").read_text()

    assert {
        "Name",
        "Description",
        "Author",
        "SpdxLicenseId",
        "LicenseUrl",
        "ReadmeUrl",
        "SemanticVersion",
        "SourceCodeUrl",
    } <= set(application)
    assert (ROOT / application["LicenseUrl"]).is_file()
    assert (ROOT / application["ReadmeUrl"]).is_file()
    assert f'license = "{application["SpdxLicenseId"]}"' in pyproject
    assert f'version = "{application["SemanticVersion"]}"' in pyproject
    assert application["SourceCodeUrl"].startswith("https://")


def test_cleanup_rule_is_sams_eventbridge_event_with_retries_and_dead_letters() -> None:
    cleanup = _resources()["CleanupFunction"]["Properties"]
    [event] = cleanup["Events"].values()
    policy = _resources()["CleanupDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]
    [statement] = policy["Statement"]

    assert event["Type"] == "EventBridgeRule"
    assert event["Properties"]["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert event["Properties"]["DeadLetterConfig"] == {
        "Arn": {"Fn::GetAtt": ["CleanupDeadLetterQueue", "Arn"]}
    }
    # the queue accepts dead letters from that rule only (SAM names it <function><event>)
    [name] = cleanup["Events"]
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == {
        "Fn::GetAtt": [f"CleanupFunction{name}", "Arn"]
    }


def test_record_timeline_runs_on_every_ending_off_the_deployments_path() -> None:
    resources = _resources()
    function = resources["RecordTimelineFunction"]["Properties"]
    cleanup = resources["CleanupFunction"]["Properties"]
    [(name, event)] = function["Events"].items()
    # every ending of this stack's deployments, the events Cleanup gets: a stop too
    assert event["Type"] == "EventBridgeRule"
    assert event["Properties"]["Pattern"] == cleanup["Events"]["OnEnd"]["Properties"]["Pattern"]
    assert set(event["Properties"]["Pattern"]["detail"]["status"]) == {
        "SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"
    }  # fmt: skip
    assert event["Properties"]["DeadLetterConfig"] == {
        "Arn": {"Fn::GetAtt": ["RecordTimelineDeadLetterQueue", "Arn"]}
    }
    on_failure = function["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert on_failure["Destination"] == {"Fn::GetAtt": ["RecordTimelineDeadLetterQueue", "Arn"]}
    policy = resources["RecordTimelineDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]
    [statement] = policy["Statement"]
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == {
        "Fn::GetAtt": [f"RecordTimelineFunction{name}", "Arn"]
    }
    # not a Task of the state machine: its failure cannot reach a deployment
    substitutions = resources["DeploymentStateMachine"]["Properties"]["DefinitionSubstitutions"]
    assert "RecordTimelineFunctionArn" not in substitutions
    # what it may do, and nothing else: read this stack's executions, the reports prefix,
    # GetMetricData (no resource-level permission)
    granted = {
        str(action).lower(): statement["Resource"]
        for who, statement in _statements()
        if who == "RecordTimelineFunction"
        for action in _as_list(statement["Action"])
    }
    assert set(granted) == {
        "states:describeexecution", "states:getexecutionhistory", "s3:listbucket",
        "s3:getobject", "s3:putobject", "cloudwatch:getmetricdata",
    }  # fmt: skip
    assert "${AWS::StackName}-deployment:*" in granted["states:getexecutionhistory"]["Fn::Sub"]
    assert granted["s3:putobject"] == {"Fn::Sub": "${ReportsBucket.Arn}/reports/*"}
    assert granted["cloudwatch:getmetricdata"] == "*"


def test_samconfig_demo_profile_deploys_the_samples_and_the_default_does_not() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "samconfig.toml").read_text())

    def overrides(env: str) -> str:
        return str(config[env]["deploy"]["parameters"].get("parameter_overrides", ""))

    assert 'DeploySamples="true"' in overrides("demo")
    assert "DeploySamples" not in overrides("default")  # the template's default: false
    assert config["demo"]["global"]["parameters"]["stack_name"] == "coalmine"


def test_the_samples_api_is_throttled_and_access_logged() -> None:
    resources = _resources()
    api = resources["BrandApi"]["Properties"]
    [settings] = api["MethodSettings"]
    log_group = api["AccessLogSetting"]["DestinationArn"]["Fn::GetAtt"][0]
    route = resources["BrandApiFunction"]["Properties"]["Events"]["GetBrand"]["Properties"]

    assert route["RestApiId"] == {"Ref": "BrandApi"}  # the function's API is this one
    assert (settings["ResourcePath"], settings["HttpMethod"]) == ("/*", "*")
    assert 0 < settings["ThrottlingRateLimit"] <= settings["ThrottlingBurstLimit"] <= 5000
    assert "$context.requestId" in api["AccessLogSetting"]["Format"]
    assert resources[log_group]["Type"] == "AWS::Logs::LogGroup"
    assert resources[log_group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    # API Gateway needs the account's CloudWatch Logs role before a stage may log
    assert resources["BrandApi"]["DependsOn"] == "ApiGatewayAccount"
    assert resources["ApiGatewayAccount"]["Condition"] == resources["BrandApi"]["Condition"]


# ----------------------------------------------------------------------------- lifecycle events
EMITTERS = {  # the functions whose steps put lifecycle events (coalmine/lifecycle_events.py)
    "PrepareFunction",  # Deployment Started
    "ShiftTrafficFunction",  # Traffic Shifted
    "PromoteFunction",  # Traffic Shifted (the cutover)
    "AnalyzeFunction",  # Approval Requested (a human gate's wait begins)
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
