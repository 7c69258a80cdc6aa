"""Sandboxes for the sandbox-core tests: the real template, or a bare account to build on."""

from __future__ import annotations

import io
import json
import textwrap
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from lifecycle_schemas import event_problems

from coalmine_sandbox import Sandbox

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


@pytest.fixture(scope="session", autouse=True)
def every_lifecycle_event_is_valid() -> Iterator[None]:
    """Every coalmine event a Sandbox saw put (source "coalmine") is checked against its JSON
    Schema (schemas/events/) when the Sandbox closes: an invalid one fails the test (or the
    fixture) that closed it."""
    original = Sandbox.close

    def close(self: Sandbox) -> None:
        seen = [e for e in self.events_put if e.get("source") == "coalmine"]
        try:
            original(self)
        finally:
            found = [p for e in seen for p in event_problems(e)]
            assert found == [], f"lifecycle events not valid against schemas/events/: {found}"

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Sandbox, "close", close)
        yield


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """The real template.yaml stood up."""
    with Sandbox(seed=7) as sb:
        yield sb


@pytest.fixture
def bare() -> Iterator[Sandbox]:
    """Emulated AWS with the hooks and the clock, but no stack."""
    with Sandbox(seed=7, template=None) as sb:
        yield sb


@pytest.fixture
def make_function() -> Any:
    """`make_function(sandbox, name, {path: source}, handler, environment)`: a zip-code function."""
    create_function.zip = code_zip  # type: ignore[attr-defined]
    return create_function


@pytest.fixture
def make_role() -> Any:
    """`make_role(sandbox) -> role ARN` (Lambda and Step Functions may assume it)."""
    return role_arn


def role_arn(sb: Sandbox, name: str = "sandbox-test-role") -> str:
    iam = sb.client("iam")
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]


def code_zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, source in files.items():
            archive.writestr(path, textwrap.dedent(source))
    return buffer.getvalue()


def create_function(
    sb: Sandbox,
    name: str,
    files: dict[str, str],
    handler: str,
    environment: dict[str, str] | None = None,
    timeout: int = 30,
) -> dict[str, Any]:
    return sb.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role_arn(sb),
        Handler=handler,
        Code={"ZipFile": code_zip(files)},
        Timeout=timeout,
        Environment={"Variables": environment or {}},
    )
