from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from coalmine_sandbox import Sandbox, SimClock

START = datetime(2030, 1, 1, tzinfo=UTC)


def test_listeners_see_steps_of_at_most_one_second_in_order() -> None:
    clock = SimClock(START)
    calls: list[tuple[str, datetime, datetime]] = []
    clock.add_listener(lambda a, b: calls.append(("traffic", a, b)))
    clock.add_listener(lambda a, b: calls.append(("alarms", a, b)))
    # When time moves 2.5 s
    clock.advance(2.5)
    # Then three steps (1, 1, 0.5), each seen by traffic before alarms
    steps = [(b - a) for name, a, b in calls if name == "traffic"]
    assert steps == [timedelta(seconds=1), timedelta(seconds=1), timedelta(seconds=0.5)]
    assert [name for name, _, _ in calls] == ["traffic", "alarms"] * 3
    assert calls[0][1] == START
    assert calls[-1][2] == START + timedelta(seconds=2.5)
    assert clock.now() == START + timedelta(seconds=2.5)


def test_time_machine_moves_everyone_while_started() -> None:
    with SimClock(START) as clock:
        assert time.time() == START.timestamp()
        clock.advance(90)
        assert datetime.now(UTC) == START + timedelta(seconds=90)
    assert abs(time.time() - START.timestamp()) > 3600  # back to real time


def test_removed_listener_is_not_called() -> None:
    clock = SimClock(START)
    seen: list[datetime] = []
    remove = clock.add_listener(lambda a, b: seen.append(b))
    clock.advance(1)
    remove()
    clock.advance(1)
    assert len(seen) == 1


def test_advance_is_thread_safe() -> None:
    clock = SimClock(START)
    threads = [threading.Thread(target=clock.advance, args=(10,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert clock.now() == START + timedelta(seconds=40)


def test_time_cannot_go_backwards() -> None:
    with pytest.raises(ValueError, match="backwards"):
        SimClock(START).advance(-1)


def test_a_300_second_wait_state_is_waited_in_simulated_time(bare: Sandbox, make_role: Any) -> None:
    # Given a state machine that waits 300 s
    definition = {
        "StartAt": "Bake",
        "States": {"Bake": {"Type": "Wait", "Seconds": 300, "End": True}},
    }
    sfn = bare.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="wait", definition=json.dumps(definition), roleArn=make_role(bare)
    )["stateMachineArn"]
    ticks: list[datetime] = []
    bare.clock.add_listener(lambda a, b: ticks.append(b))
    began_sim = bare.clock.now()
    # When it runs
    arn = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    result = bare.wait_for_execution(arn, timeout_wall=60)
    # Then it succeeded after the 300 s it waited, in simulated time, in 1-s ticks
    assert result["status"] == "SUCCEEDED"
    assert bare.clock.now() - began_sim == timedelta(seconds=300)
    assert len(ticks) == 300
    assert result["name"]
    assert not arn.endswith(":None")


def test_retry_backoff_advances_the_clock(
    bare: Sandbox, make_role: Any, make_function: Any
) -> None:
    fails = {"flaky.py": "def handler(e, c):\n    raise TimeoutError('transient')\n"}
    fn = make_function(bare, "flaky", fails, "flaky.handler")["FunctionArn"]
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": fn, "Payload": {}},
                "Retry": [
                    {
                        "ErrorEquals": ["TimeoutError"],
                        "IntervalSeconds": 10,
                        "MaxAttempts": 2,
                        "BackoffRate": 3.0,
                    }
                ],
                "End": True,
            }
        },
    }
    sfn = bare.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="retry", definition=json.dumps(definition), roleArn=make_role(bare)
    )["stateMachineArn"]
    before = bare.clock.now()
    arn = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    result = bare.wait_for_execution(arn, timeout_wall=60)
    # Then it failed with the handler's error type after 10 + 30 simulated seconds of back-off
    assert result["status"] == "FAILED"
    assert result["error"] == "TimeoutError"
    assert bare.clock.now() - before == timedelta(seconds=40)


def test_a_paced_clock_moves_by_itself_and_a_wait_waits_for_it() -> None:
    # Given a clock paced at 600x (as `coalmine sandbox serve --speed 600` runs it)
    with SimClock(START) as clock:
        steps: list[timedelta] = []
        clock.add_listener(lambda a, b: steps.append(b - a))
        clock.pace(600)
        assert clock.paced
        # When a waiter (a Wait state's) waits for 30 simulated seconds
        clock.wait_until(START + timedelta(seconds=30))
        # Then the pacing thread moved the clock there in steps of at most 1 s, on its own
        assert clock.now() >= START + timedelta(seconds=30)
        assert steps
        assert max(steps) <= timedelta(seconds=1)
        clock.stop_pacing()
        assert not clock.paced
        # and, unpaced, it stands still until something advances it
        stopped = clock.now()
        clock.wait_until(stopped + timedelta(seconds=30))
        assert clock.now() == stopped


def test_a_paced_wait_ends_when_its_execution_stops_running() -> None:
    with SimClock(START) as clock:
        clock.pace(1)
        # a Wait of a day on a clock at real speed ends at once once the execution stopped
        clock.wait_until(START + timedelta(days=1), running=lambda: False)
        assert clock.now() < START + timedelta(hours=1)
        clock.stop_pacing()
