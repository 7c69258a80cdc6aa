"""A stood-up stack (logical id -> what was created) and what each resource creator is handed
while the stack stands up (creators.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .intrinsics import Resolver
from .package import FunctionCode


@dataclass(frozen=True)
class Created:
    ref: str
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Stack:
    name: str
    root: Path
    resources: dict[str, Created] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # (logical, type, why)
    functions: dict[str, FunctionCode] = field(default_factory=dict)  # by function name
    layers: dict[str, Path] = field(default_factory=dict)  # layer version ARN -> ContentUri dir
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


@dataclass
class StackContext:
    """The stack standing up, the service clients, and the template's intrinsics resolved."""

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
