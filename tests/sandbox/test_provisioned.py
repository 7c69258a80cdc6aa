"""The emulation of an alias's provisioned concurrency (aws/awslambda/provisioned.py), alone: the
split, allocation in simulated time, FAILED, and which invocations spill over."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_helpers import publish_candidate

from coalmine_sandbox import Sandbox
from coalmine_sandbox.aws.awslambda.provisioned import (
    WEIGHTED_ALIAS,
    ProvisionedConcurrency,
    shares,
)

T0 = 1_800_000_000.0
FN, ALIAS = "brand-api", "prod"


@pytest.mark.parametrize(
    ("requested", "weights", "expected"),
    [
        (10, {}, {"1": 10}),
        (10, {"2": 0.1}, {"2": 1, "1": 9}),
        (10, {"2": 0.05}, {"2": 0, "1": 10}),
        (20, {"2": 0.3}, {"2": 6, "1": 14}),
        (3, {"2": 0.5}, {"2": 1, "1": 2}),
    ],
)
def test_shares_follow_the_weights(
    requested: int, weights: dict[str, float], expected: dict[str, int]
) -> None:
    assert shares(requested, "1", weights) == expected


def _status(pc: ProvisionedConcurrency, at: float) -> tuple[str, int, str | None]:
    found = pc.describe(FN, ALIAS, at)
    assert found is not None
    return (
        found["Status"],
        found["AllocatedProvisionedConcurrentExecutions"],
        found.get("StatusReason"),
    )


def _provisioned(requested: int = 10) -> ProvisionedConcurrency:
    pc = ProvisionedConcurrency(allocation_seconds=90)
    pc.put(FN, ALIAS, requested, "1", {}, T0)
    return pc


def test_a_new_config_is_allocated_after_the_allocation_time() -> None:
    pc = _provisioned()
    assert _status(pc, T0) == ("IN_PROGRESS", 0, None)
    assert _status(pc, T0 + 89) == ("IN_PROGRESS", 0, None)
    assert _status(pc, T0 + 90) == ("READY", 10, None)
    assert pc.describe(FN, "staging", T0) is None


def test_a_weighted_alias_cannot_be_given_provisioned_concurrency() -> None:
    with pytest.raises(ValueError, match=WEIGHTED_ALIAS):
        ProvisionedConcurrency().put(FN, ALIAS, 10, "1", {"2": 0.1}, T0)


def test_a_routing_change_moves_the_environments_going_down_at_once_up_later() -> None:
    pc = _provisioned()
    pc.on_routing(FN, ALIAS, "1", {"2": 0.3}, T0 + 100)
    # version 1 drops to 7 at once, version 2's 3 come 90 s later
    assert _status(pc, T0 + 100) == ("IN_PROGRESS", 7, None)
    assert _status(pc, T0 + 189) == ("IN_PROGRESS", 7, None)
    assert _status(pc, T0 + 190) == ("READY", 10, None)
    # ... and questions about an earlier moment are answered as of then
    assert _status(pc, T0 + 95) == ("READY", 10, None)
    # the same routing again (a retried write) starts nothing
    pc.on_routing(FN, ALIAS, "1", {"2": 0.3}, T0 + 150)
    assert _status(pc, T0 + 190) == ("READY", 10, None)


def test_a_version_that_cannot_be_initialised_fails_the_allocation_until_routed_away() -> None:
    pc = _provisioned()
    pc.fail_allocation(FN, "2", "FUNCTION_ERROR_INIT_FAILURE")
    pc.on_routing(FN, ALIAS, "1", {"2": 0.1}, T0 + 100)
    assert _status(pc, T0 + 150) == ("IN_PROGRESS", 9, None)
    assert _status(pc, T0 + 190) == ("FAILED", 9, "FUNCTION_ERROR_INIT_FAILURE")
    pc.on_routing(FN, ALIAS, "1", {}, T0 + 200)  # rolled back: version 1 gets its 10 again
    assert _status(pc, T0 + 200) == ("IN_PROGRESS", 9, None)
    assert _status(pc, T0 + 290) == ("READY", 10, None)


def test_invocations_beyond_a_versions_environments_spill_over() -> None:
    pc = _provisioned(requested=10)
    pc.on_routing(FN, ALIAS, "1", {"2": 0.1}, T0 + 100)
    assert pc.admit(FN, ALIAS, "2", T0 + 150) is False  # its one environment is not there yet
    assert pc.admit(FN, ALIAS, "2", T0 + 190) is True
    pc.occupy(FN, ALIAS, "2", T0 + 190, 500)  # busy for 0.5 s
    assert pc.admit(FN, ALIAS, "2", T0 + 190.2) is False  # a second request at once: cold
    assert pc.admit(FN, ALIAS, "2", T0 + 190.5) is True  # free again
    assert pc.admit(FN, "staging", "2", T0 + 190) is None  # an alias without any


def test_deleting_the_config() -> None:
    pc = _provisioned()
    assert pc.delete(FN, ALIAS) is True
    assert pc.describe(FN, ALIAS, T0 + 100) is None
    assert pc.delete(FN, ALIAS) is False


def test_the_api_answers_as_aws_does(sandbox: Sandbox) -> None:
    lam = sandbox.client("lambda")
    get = {"FunctionName": FN, "Qualifier": ALIAS}
    put = {**get, "ProvisionedConcurrentExecutions": 5}

    def code_of(call: Callable[[], Any]) -> str:
        with pytest.raises(ClientError) as refused:
            call()
        return str(refused.value.response["Error"]["Code"])

    none = "ProvisionedConcurrencyConfigNotFoundException"
    assert code_of(lambda: lam.get_provisioned_concurrency_config(**get)) == none
    missing = {"FunctionName": FN, "Qualifier": "nope"}
    assert code_of(lambda: lam.get_provisioned_concurrency_config(**missing)) == (
        "ResourceNotFoundException"
    )
    # a weighted alias is refused
    stable = lam.get_alias(FunctionName=FN, Name=ALIAS)["FunctionVersion"]
    candidate = publish_candidate(sandbox, release="api-check")
    weighted = {"AdditionalVersionWeights": {candidate: 0.1}}
    lam.update_alias(FunctionName=FN, Name=ALIAS, RoutingConfig=weighted)
    assert code_of(lambda: lam.put_provisioned_concurrency_config(**put)) == (
        "InvalidParameterValueException"
    )
    lam.update_alias(FunctionName=FN, Name=ALIAS, RoutingConfig={"AdditionalVersionWeights": {}})
    # a whole one gets it, allocated in simulated time, and it can be deleted
    answer = lam.put_provisioned_concurrency_config(**put)
    assert (answer["Status"], answer["AllocatedProvisionedConcurrentExecutions"]) == (
        "IN_PROGRESS",
        0,
    )
    sandbox.clock.advance(sandbox.runtime.provisioned.allocation_seconds)
    ready = lam.get_provisioned_concurrency_config(**get)
    assert (ready["Status"], ready["AllocatedProvisionedConcurrentExecutions"]) == ("READY", 5)
    assert lam.get_alias(FunctionName=FN, Name=ALIAS)["FunctionVersion"] == stable
    lam.delete_provisioned_concurrency_config(**get)
    assert code_of(lambda: lam.get_provisioned_concurrency_config(**get)) == none
