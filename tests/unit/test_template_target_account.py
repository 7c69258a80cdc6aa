"""target-account.yaml (docs/cross-account.md): the role a member account gives coalmine.

Linted like template.yaml (cfn-lint, checkov); its grants are the orchestrator's Lambda and
CloudWatch grants (template.yaml), with the same tag conditions, and nothing more; its trust is
coalmine's stack's roles only; template.yaml's functions may assume only roles of that name.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "target-account.yaml"
TEMPLATE = ROOT / "template.yaml"
ASSUMING = (
    "Prepare",
    "PublishVersion",
    "ShiftTraffic",
    "Analyze",
    "Promote",
    "Rollback",
    "Cleanup",
)


def _doc(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml_parse(path.read_text())
    return loaded


def _statements(policy: list[Any]) -> list[dict[str, Any]]:
    """Plain statements; an ``Fn::If`` one counts as its true branch."""
    out = []
    for statement in policy:
        if "Fn::If" in statement:
            statement = statement["Fn::If"][1]
        out.append(statement)
    return out


def _target_statements() -> list[dict[str, Any]]:
    role = _doc(TARGET)["Resources"]["CoalmineTargetRole"]["Properties"]
    return _statements(role["Policies"][0]["PolicyDocument"]["Statement"])


def _grants(statements: list[dict[str, Any]]) -> set[tuple[str, str | None]]:
    """(action, the tag its condition needs, or None) for Lambda and CloudWatch actions."""
    grants = set()
    for statement in statements:
        actions = statement["Action"]
        tag = None
        for key in statement.get("Condition", {}).get("StringEquals", {}):
            tag = key.removeprefix("aws:ResourceTag/")
        for action in [actions] if isinstance(actions, str) else actions:
            if action.split(":")[0] in ("lambda", "cloudwatch"):
                grants.add((action, tag))
    return grants


def _orchestrator_grants() -> set[tuple[str, str | None]]:
    grants: set[tuple[str, str | None]] = set()
    for name in ASSUMING:
        function = _doc(TEMPLATE)["Resources"][f"{name}Function"]["Properties"]
        for policy in function["Policies"]:
            grants |= _grants(policy["Statement"])
    return grants


def test_cfn_lint_is_clean() -> None:
    matches = lint_file(TARGET, config=ManualArgs(regions=["us-east-1"]))
    assert [str(match) for match in matches] == []


def test_checkov_is_clean() -> None:
    checkov = ROOT / ".venv-checkov" / "bin" / "checkov"
    if not checkov.exists():
        pytest.skip(f"{checkov.relative_to(ROOT)} is absent (run `make checkov-venv`)")
    args = ("--framework", "cloudformation", "--skip-download", "--quiet", "--compact", "-f")
    result = subprocess.run(
        [str(checkov), *args, str(TARGET)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_role_grants_exactly_the_orchestrators_lambda_and_cloudwatch_actions() -> None:
    """Same actions, same tag conditions: a change needs coalmine:managed, a hook coalmine:hook
    (the tag-free opt-in reads GetFunctionConfiguration and ListTags too)."""
    assert _grants(_target_statements()) == _orchestrator_grants()


def test_every_change_needs_the_opt_in_tag_and_invoking_the_hook_tag() -> None:
    for action, tag in _grants(_target_statements()):
        if action in {
            "lambda:UpdateFunctionCode",
            "lambda:PublishVersion",
            "lambda:UpdateAlias",
            "lambda:CreateAlias",
        }:
            assert tag == "coalmine:managed", action
        if action == "lambda:InvokeFunction":
            assert tag == "coalmine:hook"


def test_only_coalmines_stack_roles_may_assume_it() -> None:
    trust = _doc(TARGET)["Resources"]["CoalmineTargetRole"]["Properties"]
    (statement,) = trust["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRole"
    assert "${CoalmineAccountId}:root" in statement["Principal"]["AWS"]["Fn::Sub"]
    pattern = statement["Condition"]["ArnLike"]["aws:PrincipalArn"]["Fn::Sub"]
    assert pattern.endswith(":role/${CoalmineStackName}-*")
    assert trust["RoleName"] == {"Ref": "TargetRoleName"}


def test_the_orchestrator_may_assume_only_the_target_role_name() -> None:
    resources = _doc(TEMPLATE)["Resources"]
    for name in ASSUMING:
        statements = resources[f"{name}Function"]["Properties"]["Policies"][0]["Statement"]
        sts = [s for s in statements if "sts:AssumeRole" in s["Action"]]
        assert len(sts) == 1, name
        assert sts[0]["Resource"] == {
            "Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${TargetRoleName}"
        }
    others = set(resources) - {f"{name}Function" for name in ASSUMING}
    for other in others:
        for policy in resources[other].get("Properties", {}).get("Policies", []) or []:
            if isinstance(policy, dict) and "Statement" in policy:
                assert not any("sts:AssumeRole" in s["Action"] for s in policy["Statement"])
