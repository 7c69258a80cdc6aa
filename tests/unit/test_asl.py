"""Static soundness of statemachine/deployment.asl.json.

The ASL is the one file no linter in the SAM tool chain reads (cfn-lint and `sam validate` never
open DefinitionUri), so this test is its only guard: valid JSON, statelint-clean once the
substitutions are filled in, every Next/Default reachable and real, every substitution known to
the template, and every error name in a Retry/Catch one that can actually be raised.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from statelint.config import Config
from statelint.linter import Linter

from coalmine import deployment, exceptions, hooks, provisioned_concurrency, strategies
from coalmine.models import Action, AnalysisConfig, HookCallback

ROOT = Path(__file__).resolve().parents[2]
ASL_PATH = ROOT / "statemachine" / "deployment.asl.json"
HANDLERS = ROOT / "functions" / "orchestrator" / "coalmine" / "handlers"
SUBSTITUTION = re.compile(r"\$\{([A-Za-z0-9_]+)\}")

# Error names Step Functions itself or the Lambda service integration can raise.
STATES_ERRORS = {
    "States.ALL",
    "States.Timeout",
    "States.TaskFailed",
    "States.Permissions",
    "States.HeartbeatTimeout",
    "States.Runtime",
    "States.DataLimitExceeded",
}
LAMBDA_SERVICE_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.Unknown",
}


def _asl_text() -> str:
    return ASL_PATH.read_text()


def _asl() -> dict:
    return json.loads(_asl_text())


def _states() -> dict[str, dict]:
    return _asl()["States"]


def _targets(state: dict) -> list[str]:
    found = [state[key] for key in ("Next", "Default") if key in state]
    found += [choice["Next"] for choice in state.get("Choices", [])]
    found += [catch["Next"] for catch in state.get("Catch", [])]
    return found


def _yaml_loader() -> type[yaml.SafeLoader]:
    class Loader(yaml.SafeLoader):
        pass

    def tagged(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> object:
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_mapping(node)

    Loader.add_multi_constructor("!", tagged)
    return Loader


def _template_substitutions() -> set[str]:
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=_yaml_loader())
    machines = [
        resource
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::StateMachine"
        and resource["Properties"].get("DefinitionUri") == "statemachine/deployment.asl.json"
    ]
    assert len(machines) == 1, "template.yaml must define the deployment state machine once"
    return set(machines[0]["Properties"]["DefinitionSubstitutions"])


def test_asl_is_valid_json_with_only_quoted_substitutions() -> None:
    # Given the raw file, When parsed as JSON, Then it parses before any substitution.
    definition = json.loads(_asl_text())
    assert definition["StartAt"] in definition["States"]


def test_asl_passes_statelint_after_substitution() -> None:
    filled = SUBSTITUTION.sub(
        lambda m: f"arn:aws:lambda:us-east-1:123456789012:function:{m.group(1)}", _asl_text()
    )
    problems = Linter.validate(json.loads(filled), Config())
    assert problems == []


def test_every_transition_targets_an_existing_state() -> None:
    states = _states()
    dangling = {
        (name, target)
        for name, state in states.items()
        for target in _targets(state)
        if target not in states
    }
    assert dangling == set()


def test_every_state_is_reachable_from_start() -> None:
    states = _states()
    seen, todo = set(), [_asl()["StartAt"]]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_targets(states[name]))
    assert set(states) - seen == set()


def test_every_substitution_is_defined_by_the_template_and_used() -> None:
    used = set(SUBSTITUTION.findall(_asl_text()))
    defined = _template_substitutions()
    assert used == defined


def _error_names() -> set[tuple[str, str]]:
    return {
        (name, error)
        for name, state in _states().items()
        for clause in state.get("Retry", []) + state.get("Catch", [])
        for error in clause["ErrorEquals"]
    }


def test_every_error_name_can_be_raised() -> None:
    ours = {
        cls.__name__
        for cls in vars(exceptions).values()
        if isinstance(cls, type) and issubclass(cls, exceptions.CoalmineError)
    }
    unknown = {
        (state, error)
        for state, error in _error_names()
        if error not in STATES_ERRORS | LAMBDA_SERVICE_ERRORS | ours
    }
    assert unknown == set()


def test_transient_errors_are_retried_everywhere_a_lambda_is_invoked() -> None:
    for name, state in _states().items():
        if state["Type"] != "Task":
            continue
        retried = {error for clause in state.get("Retry", []) for error in clause["ErrorEquals"]}
        assert {"Lambda.TooManyRequestsException", "AwsThrottled"} <= retried, name


@pytest.mark.parametrize("name", ["Prepare", "PublishVersion"])
def test_states_before_any_shift_have_no_catch(name: str) -> None:
    # A failure before traffic moves must end the execution with no change (no Rollback).
    assert "Catch" not in _states()[name]


@pytest.mark.parametrize("name", ["ShiftTraffic", "Analyze", "Promote"])
def test_states_after_a_shift_catch_everything_into_rollback(name: str) -> None:
    catches = _states()[name]["Catch"]
    assert catches[-1]["ErrorEquals"] == ["States.ALL"]
    assert catches[-1]["Next"] == "Rollback"
    assert all(catch.get("ResultPath") == "$.error" for catch in catches)


def test_every_task_has_a_handler_module_of_the_same_name() -> None:
    for name, state in _states().items():
        if state["Type"] != "Task" or name == "AwaitHook":  # invokes the user's hook itself
            continue
        assert state["Parameters"]["FunctionName"] == f"${{{name}FunctionArn}}"
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
        assert (HANDLERS / f"{snake}.py").is_file(), f"{name} has no handler module {snake}.py"


def test_rolled_back_is_a_fail_state_named_for_ci() -> None:
    rolled_back = _states()["RolledBack"]
    assert rolled_back == {**rolled_back, "Type": "Fail", "Error": "DeploymentRolledBack"}
    assert rolled_back["CausePath"] == "$.reason"


def test_shift_traffic_waits_for_provisioned_concurrency_as_long_as_coalmine_says() -> None:
    # provisioned_concurrency.MAX_WAIT_SECONDS is what its messages promise: the Retry honours it
    retries = _states()["ShiftTraffic"]["Retry"]
    (clause,) = [r for r in retries if "ProvisionedConcurrencyNotReady" in r["ErrorEquals"]]
    assert clause["ErrorEquals"] == ["ProvisionedConcurrencyNotReady"]
    assert clause["IntervalSeconds"] == provisioned_concurrency.RETRY_INTERVAL_SECONDS
    assert clause["MaxAttempts"] == provisioned_concurrency.RETRY_ATTEMPTS
    assert clause.get("BackoffRate", 2.0) == 1.0  # a steady poll: the bound is exact
    assert "MaxDelaySeconds" not in clause
    # exhausted, it is caught into Rollback like any other error after a shift
    catch = _states()["ShiftTraffic"]["Catch"][-1]
    assert (catch["ErrorEquals"], catch["Next"]) == (["States.ALL"], "Rollback")


def test_await_hook_invokes_the_hook_named_by_the_wait_with_its_payload_and_a_task_token() -> None:
    state = _states()["AwaitHook"]
    assert state["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert state["Parameters"]["FunctionName.$"] == "$.hookWait.function"
    # the same payload as a synchronous hook's (hooks.payload), plus the task token
    config = AnalysisConfig(pre_traffic_hook="smoke", pre_traffic_hook_callback=HookCallback())
    plan = strategies.resolve("Canary10Percent5Minutes")
    d = deployment.prepared("d-1", "fn", "prod", "1", "rev", plan, config, "2", None)
    sent = set(hooks.payload(d, hooks.PRE_TRAFFIC)) | {"taskToken"}
    assert {key.removesuffix(".$") for key in state["Parameters"]["Payload"]} == sent
    assert state["Parameters"]["Payload"]["taskToken.$"] == "$$.Task.Token"
    # every path it reads is a field of the wait (models.HookWait) or of the document
    assert state["TimeoutSecondsPath"] == "$.hookWait.timeoutSeconds"
    assert state["HeartbeatSecondsPath"] == "$.hookWait.heartbeatSeconds"
    assert state["ResultPath"] == "$.hookWait.answer"


def test_await_hook_sends_every_ending_back_to_the_state_that_asked() -> None:
    states = _states()
    catches = states["AwaitHook"]["Catch"]
    assert catches[0]["ErrorEquals"] == [hooks.TIMEOUT, hooks.HEARTBEAT_TIMEOUT]
    assert catches[-1]["ErrorEquals"] == ["States.ALL"]
    assert {c["Next"] for c in catches} == {states["AwaitHook"]["Next"]} == {"HookAnswered"}
    assert {c["ResultPath"] for c in catches} == {"$.hookWait.error"}
    resumes = {c["StringEquals"]: c["Next"] for c in states["HookAnswered"]["Choices"]}
    assert resumes == {Action.SHIFT.value: "ShiftTraffic", Action.PROMOTE.value: "Promote"}
    actions = {c["StringEquals"]: c["Next"] for c in states["NextAction"]["Choices"]}
    assert actions[Action.HOOK.value] == "AwaitHook"
