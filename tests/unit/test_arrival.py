"""arrival: which minutes of a step the metrics cover, the pass rule that waits for them, a
throttled metrics read, and an alarm already firing before the deployment (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from coalmine import alarm_gate, analysis, arrival, deployment, strategies
from coalmine.models import Action, AnalysisConfig, Deployment, TickAction, Verdict

T0 = datetime(2030, 1, 1, 12, 0, 30, tzinfo=UTC)  # the step starts 30 s into a minute


def _m(minute: int) -> datetime:
    return datetime(2030, 1, 1, 12, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seen", "now_s", "missing"),
    [
        # bake 12:00:30-12:05:30: minutes 12:00..12:05 must be in; delay 120 s
        ([0, 1, 2, 3, 4, 5], 330, []),  # every minute has a datapoint
        ([0, 1, 2], 300, [3, 4, 5]),  # at 12:05:30 the last three are neither seen nor old enough
        ([0, 1, 2], 400, [5]),  # at 12:07:10 12:04 ended 130 s ago: in (no traffic in it)
        ([0, 3], 330, [4, 5]),  # 12:01, 12:02 empty but a later minute has a datapoint
        ([], 450, []),  # 12:05 ended 120 s ago: in, whatever it holds
        ([], 449, [5]),
        ([5], 331, []),  # the last minute is seen
    ],
)
def test_coverage_of_the_bake(seen: list[int], now_s: int, missing: list[int]) -> None:
    cov = arrival.coverage([_m(m) for m in seen], step_start=T0,
                           through=T0 + timedelta(seconds=300),
                           now=T0 + timedelta(seconds=now_s), delay_seconds=120)  # fmt: skip
    assert (cov.first, cov.last) == (_m(0), _m(5))
    assert list(cov.missing) == [_m(m) for m in missing]
    assert cov.ready_at == _m(8)  # 12:05 ends at 12:06, + 120 s
    assert cov.evidence()["missing"] == [f"2030-01-01T12:{m:02d}:00Z" for m in missing]


def test_a_bake_ending_on_a_minute_boundary_does_not_wait_for_the_next_minute() -> None:
    start = _m(0)
    cov = arrival.coverage([], step_start=start, through=_m(5), now=_m(7), delay_seconds=120)
    assert cov.last == _m(4)
    assert cov.complete


def _answer(minutes: list[int], **counts: float) -> list[dict[str, Any]]:
    return [{"Id": qid, "Timestamps": [_m(m) for m in minutes], "Values": [v] * len(minutes)}
            for qid, v in counts.items()]  # fmt: skip


def _step(elapsed: int, *, alarms: list[str] | None = None, delay: int = 120) -> Deployment:
    cfg = AnalysisConfig.model_validate(
        {"minInvocations": 10, "alarms": alarms or [], "metricsDelaySeconds": delay}
    )
    plan = strategies.resolve("Canary10Percent5Minutes")
    d = deployment.prepared("d", "f", "prod", "1", "r", plan, cfg, "2", None)
    d = deployment.shifted(deployment.published(d, "2"), "r")
    d.bake.elapsed_seconds, d.bake.wait_seconds = elapsed - 60, 60
    return d


HEALTHY = {"n_inv": 100, "n_err": 0, "o_inv": 900, "o_err": 0}


@pytest.mark.parametrize(
    ("tick_at", "seen", "action", "wait"),
    [
        (240, [0, 1, 2, 3], Action.BAKE, 60),  # inside the bake: bakes on
        (300, [0, 1, 2], Action.BAKE, 60),  # bake over, 12:03-12:05 not in: waits
        (420, [0, 1, 2, 3], Action.BAKE, 30),  # 12:05 is not in until 12:08:00
        (450, [0, 1, 2, 3], Action.PROMOTE, 0),  # ...now they are (no traffic in them)
        (330, [0, 1, 2, 3, 4, 5], Action.PROMOTE, 0),  # every minute seen
    ],
)
def test_a_step_passes_only_once_its_whole_bake_is_in(
    tick_at: int, seen: list[int], action: Action, wait: int
) -> None:
    d = analysis.tick(_step(tick_at), _answer(seen, **HEALTHY), {},
                      now=T0 + timedelta(seconds=tick_at))  # fmt: skip
    tick = d.steps[-1].ticks[-1]
    assert (d.action, d.bake.wait_seconds) == (action, wait)
    if action == Action.BAKE and tick_at >= 300:
        assert tick.verdict == Verdict.INCONCLUSIVE
        assert "waiting for the metrics" in str(tick.reason)
    assert tick.coverage is not None
    assert tick.at == T0 + timedelta(seconds=tick_at)


def test_a_fail_on_the_minutes_seen_rolls_back_without_waiting() -> None:
    failing = {"n_inv": 100, "n_err": 50, "o_inv": 900, "o_err": 0}
    d = analysis.tick(_step(300), _answer([0, 1], **failing), {},
                      now=T0 + timedelta(seconds=300))  # fmt: skip
    assert d.action == Action.ROLLBACK


def test_too_little_traffic_is_not_extended_before_the_minutes_are_in() -> None:
    low = {"n_inv": 1, "n_err": 0, "o_inv": 9, "o_err": 0}
    d = analysis.tick(_step(300), _answer([0], **low), {}, now=T0 + timedelta(seconds=300))
    assert (d.action, d.bake.extended_seconds) == (Action.BAKE, 0)
    assert d.steps[-1].ticks[-1].action == TickAction.CONTINUE


def test_throttled_reads_are_inconclusive_three_times_in_a_row() -> None:
    d = _step(300)
    for n in (1, 2, 3):
        assert arrival.may_skip_read(d)
        d = analysis.unread_tick(d, "throttled", {}, now=T0 + timedelta(seconds=300 + 60 * n))
        tick = d.steps[-1].ticks[-1]
        assert (d.action, tick.verdict) == (Action.BAKE, Verdict.INCONCLUSIVE)
        assert tick.gates[0].evidence == {"throttled": True, "consecutive": n}
    assert not arrival.may_skip_read(d)
    d = analysis.tick(d, _answer([0, 1, 2, 3, 4, 5], **HEALTHY), {}, now=T0 + timedelta(600))
    assert d.action == Action.PROMOTE  # a read that succeeds resets the count
    assert arrival.unread_in_a_row(d) == 0


@pytest.mark.parametrize(
    ("changed_s", "state", "verdict", "preexisting"),
    [
        (-600, "ALARM", Verdict.PASS, ["e"]),  # firing before the step began: not judged
        (10, "ALARM", Verdict.FAIL, None),  # began firing during the bake
        (-600, "OK", Verdict.PASS, None),
        (-600, "INSUFFICIENT_DATA", Verdict.INCONCLUSIVE, None),
    ],
)
def test_an_alarm_already_firing_before_the_deployment(
    changed_s: int, state: str, verdict: Verdict, preexisting: list[str] | None
) -> None:
    d = analysis.tick(_step(120, alarms=["e"]), _answer([0], **HEALTHY), {"e": state},
                      now=T0 + timedelta(seconds=120),
                      alarm_changes={"e": T0 + timedelta(seconds=changed_s)})  # fmt: skip
    gate = d.steps[-1].ticks[-1].gates[-1]
    assert (gate.gate, gate.verdict) == ("alarms", verdict)
    assert gate.evidence.get("preexisting") == preexisting


def test_the_start_is_the_first_tick_of_the_deployment_not_of_the_step() -> None:
    d = analysis.tick(_step(60, alarms=["e"]), _answer([0], **HEALTHY), {"e": "OK"},
                      now=T0 + timedelta(seconds=60))  # fmt: skip
    d.steps[-1].ticks[-1].elapsed_seconds = 60
    later = T0 + timedelta(seconds=3600)
    assert alarm_gate.analysis_started(d, later) == T0


def test_an_extension_after_waiting_for_the_data_extends_from_now() -> None:
    low = {"n_inv": 1, "n_err": 0, "o_inv": 9, "o_err": 0}
    d = analysis.tick(_step(450), _answer([0], **low), {}, now=T0 + timedelta(seconds=450))
    assert d.steps[-1].ticks[-1].action == TickAction.EXTEND
    assert (d.bake.extended_seconds, d.bake.wait_seconds) == (210, 60)  # the bake now ends at 510
