"""An asynchronously invoked alias, against moto: PublishVersion reads its event invoke config
(GetFunctionEventInvokeConfig, the alias as qualifier) and Analyze finds one without a config
from its AsyncEventsReceived, then judges its queue.

moto 5.2.5 keeps one event invoke config list per function whatever the qualifier (the sandbox
keeps them per qualifier, as AWS does); metrics are put with PutMetricData under the dimensions
Lambda uses for an alias ({FunctionName, Resource=function:alias}).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from coalmine.adapters.cloudwatch import CloudWatchApi
from coalmine.adapters.lambda_api import LambdaApi
from coalmine.handlers.analyze import analyze as analyze_tick
from coalmine.handlers.analyze import handler as analyze
from coalmine.handlers.publish_version import handler as publish_version
from coalmine.models import Deployment
from events import load_event

DLQ = "arn:aws:sqs:us-east-1:123456789012:brand-api-dlq"


@pytest.fixture(autouse=True)
def _lock_held(world: Any) -> None:
    world.hold_lock()  # Prepare took it; PublishVersion records the version in it


def _one_minute_canary(event: dict[str, Any]) -> dict[str, Any]:
    event["plan"] = {"strategy": "Canary10Percent1Minute",
                     "steps": [{"weight": 0.1, "bakeSeconds": 60}]}  # fmt: skip
    return event


def _alias_metric(world: Any, name: str, value: float, ago: float = 30) -> None:
    world.cloudwatch.put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": [
                    {"Name": "FunctionName", "Value": "brand-api"},
                    {"Name": "Resource", "Value": "brand-api:prod"},
                ],
                "Timestamp": datetime.now(UTC) - timedelta(seconds=ago),
                "Value": value,
            }
        ],
    )


# ----------------------------------------------------------------------------- PublishVersion
def test_an_alias_with_an_event_invoke_config_is_an_async_target(
    world: Any, lambda_context: Any
) -> None:
    world.lambda_client.put_function_event_invoke_config(
        FunctionName="brand-api",
        Qualifier="prod",
        MaximumRetryAttempts=1,
        MaximumEventAgeInSeconds=900,
        DestinationConfig={"OnFailure": {"Destination": DLQ}},
    )

    out = publish_version(_one_minute_canary(load_event("publish-version")), lambda_context)

    assert out["asyncTarget"] == {
        "maximumRetryAttempts": 1,
        "maximumEventAgeInSeconds": 900,
        "onSuccess": None,
        "onFailure": DLQ,
        "configured": True,
        "retryWindowSeconds": 180,
        "lastBake": "step 1 (10%): bake 60 s -> 180 s: an async target's last bake covers its "
        "retry window (1 retry: 60 s, plus 120 s for their metrics)",
    }
    assert out["plan"]["steps"] == [{"weight": 0.1, "bakeSeconds": 180}]
    assert out["action"] == "SHIFT"
    assert '"asyncTarget": {"maximumRetryAttempts": 1' in world.lock()["deployment"]["S"]


def test_an_alias_without_one_stays_as_planned(world: Any, lambda_context: Any) -> None:
    out = publish_version(_one_minute_canary(load_event("publish-version")), lambda_context)

    assert out["asyncTarget"] is None
    assert out["plan"]["steps"] == [{"weight": 0.1, "bakeSeconds": 60}]


# ----------------------------------------------------------------------------- Analyze
@pytest.fixture
def baking(world: Any) -> dict[str, Any]:
    world.route("1", {"2": 0.1})  # what ShiftTraffic set before this analysis
    return load_event("analyze")


def test_async_events_without_a_config_make_an_async_target_at_a_tick(
    world: Any, lambda_context: Any, baking: dict[str, Any]
) -> None:
    event = _one_minute_canary(baking)
    event["bake"]["bakeSeconds"] = event["steps"][0]["bakeSeconds"] = 60
    _alias_metric(world, "AsyncEventsReceived", 12)

    out = analyze(event, lambda_context)

    assert out["asyncTarget"]["configured"] is False  # Lambda's defaults: 2 retries, 6 hours
    assert out["asyncTarget"]["retryWindowSeconds"] == 300
    assert (out["bake"]["bakeSeconds"], out["steps"][0]["bakeSeconds"]) == (300, 300)
    assert (out["action"], out["bake"]["waitSeconds"]) == ("BAKE", 60)  # not promoted at 60 s


def test_a_sync_alias_stays_sync(world: Any, lambda_context: Any, baking: dict) -> None:
    out = analyze(baking, lambda_context)
    assert out["asyncTarget"] is None
    assert {g["gate"] for g in out["steps"][0]["ticks"][-1]["gates"]} == {
        "errors",
        "latency",
        "alarms",
    }


def test_an_async_target_whose_records_are_lost_rolls_back(
    world: Any, lambda_context: Any, baking: dict[str, Any]
) -> None:
    baking["asyncTarget"] = {"maximumEventAgeInSeconds": 3600, "onFailure": DLQ}
    _alias_metric(world, "AsyncEventsReceived", 40)
    _alias_metric(world, "AsyncEventAge", 61_000)
    _alias_metric(world, "DestinationDeliveryFailures", 2)

    out = analyze(baking, lambda_context)

    gates = {g["gate"]: g for g in out["steps"][0]["ticks"][-1]["gates"]}
    assert gates["event-age"]["verdict"] == "PASS"
    assert gates["event-age"]["evidence"]["maxEventAgeMs"] == 61_000
    assert gates["destination-delivery"]["verdict"] == "FAIL"
    assert out["action"] == "ROLLBACK"
    assert "destination-delivery: 2 invocation record(s) could not be delivered" in out["reason"]


class _CountingCloudWatch(CloudWatchApi):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[list[str]] = []

    def get_metric_data(self, queries: Any, start: Any, end: Any) -> list[dict[str, Any]]:
        self.requests.append([q["Id"] for q in queries])
        return super().get_metric_data(queries, start, end)


def test_one_get_metric_data_request_serves_every_metric_gate(world: Any, baking: dict) -> None:
    baking["asyncTarget"] = {"maximumEventAgeInSeconds": 3600}
    baking["analysis"]["maxDroppedEventRate"] = 0.4
    cloudwatch = _CountingCloudWatch()

    out = analyze_tick(Deployment.model_validate(baking), LambdaApi(), cloudwatch)

    [ids] = cloudwatch.requests
    assert {"n_inv", "o_err", "a_rcv", "a_drp", "a_age", "a_ddf", "a_dle"} <= set(ids)
    gates = [g.gate for g in out.steps[0].ticks[-1].gates]
    assert gates == ["errors", "latency", "event-age", "dropped-events", "destination-delivery",
                     "alarms"]  # fmt: skip
