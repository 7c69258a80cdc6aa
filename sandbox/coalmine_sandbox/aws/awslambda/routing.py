"""Weighted alias routing, a function name's qualifier, and the AWS validation of an alias's
RoutingConfig -- pure, no AWS.

Lambda picks the version per invocation: the additional version with probability equal to its
weight, else the alias's primary version. AWS rules emulated (Lambda API reference,
AliasRoutingConfiguration / UpdateAlias): weights are fractions in [0.0, 1.0]; keys are
published version numbers (pattern [0-9]+, so no `$LATEST`); at most one additional version; an
alias whose primary version is `$LATEST` cannot route to a second version.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_VERSION = re.compile(r"[0-9]+")


def split_function(function: str) -> tuple[str, str | None]:
    """(name, qualifier) of a function name, `name:qualifier` or (qualified) ARN."""
    if function.startswith("arn:"):
        parts = function.split(":")
        return parts[6], parts[7] if len(parts) > 7 else None
    name, _, qualifier = function.partition(":")
    return name, qualifier or None


def pick_version(primary: str, weights: Mapping[str, float], u: float) -> str:
    """The version an invocation runs, for a uniform draw `u` in [0, 1)."""
    acc = 0.0
    for version, weight in weights.items():
        acc += float(weight)
        if u < acc:
            return version
    return primary


def additional_weights(routing_config: Mapping[str, Any] | None) -> dict[str, float]:
    if not routing_config:
        return {}
    return dict(routing_config.get("AdditionalVersionWeights") or {})


@dataclass(frozen=True, slots=True)
class RoutingProblem:
    code: str  # the AWS error code
    message: str


def routing_problem(
    function_version: str | None, routing_config: Mapping[str, Any] | None
) -> RoutingProblem | None:
    """What AWS would reject in an alias's (FunctionVersion, RoutingConfig), or None."""
    weights = additional_weights(routing_config)
    if not weights:
        return None
    for version, weight in weights.items():
        if not _VERSION.fullmatch(str(version)):
            return RoutingProblem(
                "ValidationException",
                f"1 validation error detected: Value '{dict(weights)}' at "
                "'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map keys "
                "must satisfy constraint: [Member must satisfy regular expression pattern: [0-9]+]",
            )
        if not isinstance(weight, int | float) or not 0.0 <= float(weight) <= 1.0:
            return RoutingProblem(
                "ValidationException",
                f"1 validation error detected: Value '{dict(weights)}' at "
                "'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value "
                "must satisfy constraint: [Member must have value less than or equal to 1.0, "
                "Member must have value greater than or equal to 0.0, Member must not be null]",
            )
    if len(weights) > 1:
        return RoutingProblem(
            "InvalidParameterValueException",
            f"Number of items in AdditionalVersionWeights cannot exceed 1: {dict(weights)}",
        )
    if function_version is not None and function_version.upper() == "$LATEST":
        return RoutingProblem(
            "InvalidParameterValueException",
            "$LATEST is not supported for an alias pointing to more than 1 version",
        )
    return None
