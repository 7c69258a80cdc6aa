"""Scope by tag, not by name: template.yaml's IAM statements evaluated for concrete requests.

A small evaluator (Allow statements only: the orchestrator's roles hold no Deny) of the
statements each orchestrator function's role gets, with the parameters' defaults (no
ManagedFunctionPrefix): an action is allowed if a statement names it, its Resource pattern
matches the ARN and its Condition holds for the resource's tags. It shows:

- a function that is not opted in (no `coalmine:managed=true`) can be neither changed nor read
  (GetAlias, GetFunctionConfiguration, GetFunctionEventInvokeConfig) by any orchestrator
  function, except Prepare's two tag-free reads (GetFunctionConfiguration, ListTags), which let
  it refuse the function naming the tag; and pre-flight refuses that same function;
- a function of any name that carries the tag is in scope (no template edit to onboard it);
- hooks are invoked only with their own tag `coalmine:hook=true`;
- DescribeAlarms is scoped to this account's alarm ARNs.
"""

from __future__ import annotations

import fnmatch
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

from coalmine import preflight
from coalmine.exceptions import InvalidInput
from coalmine.models import AliasState, FunctionState
from coalmine.validation import parse_request
from coalmine_sandbox.aws.cloudformation.intrinsics import Resolver

ROOT = Path(__file__).resolve().parents[2]
REGION, ACCOUNT = "eu-west-1", "123456789012"
STACK = "coalmine"
MANAGED = {"coalmine:managed": "true"}
HOOK = {"coalmine:hook": "true"}
ORCHESTRATOR = [
    "PrepareFunction",
    "PublishVersionFunction",
    "ShiftTrafficFunction",
    "AnalyzeFunction",
    "PromoteFunction",
    "RollbackFunction",
    "ReleaseLockFunction",
    "CleanupFunction",
]
# Prepare reads these tag-free on purpose: an untagged function is refused naming the tag
TAG_FREE_READS = {("PrepareFunction", "lambda:getfunctionconfiguration"),
                  ("PrepareFunction", "lambda:listtags")}  # fmt: skip


@cache
def _template() -> dict[str, Any]:
    return yaml_parse((ROOT / "template.yaml").read_text())


def _resolver(template: dict[str, Any]) -> Resolver:
    defaults = {name: str(p.get("Default")) for name, p in template["Parameters"].items()}
    names = {name: f"{STACK}-{name}" for name in template["Resources"]}
    return Resolver(
        ref=lambda name: names[name],
        get_att=lambda name, attribute: f"arn:aws:x:{REGION}:{ACCOUNT}:{name}/{attribute}",
        pseudo={
            "AWS::StackName": STACK,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/"
            f"{uuid.uuid5(uuid.NAMESPACE_URL, STACK)}",
        },
        parameters=defaults,
        conditions=template["Conditions"],
    )


@cache
def _statements(function: str) -> list[dict[str, Any]]:
    template = _template()
    policies = template["Resources"][function]["Properties"].get("Policies", [])
    resolved = _resolver(template).resolve(policies)
    return [s for p in resolved if isinstance(p, dict) for s in p.get("Statement", [])]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allowed(function: str, action: str, arn: str, tags: dict[str, str]) -> bool:
    for statement in _statements(function):
        if statement["Effect"] != "Allow":
            continue
        if not any(
            fnmatch.fnmatchcase(action.lower(), a.lower()) for a in _list(statement["Action"])
        ):
            continue
        if not any(fnmatch.fnmatchcase(arn, r) for r in _list(statement["Resource"])):
            continue
        if _condition_holds(statement.get("Condition", {}), tags):
            return True
    return False


def _condition_holds(condition: dict[str, dict[str, Any]], tags: dict[str, str]) -> bool:
    for operator, pairs in condition.items():
        for key, value in pairs.items():
            if not key.startswith("aws:ResourceTag/"):
                return False  # (a context this evaluator does not model: the statement is out)
            assert operator == "StringEquals", operator
            if tags.get(key.removeprefix("aws:ResourceTag/")) not in _list(value):
                return False
    return True


def _function_arn(name: str, qualifier: str | None = None) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}" + (
        f":{qualifier}" if qualifier else ""
    )


def _lambda_grants() -> list[tuple[str, str]]:
    """(orchestrator function, Lambda action) for every Lambda action a role is granted."""
    found = set()
    for function in ORCHESTRATOR:
        for statement in _statements(function):
            for action in _list(statement["Action"]):
                if action.lower().startswith("lambda:"):
                    found.add((function, action.lower()))
    return sorted(found)


GRANTS = _lambda_grants()


@pytest.mark.parametrize(("function", "action"), GRANTS, ids=[f"{f}-{a}" for f, a in GRANTS])
@pytest.mark.parametrize("qualifier", [None, "prod", "7"])
def test_a_function_not_opted_in_is_out_of_every_roles_reach(
    function: str, action: str, qualifier: str | None
) -> None:
    # Given a function of any name (no prefix by default), its ARN as the action takes it
    arn = _function_arn("team-b-orders", qualifier)
    hook_action = action == "lambda:invokefunction"
    tag = HOOK if hook_action else MANAGED
    # Then the role may do it on the tagged function ...
    assert allowed(function, action, arn, tag), (function, action, arn)
    # ... and not on one without the tag, nor with it set to anything but "true"
    if (function, action) in TAG_FREE_READS:
        assert allowed(function, action, arn, {})
        return
    assert not allowed(function, action, arn, {}), (function, action)
    assert not allowed(function, action, arn, {next(iter(tag)): "false"}), (function, action)


def test_the_mutating_and_reading_grants_are_all_checked() -> None:
    actions = {action for _, action in GRANTS}
    assert {
        "lambda:updatealias",
        "lambda:createalias",
        "lambda:publishversion",
        "lambda:updatefunctioncode",
        "lambda:getalias",
        "lambda:getfunctionconfiguration",
        "lambda:getprovisionedconcurrencyconfig",
        "lambda:getfunctioneventinvokeconfig",
        "lambda:invokefunction",
        "lambda:listtags",
    } == actions


@pytest.mark.parametrize("function", ["ShiftTrafficFunction", "PromoteFunction"])
def test_hooks_need_their_own_tag_not_the_deploy_opt_in(function: str) -> None:
    arn = _function_arn("team-b-smoke")
    assert allowed(function, "lambda:InvokeFunction", arn, HOOK)
    assert not allowed(function, "lambda:InvokeFunction", arn, MANAGED)
    assert not allowed(function, "lambda:InvokeFunction", arn, {})


@pytest.mark.parametrize("function", ["PrepareFunction", "AnalyzeFunction"])
def test_describe_alarms_is_scoped_to_this_accounts_alarms(function: str) -> None:
    alarm = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:team-b-orders-errors"
    assert allowed(function, "cloudwatch:DescribeAlarms", alarm, {})
    assert not allowed(function, "cloudwatch:DescribeAlarms", "*", {})
    other = f"arn:aws:cloudwatch:{REGION}:999999999999:alarm:team-b-orders-errors"
    assert not allowed(function, "cloudwatch:DescribeAlarms", other, {})
    targets = [
        r
        for s in _statements(function)
        if "cloudwatch:DescribeAlarms" in _list(s["Action"])
        for r in _list(s["Resource"])
    ]
    assert targets == [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:*"]


def test_the_prefix_is_optional_and_off_by_default() -> None:
    parameter = _template()["Parameters"]["ManagedFunctionPrefix"]
    assert parameter["Default"] == ""
    assert parameter["AllowedPattern"].startswith("^[A-Za-z0-9_-]{0,")


class _UntaggedLambda:
    """Lambda as pre-flight reads it: team-c-reports exists, with prod on version 1, untagged."""

    def get_function(self, function_name: str, qualifier: str | None = None) -> FunctionState:
        return FunctionState(
            qualifier or "$LATEST", "sha", "Successful", None, "Zip", "Active", "r"
        )

    def get_alias(self, function_name: str, alias: str) -> AliasState:
        return AliasState(function_version="1")

    def list_tags(self, function_name: str) -> dict[str, str]:
        return {"team": "c"}


def test_an_untagged_function_is_refused_by_pre_flight_and_by_iam() -> None:
    # Given a function without the opt-in tag
    name, tags = "team-c-reports", {"team": "c"}
    request = parse_request({"functionName": name, "targetVersion": "2"})
    # Then pre-flight refuses it, naming the tag to add ...
    with pytest.raises(InvalidInput) as raised:
        preflight.check_request(request, _UntaggedLambda(), lambda names: {})
    assert raised.value.field == "functionName"
    assert "tag it coalmine:managed=true" in raised.value.problem
    # ... and no orchestrator role could change it anyway, whatever got past pre-flight
    for function, action in GRANTS:
        if (function, action) not in TAG_FREE_READS:
            for qualifier in (None, "prod"):
                assert not allowed(function, action, _function_arn(name, qualifier), tags)
