"""Weighted aliases: routing by weight, the executed version, and AWS's UpdateAlias checks."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError

from coalmine_sandbox import Sandbox
from coalmine_sandbox.aws.awslambda.routing import pick_version, routing_problem

ECHO = {"echo_fn.py": "def handler(event, context):\n    return context.function_version\n"}


def test_pick_version_by_cumulative_weight() -> None:
    assert pick_version("1", {"2": 0.1}, 0.05) == "2"
    assert pick_version("1", {"2": 0.1}, 0.1) == "1"
    assert pick_version("1", {}, 0.0) == "1"


@pytest.mark.parametrize(
    ("version", "weights", "code"),
    [
        ("1", {"2": 1.5}, "ValidationException"),
        ("1", {"2": -0.1}, "ValidationException"),
        ("1", {"$LATEST": 0.5}, "ValidationException"),
        ("1", {"2": 0.1, "3": 0.1}, "InvalidParameterValueException"),
        ("$LATEST", {"2": 0.1}, "InvalidParameterValueException"),
    ],
)
def test_routing_problems(version: str, weights: dict[str, float], code: str) -> None:
    problem = routing_problem(version, {"AdditionalVersionWeights": weights})
    assert problem is not None
    assert problem.code == code


def _two_versions(sb: Sandbox, make_function: Any) -> Any:
    lam = sb.client("lambda")
    make_function(sb, "echo", ECHO, "echo_fn.handler", {"V": "1"})
    lam.publish_version(FunctionName="echo")
    sb.publish_version("echo", {"V": "2"})
    return lam.create_alias(FunctionName="echo", Name="live", FunctionVersion="1")


def test_alias_routes_ten_percent_to_the_additional_version(
    bare: Sandbox, make_function: Any
) -> None:
    # Given an alias on version 1 sending 10 % to version 2
    _two_versions(bare, make_function)
    bare.client("lambda").update_alias(
        FunctionName="echo", Name="live", RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}}
    )
    # When 10,000 requests arrive through the alias
    n = 10_000
    runs = Counter(bare.runtime.invoke_alias("echo", "live", {}).payload for _ in range(n))
    # Then ~10 % ran version 2 (within 5 standard deviations of a binomial(n, 0.1))
    bound = 5 * math.sqrt(n * 0.1 * 0.9)
    assert abs(runs["2"] - n * 0.1) < bound, runs
    assert runs["1"] + runs["2"] == n


def test_invoke_through_alias_sets_the_executed_version(bare: Sandbox, make_function: Any) -> None:
    _two_versions(bare, make_function)
    lam = bare.client("lambda")
    lam.update_alias(FunctionName="echo", Name="live", FunctionVersion="2")
    response = lam.invoke(FunctionName="echo", Qualifier="live", Payload=b"{}")
    assert response["ExecutedVersion"] == "2"
    assert response["Payload"].read() == b'"2"'


def test_stale_revision_id_is_refused(bare: Sandbox, make_function: Any) -> None:
    created = _two_versions(bare, make_function)
    lam = bare.client("lambda")
    # Given someone else changed the alias after we read it
    lam.update_alias(FunctionName="echo", Name="live", FunctionVersion="2")
    # When we update with the RevisionId we read earlier
    with pytest.raises(ClientError) as error:
        lam.update_alias(
            FunctionName="echo",
            Name="live",
            FunctionVersion="1",
            RevisionId=created["RevisionId"],  # type: ignore[index]
        )
    # Then AWS's 412 PreconditionFailedException, and the alias keeps the other change
    assert error.value.response["Error"]["Code"] == "PreconditionFailedException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert lam.get_alias(FunctionName="echo", Name="live")["FunctionVersion"] == "2"


def test_revision_id_changes_on_every_update(bare: Sandbox, make_function: Any) -> None:
    created = _two_versions(bare, make_function)
    lam = bare.client("lambda")
    first = lam.update_alias(FunctionName="echo", Name="live", FunctionVersion="1")
    second = lam.update_alias(FunctionName="echo", Name="live", FunctionVersion="1")
    revisions = {created["RevisionId"], first["RevisionId"], second["RevisionId"]}  # type: ignore[index]
    assert len(revisions) == 3


@pytest.mark.parametrize("weights", [{"2": 1.5}, {"$LATEST": 0.1}, {"2": 0.1, "1": 0.1}])
def test_invalid_weights_are_refused(
    bare: Sandbox, make_function: Any, weights: dict[str, float]
) -> None:
    _two_versions(bare, make_function)
    lam = bare.client("lambda")
    with pytest.raises(ClientError):
        lam.update_alias(
            FunctionName="echo", Name="live", RoutingConfig={"AdditionalVersionWeights": weights}
        )
    assert lam.get_alias(FunctionName="echo", Name="live").get("RoutingConfig") is None
