"""examples/sam-app: a team's stack using Custom::CoalmineAlias is cfn-lint clean, names only
properties the provider knows, imports the ServiceToken the coalmine stack exports, and its
plan fits in CloudFormation's hour (what the provider would check at create/update time)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cfnlint.api import ManualArgs, lint_file
from samtranslator.yaml_helper import yaml_parse

from coalmine import custom_resource as cr

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "sam-app" / "template.yaml"


def _resources(path: Path) -> dict[str, Any]:
    return dict(yaml_parse(path.read_text())["Resources"])


def test_the_example_is_cfn_lint_clean() -> None:
    matches = lint_file(EXAMPLE, config=ManualArgs(regions=["us-east-1"]))
    assert [str(match) for match in matches] == []


def test_its_alias_is_a_coalmine_alias_with_only_known_properties_and_a_plan_that_fits() -> None:
    [alias] = [r for r in _resources(EXAMPLE).values() if r["Type"] == cr.RESOURCE_TYPE]
    props = alias["Properties"]
    assert set(props) - {"ServiceToken"} <= set(cr.REQUIRED) | set(cr.OPTIONAL)
    assert set(cr.REQUIRED) <= set(props)
    # CloudFormation sends scalars as strings; the intrinsics resolve to a name and a version
    sent = {k: v for k, v in props.items() if k in cr.OPTIONAL}
    sent["Analysis"] = {k: str(v) for k, v in sent["Analysis"].items()}
    checked = cr.checked(
        cr.alias_properties(
            {
                **sent,
                "FunctionName": "brand-orders",
                "AliasName": props["AliasName"],
                "FunctionVersion": "2",
            }
        )
    )
    assert checked["analysis"]["maxBakeExtensionSeconds"] == 600


def test_it_imports_the_service_token_the_coalmine_stack_exports() -> None:
    [alias] = [r for r in _resources(EXAMPLE).values() if r["Type"] == cr.RESOURCE_TYPE]
    imported = alias["Properties"]["ServiceToken"]["Fn::ImportValue"]["Fn::Sub"]
    outputs = yaml_parse((ROOT / "template.yaml").read_text())["Outputs"]
    exported = outputs["CoalmineAliasServiceToken"]["Export"]["Name"]["Fn::Sub"]
    assert imported == exported.replace("AWS::StackName", "CoalmineStackName")
    assert outputs["CoalmineAliasServiceToken"]["Value"] == {
        "Fn::GetAtt": ["CoalmineAliasFunction", "Arn"]
    }


def test_its_versions_are_kept_so_the_alias_can_go_back() -> None:
    versions = [r for r in _resources(EXAMPLE).values() if r["Type"] == "AWS::Lambda::Version"]
    assert versions
    assert all(v["DeletionPolicy"] == v["UpdateReplacePolicy"] == "Retain" for v in versions)
    functions = [
        r for r in _resources(EXAMPLE).values() if r["Type"] == "AWS::Serverless::Function"
    ]
    assert all("AutoPublishAlias" not in f["Properties"] for f in functions)
    assert all(f["Properties"]["Tags"] == {"coalmine:managed": "true"} for f in functions)


def test_the_docs_worst_case_table_is_what_the_provider_computes() -> None:
    import re

    from coalmine import strategies
    from coalmine.models import AnalysisConfig

    text = (ROOT / "docs" / "cloudformation.md").read_text()
    rows = re.findall(r"^\| `(\w+)`(?: \([^)]*\))? \| ([\d,]+) s \|", text, re.M)
    assert len(rows) == 4
    for name, seconds in rows:
        cfg = AnalysisConfig()
        plan = strategies.with_watch(strategies.resolve(name), cfg.watch_seconds)
        assert cr.worst_case_seconds(plan, cfg) == int(seconds.replace(",", "")), name
