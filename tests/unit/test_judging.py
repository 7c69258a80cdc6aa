"""judging: the tick's one metric request, and a table of fake answers -> gate results."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from coalmine.async_gates import target_from_config
from coalmine.judging import judge_metrics, metric_request
from coalmine.models import Deployment, Outcome
from events import load_event

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
ASYNC_CONFIG = {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600}


def _baking(**update: Any) -> Deployment:
    return Deployment.model_validate(load_event("analyze")).model_copy(update=update)


def _r(qid: str, value: float) -> dict[str, Any]:
    return {"Id": qid, "Timestamps": [T0], "Values": [value]}


SYNC_ANSWER = [_r("n_inv", 120), _r("n_err", 1), _r("o_inv", 1080), _r("o_err", 10)]


@pytest.mark.parametrize(
    ("update", "prefixes", "async_ids"),
    [
        pytest.param({}, {"n", "o"}, {"a_rcv"}, id="canary: both versions, async arrivals"),
        pytest.param(
            {"outcome": Outcome.PROMOTED}, {"n"}, {"a_rcv"}, id="after promotion: new only"
        ),
        pytest.param(
            {"async_target": target_from_config(ASYNC_CONFIG)},
            {"n", "o"},
            {"a_rcv", "a_drp", "a_age", "a_ddf", "a_dle"},
            id="async target: the whole queue",
        ),
    ],
)
def test_one_request_holds_what_the_tick_judges(
    update: dict[str, Any], prefixes: set[str], async_ids: set[str]
) -> None:
    ids = {q["Id"] for q in metric_request(_baking(**update))}
    assert {i.split("_")[0] for i in ids} == prefixes | {"a"}
    assert {i for i in ids if i.startswith("a_")} == async_ids


def test_a_sync_alias_is_judged_by_the_version_gates_only() -> None:
    current, results, new_invocations = judge_metrics(_baking(), SYNC_ANSWER)
    assert current.async_target is None
    assert [g.gate for g in results] == ["errors", "latency"]
    assert new_invocations == 120


def test_async_arrivals_reveal_an_async_target_judged_from_the_next_tick() -> None:
    # Given no event invoke config was found, When the alias turns out to receive async events
    current, results, _ = judge_metrics(_baking(), [*SYNC_ANSWER, _r("a_rcv", 40)])
    # Then it becomes an async target with Lambda's defaults, and this tick judges versions only
    assert current.async_target is not None
    assert current.async_target.configured is False
    assert [g.gate for g in results] == ["errors", "latency"]


def test_a_known_async_target_adds_the_async_gates() -> None:
    known = _baking(async_target=target_from_config(ASYNC_CONFIG))
    answer = [*SYNC_ANSWER, _r("a_rcv", 40), _r("a_ddf", 3)]
    _, results, _ = judge_metrics(known, answer)
    gates = {g.gate: g.verdict for g in results}
    assert {"errors", "latency", "event-age", "destination-delivery"} <= set(gates)
    assert gates["destination-delivery"] == "FAIL"
