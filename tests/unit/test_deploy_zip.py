"""`coalmine deploy --zip`: what the upload's metadata carries (so the upload rule's deployment
runs the CLI's input), and how the rule's execution is recognised (its key and object version)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from coalmine_cli.deploy import started_by_upload, upload_metadata, zip_key

CANARY = {"type": "canary", "percent": 5, "intervalMinutes": 10}


@pytest.mark.parametrize(
    ("request_", "metadata"),
    [
        ({"functionName": "f"}, {}),
        ({"functionName": "f", "strategy": "AllAtOnce"}, {"coalmine-strategy": "AllAtOnce"}),
        ({"functionName": "f", "strategy": CANARY}, {"coalmine-strategy": json.dumps(CANARY)}),
        ({"functionName": "f", "analysis": {"alarms": ["a b", "c"]}},
         {"coalmine-alarms": '["a b", "c"]'}),
        # what metadata cannot carry: the CLI starts the deployment itself
        ({"functionName": "f", "alias": "live"}, None),
        ({"functionName": "f", "analysis": {"watchSeconds": 0}}, None),
        ({"functionName": "f", "analysis": {"alarms": ["x" * 255] * 8}}, None),
    ],
    ids=["nothing", "a name", "an object", "alarms", "alias", "another analysis field",
         "over S3's 2 KB"],
)  # fmt: skip
def test_upload_metadata(request_: dict[str, Any], metadata: dict[str, str] | None) -> None:
    assert upload_metadata(request_) == metadata


def test_the_key_is_out_of_the_rules_reach_when_the_cli_starts_the_deployment() -> None:
    assert zip_key("f", "build-1") == "deployments/f/build-1.zip"
    assert zip_key("f", "build-1", by_rule=False) == "deployments/f/build-1"


class _Sfn:
    """ListExecutions (newest first) and DescribeExecution over a list of executions."""

    def __init__(self, executions: list[tuple[str, float, dict[str, Any]]]) -> None:
        self.executions = executions
        self.described: list[str] = []

    def get_paginator(self, name: str) -> Any:
        assert name == "list_executions"
        items = [
            {"executionArn": arn, "startDate": datetime.fromtimestamp(t, UTC)}
            for arn, t, _ in self.executions
        ]
        return type("P", (), {"paginate": lambda _self, **kw: [{"executions": items}]})()

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        self.described.append(executionArn)
        [request] = [r for arn, _, r in self.executions if arn == executionArn]
        return {"input": json.dumps(request)}


def _upload(key: str, version: str) -> dict[str, Any]:
    return {"upload": {"detail": {"object": {"key": key, "version-id": version}}}}


def test_the_rules_execution_is_found_by_key_and_object_version() -> None:
    sfn = _Sfn(
        [
            ("arn:newest", 300.0, _upload("deployments/f/b.zip", "v2")),  # a later upload
            ("arn:ours", 200.0, _upload("deployments/f/b.zip", "v1")),
            ("arn:older", 50.0, _upload("deployments/f/b.zip", "v1")),  # before ours: not read
        ]
    )
    assert started_by_upload(sfn, "sm", "deployments/f/b.zip", "v1", since=100.0) == "arn:ours"
    assert sfn.described == ["arn:newest", "arn:ours"]
    assert started_by_upload(sfn, "sm", "deployments/f/c.zip", "v1", since=100.0) is None
