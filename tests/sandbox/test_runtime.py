"""The in-process Lambda runtime: simulated sleeps, errors, environment, context, code versions."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any

import pytest

from coalmine_sandbox import Sandbox
from coalmine_sandbox.aws.awslambda import process_hooks

SLEEPER = {
    "sleeper.py": """
        import os, time

        def handler(event, context):
            time.sleep(event.get("sleep", 0))
            if event.get("fail"):
                raise KeyError("boom")
            return {
                "knob": os.environ.get("KNOB"),
                "version": context.function_version,
                "arn": context.invoked_function_arn,
                "remaining": context.get_remaining_time_in_millis(),
            }
    """
}


def _sleeper_alias(bare: Sandbox, make_function: Any) -> Any:
    """The sleeper function, version 1 published, alias ``live`` on it; its Lambda client."""
    make_function(bare, "sleeper", SLEEPER, "sleeper.handler")
    lam = bare.client("lambda")
    lam.publish_version(FunctionName="sleeper")
    lam.create_alias(FunctionName="sleeper", Name="live", FunctionVersion="1")
    return lam


def test_handler_sleep_adds_simulated_duration_without_sleeping(
    bare: Sandbox, make_function: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_function(bare, "sleeper", SLEEPER, "sleeper.handler", {"KNOB": "x"})
    bare.client("lambda").publish_version(FunctionName="sleeper")
    bare.client("lambda").create_alias(FunctionName="sleeper", Name="live", FunctionVersion="1")
    clock_before = bare.clock.now()
    slept: list[float] = []
    monkeypatch.setattr(process_hooks, "_real_sleep", slept.append)
    # When the handler sleeps 2 s
    result = bare.runtime.invoke_alias("sleeper", "live", {"sleep": 2})
    # Then its duration is ~2000 ms, nothing really slept and the global clock did not move
    assert 2000 <= result.duration_ms < 2000 + 500
    assert slept == [], "the 2-s sleep must be simulated, not slept"
    assert bare.clock.now() == clock_before
    # and the handler saw its version's environment and a Lambda context
    assert result.payload["knob"] == "x"
    assert result.payload["version"] == "1"
    assert result.payload["arn"].endswith(":function:sleeper:live")
    assert 27_000 < result.payload["remaining"] <= 28_000  # timeout 30 s minus the 2 s slept
    assert "KNOB" not in os.environ


def test_handler_error_has_lambdas_error_shape(bare: Sandbox, make_function: Any) -> None:
    make_function(bare, "sleeper", SLEEPER, "sleeper.handler")
    response = bare.client("lambda").invoke(FunctionName="sleeper", Payload=b'{"fail": true}')
    payload = json.loads(response["Payload"].read())
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "KeyError"
    assert payload["errorMessage"] == "'boom'"
    assert isinstance(payload["stackTrace"], list)


def test_sleep_beyond_the_timeout_is_a_timeout(bare: Sandbox, make_function: Any) -> None:
    make_function(bare, "sleeper", SLEEPER, "sleeper.handler", timeout=3)
    result = bare.runtime.invoke(bare.hooks.function_spec("sleeper", "$LATEST"), {"sleep": 5})
    assert result.error
    assert result.payload["errorType"] == "Sandbox.Timedout"
    assert result.duration_ms == 3000


def test_two_code_versions_of_one_package_coexist(bare: Sandbox, make_function: Any) -> None:
    # Given version 1 and version 2 with different code for the same module name
    lam = bare.client("lambda")
    v1 = {"shared_pkg/__init__.py": "", "shared_pkg/app.py": "def handler(e, c):\n return 'one'\n"}
    v2 = {"shared_pkg/__init__.py": "", "shared_pkg/app.py": "def handler(e, c):\n return 'two'\n"}
    make_function(bare, "coexist", v1, "shared_pkg.app.handler")
    lam.publish_version(FunctionName="coexist")
    lam.update_function_code(FunctionName="coexist", ZipFile=make_function.zip(v2))
    bare.clock.advance(3)
    lam.publish_version(FunctionName="coexist")
    # When each version runs, alternately
    runs = [lam.invoke(FunctionName="coexist", Qualifier=q)["Payload"].read() for q in "1212"]
    # Then each ran its own code
    assert runs == [b'"one"', b'"two"', b'"one"', b'"two"']


def test_invocations_are_recorded_and_served_as_percentiles(
    bare: Sandbox, make_function: Any
) -> None:
    _sleeper_alias(bare, make_function)
    start = bare.clock.now()
    for i in range(100):
        bare.runtime.invoke_alias("sleeper", "live", {"sleep": (i + 1) / 100})
    bare.clock.advance(240)  # metrics are published with a delay
    dims = [
        {"Name": "FunctionName", "Value": "sleeper"},
        {"Name": "Resource", "Value": "sleeper:live"},
        {"Name": "ExecutedVersion", "Value": "1"},
    ]
    query = {
        "Id": "p90",
        "MetricStat": {
            "Metric": {"Namespace": "AWS/Lambda", "MetricName": "Duration", "Dimensions": dims},
            "Period": 60,
            "Stat": "p90",
        },
    }
    result = bare.client("cloudwatch").get_metric_data(
        MetricDataQueries=[query],
        StartTime=start - timedelta(minutes=1),
        EndTime=bare.clock.now(),
    )["MetricDataResults"][0]
    assert len(result["Values"]) == 1
    assert 890 <= result["Values"][0] <= 960


def test_requests_beyond_reserved_concurrency_are_throttled(
    bare: Sandbox, make_function: Any
) -> None:
    lam = _sleeper_alias(bare, make_function)
    lam.put_function_concurrency(FunctionName="sleeper", ReservedConcurrentExecutions=1)
    start = bare.clock.now()
    # When a 2-s request holds the one environment and a second arrives 1 s later
    first = bare.runtime.invoke_alias("sleeper", "live", {"sleep": 2}, start=start)
    second = bare.runtime.invoke_alias(
        "sleeper", "live", {"sleep": 0}, start=start + timedelta(seconds=1)
    )
    # and a third once the first has finished
    third = bare.runtime.invoke_alias(
        "sleeper", "live", {"sleep": 0}, start=start + timedelta(seconds=2.5)
    )
    # Then only the second is throttled, with Lambda's error, and the handler did not run for it
    assert (first.throttled, second.throttled, third.throttled) == (False, True, False)
    assert second.error
    assert second.payload["errorType"] == "TooManyRequestsException"
    assert second.duration_ms == 0
    # and it is a Throttles datapoint of the version it was routed to, not an invocation
    bare.clock.advance(120)
    dims = [
        {"Name": "FunctionName", "Value": "sleeper"},
        {"Name": "Resource", "Value": "sleeper:live"},
        {"Name": "ExecutedVersion", "Value": "1"},
    ]
    cw = bare.client("cloudwatch")

    def total(metric: str) -> float:
        points = cw.get_metric_statistics(
            Namespace="AWS/Lambda",
            MetricName=metric,
            Dimensions=dims,
            StartTime=start - timedelta(minutes=1),
            EndTime=start + timedelta(minutes=2),
            Period=60,
            Statistics=["Sum"],
        )["Datapoints"]
        return sum(p["Sum"] for p in points)

    assert total("Throttles") == 1
    assert total("Invocations") == 2


def test_without_reserved_concurrency_nothing_is_throttled(
    bare: Sandbox, make_function: Any
) -> None:
    _sleeper_alias(bare, make_function)
    start = bare.clock.now()
    results = [
        bare.runtime.invoke_alias("sleeper", "live", {"sleep": 5}, start=start) for _ in range(50)
    ]
    assert not any(r.throttled for r in results)
