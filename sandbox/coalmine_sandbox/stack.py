"""Stand template.yaml up in moto: aws-sam-translator in-process (offline), then every resource
created through the service APIs in dependency order (moto's CloudFormation skips aliases and
creates state machines that do not execute). Unknown types are skipped with a note.

Local paths (CodeUri, ContentUri, DefinitionUri) are read from the repository: a function's code
is its CodeUri directory zipped deterministically; the runtime runs that directory in-process.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from .intrinsics import Resolver, references
from .stack_resources import CREATORS, Created

LOCAL_BUCKET = "coalmine-sandbox-local"
_LOCAL_KEYS = ("CodeUri", "ContentUri", "DefinitionUri")


@dataclass(frozen=True)
class FunctionCode:
    code_dir: Path
    handler: str
    code_sha256: str


@dataclass
class Stack:
    name: str
    root: Path
    resources: dict[str, Created] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # (logical, type, why)
    functions: dict[str, FunctionCode] = field(default_factory=dict)  # by function name
    api_routes: dict[tuple[str, str], str] = field(default_factory=dict)  # (METHOD, path) -> fn

    def __getitem__(self, logical_id: str) -> str:
        """The Ref value of a resource (name, or ARN for state machines, layers, topics)."""
        return self.resources[logical_id].ref

    def __contains__(self, logical_id: object) -> bool:
        return logical_id in self.resources

    def arn(self, logical_id: str) -> str:
        return str(self.resources[logical_id].attrs.get("Arn", self.resources[logical_id].ref))

    def attr(self, logical_id: str, attribute: str) -> Any:
        return self.resources[logical_id].attrs[attribute]

    def of_type(self, resource_type: str) -> list[str]:
        return [k for k, t in self.types.items() if t == resource_type and k in self.resources]

    @property
    def state_machine_arn(self) -> str:
        machines = self.of_type("AWS::StepFunctions::StateMachine")
        if len(machines) != 1:
            raise LookupError(f"expected one state machine in the stack, found {machines}")
        return self[machines[0]]


def zip_dir(directory: Path) -> bytes:
    """A deterministic zip of `directory` (fixed timestamps, sorted, no caches)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_dir() or "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            info = zipfile.ZipInfo(
                str(path.relative_to(directory)), date_time=(1980, 1, 1, 0, 0, 0)
            )
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def sha256_b64(data: bytes) -> str:
    import base64

    return base64.b64encode(hashlib.sha256(data).digest()).decode()


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
    params = {
        name: spec.get("Default") for name, spec in (cfn.get("Parameters") or {}).items()
    } | dict(parameters or {})
    pseudo = {
        "AWS::Region": region,
        "AWS::AccountId": account_id,
        "AWS::Partition": "aws",
        "AWS::StackName": stack_name,
        "AWS::StackId": f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/sandbox",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::NotificationARNs": [],
    }
    resources: dict[str, Any] = cfn.get("Resources", {})
    resolver = Resolver(
        ref=lambda name: stack[name],
        get_att=lambda name, attribute: stack.attr(name, attribute),
        pseudo=pseudo,
        parameters=params,
        conditions=cfn.get("Conditions") or {},
    )
    ctx = _Context(stack, client, resolver, region, account_id)
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
        try:
            stack.outputs[name] = resolver.resolve(output["Value"])
        except KeyError as missing:  # refers to a skipped resource (e.g. the REST API)
            stack.outputs[name] = None
            stack.skipped.append((f"Outputs.{name}", "Output", f"refers to {missing}"))
    _record_api_routes(stack, sam)
    return stack


@dataclass
class _Context:
    stack: Stack
    client: Callable[[str], Any]
    resolver: Resolver
    region: str
    account_id: str

    def resolve(self, value: Any) -> Any:
        return self.resolver.resolve(value)

    def physical_name(self, logical_id: str, max_length: int = 64, lower: bool = False) -> str:
        digest = hashlib.sha256(f"{self.stack.name}/{logical_id}".encode()).hexdigest()[:12]
        name = f"{self.stack.name}-{logical_id}"[: max_length - 13] + f"-{digest.upper()}"
        return name.lower() if lower else name

    def local_path(self, s3_key: str) -> Path:
        return (self.stack.root / s3_key).resolve()


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
