"""`sam local invoke` works for every function of the template: each has an event in events/
(named in docs/reference.md's table) and events/env.json gives it every variable whose value the
stack decides (a !Ref or !GetAtt in template.yaml), and nothing the function does not read."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "events"


def _functions() -> dict[str, dict[str, Any]]:
    template = yaml_parse((REPO / "template.yaml").read_text())
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def _reference_table() -> dict[str, str]:
    """docs/reference.md's `sam local invoke` table: | `LogicalId` | `events/<file>.json` | ... |"""
    rows = re.findall(r"^\| `(\w+Function)` \| `events/([\w.-]+\.json)`", _reference(), re.M)
    return dict(rows)


def _reference() -> str:
    return (REPO / "docs" / "reference.md").read_text()


def test_every_function_has_an_invoke_event_in_the_reference_table() -> None:
    table = _reference_table()
    assert set(table) == set(_functions())
    for function, event in table.items():
        assert (EVENTS / event).is_file(), f"{function}: events/{event} is missing"
        json.loads((EVENTS / event).read_text())


def test_env_json_sets_what_the_stack_decides_and_only_what_functions_read() -> None:
    env = json.loads((EVENTS / "env.json").read_text())
    functions = _functions()
    assert set(env) == set(functions)
    for name, props in functions.items():
        variables = props.get("Environment", {}).get("Variables", {})
        decided = {k for k, v in variables.items() if isinstance(v, dict)}  # !Ref / !GetAtt
        assert decided <= set(env[name]), f"{name}: env.json lacks {decided - set(env[name])}"
        assert set(env[name]) <= set(variables), f"{name}: not in the template"
        assert all(isinstance(v, str) for v in env[name].values())


def test_the_reference_shows_how_to_use_them() -> None:
    assert "sam local invoke" in _reference()
    assert "--env-vars events/env.json" in _reference()
