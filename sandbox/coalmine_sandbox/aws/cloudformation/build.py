"""Stand template.yaml up in moto: aws-sam-translator in-process (offline), then every resource
created through the service APIs in dependency order (moto's CloudFormation skips aliases and
creates state machines that do not execute). Unknown types are skipped with a note.

Local paths (CodeUri, ContentUri, DefinitionUri) are read from the repository: a function's code
is its CodeUri directory zipped deterministically; the runtime runs that directory in-process.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from .creators import CREATORS
from .intrinsics import Resolver, references
from .package import LOCAL_BUCKET
from .stack import Stack, StackContext

_LOCAL_KEYS = ("CodeUri", "ContentUri", "DefinitionUri")


@cache
def _transformed(template_text: str, region: str) -> str:
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    document = yaml_parse(template_text)
    for resource in document.get("Resources", {}).values():
        props = resource.get("Properties") or {}
        for key in _LOCAL_KEYS:
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = f"s3://{LOCAL_BUCKET}/{props[key]}"
    if document.get("Transform"):

        class _NoManagedPolicies:
            def load(self) -> dict[str, str]:
                return {}

        document = transform(document, {}, _NoManagedPolicies())
    return json.dumps(document)


def load_template(template: Path, region: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the SAM document, the CloudFormation document it transforms to)."""
    from samtranslator.yaml_helper import yaml_parse

    text = template.read_text()
    return yaml_parse(text), json.loads(_transformed(text, region))


def build_stack(
    template: Path,
    client: Callable[[str], Any],
    *,
    stack_name: str = "coalmine",
    region: str = "us-east-1",
    account_id: str = "123456789012",
    parameters: Mapping[str, Any] | None = None,
) -> Stack:
    sam, cfn = load_template(template, region)
    stack = Stack(name=stack_name, root=template.parent)
    # A parameter's value is a string wherever it is used, a Number's too (CloudFormation
    # validates it as a number, then Ref gives the string: "Parameters" in its user guide).
    params = {
        name: _as_string(value)
        for name, value in (
            {name: spec.get("Default") for name, spec in (cfn.get("Parameters") or {}).items()}
            | dict(parameters or {})
        ).items()
    }
    pseudo = {
        "AWS::Region": region,
        "AWS::AccountId": account_id,
        "AWS::Partition": "aws",
        "AWS::StackName": stack_name,
        # a stack id ends with a UUID (templates take its first group as a short unique suffix)
        "AWS::StackId": f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/"
        f"{uuid.uuid5(uuid.NAMESPACE_URL, f'{account_id}/{region}/{stack_name}')}",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::NotificationARNs": [],
    }
    resources: dict[str, Any] = cfn.get("Resources", {})

    def ref(name: str) -> Any:
        # A resource the sandbox does not create (a Lambda permission, an unemulated type) still
        # exists in CloudFormation, and a Ref to it resolves (SAM's conditional DependsOn tags
        # Ref such a permission): its physical id is a name here. A resource whose Condition is
        # false has none (CloudFormation rejects such a Ref): KeyError.
        if name not in stack and any(
            skipped == name and not why.startswith("condition ")
            for skipped, _, why in stack.skipped
        ):
            return ctx.physical_name(name)
        return stack[name]

    resolver = Resolver(
        ref=ref,
        get_att=lambda name, attribute: stack.attr(name, attribute),
        pseudo=pseudo,
        parameters=params,
        conditions=cfn.get("Conditions") or {},
    )
    ctx = StackContext(stack, client, resolver, region, account_id)
    for logical_id in _ordered(resources):
        resource = resources[logical_id]
        kind = resource["Type"]
        stack.types[logical_id] = kind
        condition = resource.get("Condition")
        if condition and not resolver.condition(condition):
            stack.skipped.append((logical_id, kind, f"condition {condition} is false"))
            continue
        creator = CREATORS.get(kind)
        if creator is None:
            stack.skipped.append((logical_id, kind, "resource type not emulated"))
            continue
        created = creator(ctx, logical_id, resource.get("Properties") or {})
        if created is None:
            stack.skipped.append((logical_id, kind, "not needed locally"))
        else:
            stack.resources[logical_id] = created
    for name, output in (cfn.get("Outputs") or {}).items():
        condition = output.get("Condition")
        if condition and not resolver.condition(condition):  # CloudFormation omits the output
            stack.skipped.append((f"Outputs.{name}", "Output", f"condition {condition} is false"))
            continue
        try:
            stack.outputs[name] = resolver.resolve(output["Value"])
        except KeyError as missing:  # refers to a skipped resource (e.g. the REST API)
            stack.outputs[name] = None
            stack.skipped.append((f"Outputs.{name}", "Output", f"refers to {missing}"))
    _record_api_routes(stack, sam)
    return stack


def _ordered(resources: Mapping[str, Any]) -> list[str]:
    deps = {}
    for logical_id, resource in resources.items():
        depends = resource.get("DependsOn") or []
        depends = [depends] if isinstance(depends, str) else list(depends)
        found = references(resource.get("Properties") or {}) | set(depends)
        deps[logical_id] = {d for d in found if d in resources and d != logical_id}
    ordered: list[str] = []
    done: set[str] = set()
    visiting: set[str] = set()

    def visit(node: str) -> None:
        if node in done:
            return
        if node in visiting:
            raise ValueError(f"circular dependency through {node}")
        visiting.add(node)
        for dep in sorted(deps[node]):
            visit(dep)
        visiting.discard(node)
        done.add(node)
        ordered.append(node)

    for logical_id in sorted(resources):
        visit(logical_id)
    return ordered


def _record_api_routes(stack: Stack, sam: Mapping[str, Any]) -> None:
    for logical_id, resource in (sam.get("Resources") or {}).items():
        if resource.get("Type") != "AWS::Serverless::Function" or logical_id not in stack:
            continue
        for event in ((resource.get("Properties") or {}).get("Events") or {}).values():
            props = event.get("Properties") or {}
            if event.get("Type") in ("Api", "HttpApi") and isinstance(props.get("Path"), str):
                method = str(props.get("Method", "ANY")).upper()
                stack.api_routes[(method, props["Path"])] = stack[logical_id]


def _as_string(value: Any) -> Any:
    """A parameter as Ref gives it: numbers as strings (lists and None unchanged)."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
