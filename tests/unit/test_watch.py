"""The watch after a cutover, judged before/after (coalmine/watch.py, metric_queries.watch_*,
analysis.tick on a promoted deployment): the read window, the pairing of minutes, and what a tick
decides for a broken, a slow and a healthy version (pure, tables of cases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from coalmine import analysis, deployment, strategies, watch
from coalmine.gates import Period, VersionSample
from coalmine.gates_config import GatesConfig
from coalmine.metric_queries import watch_periods, watch_start
from coalmine.models import Action, AnalysisConfig, Deployment, ExecutionInput, Outcome, Verdict

CUT = datetime(2030, 1, 1, 12, 10, 20, tzinfo=UTC)  # the cutover, 20 s into the 12:10 minute
C = CUT.replace(second=0)
M = timedelta(minutes=1)
CFG = GatesConfig()


@pytest.mark.parametrize(
    ("now", "start"),
    [
        pytest.param(CUT + timedelta(seconds=30), C, id="still in the cutover minute"),
        pytest.param(CUT + timedelta(seconds=65), C - M, id="one minute after: one before"),
        pytest.param(CUT + timedelta(seconds=300), C - 5 * M, id="five after: five before"),
    ],
)
def test_the_read_window_reaches_as_far_before_the_cutover_as_after_it(
    now: datetime, start: datetime
) -> None:
    assert watch_start(CUT, now) == start


def _r(qid: str, points: dict[datetime, float]) -> dict[str, Any]:
    return {"Id": qid, "Timestamps": list(points), "Values": list(points.values())}


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        pytest.param([], [], id="no datapoints"),
        pytest.param(
            [_r("o_inv", {C - M: 60, C: 20}), _r("o_err", {C - M: 1})],
            [],
            id="nothing after the cutover yet: nothing to judge",
        ),
        pytest.param(
            [
                _r("n_inv", {C: 40, C + M: 60, C + 2 * M: 58}),
                _r("n_err", {C + M: 30}),
                _r("o_inv", {C - 2 * M: 61, C - M: 59, C: 20}),
                _r("o_err", {C - M: 1}),
            ],
            [
                Period(VersionSample(40), VersionSample(20)),  # the cutover minute, both parts
                Period(VersionSample(60, 30), VersionSample(59, 1)),  # 12:11 with 12:09
                Period(VersionSample(58), VersionSample(61)),  # 12:12 with 12:08
            ],
            id="mirrored around the cutover minute",
        ),
        pytest.param(
            [_r("n_inv", {C + M: 60}), _r("o_inv", {C - 3 * M: 60, C + M: 2})],
            [Period(VersionSample(60), VersionSample())],
            id="an old minute beyond the window and old stragglers after the cutover: unused",
        ),
        pytest.param(
            [_r("n_inv", {C.replace(tzinfo=None) + M: 60}), _r("o_inv", {C - M: 55})],
            [Period(VersionSample(60), VersionSample(55))],
            id="naive timestamps are UTC",
        ),
    ],
)
def test_each_minute_after_is_paired_with_the_old_versions_minute_before(
    results: list[dict[str, Any]], expected: list[Period]
) -> None:
    assert [p for p in watch_periods(results, CFG, CUT) if p.new.invocations] == [
        p for p in expected if p.new.invocations
    ]


def _watching(**analysis_cfg: Any) -> Deployment:
    """brand-api:prod cut over from v1 to v2 (blue/green, 300 s watch), 120 s into the watch."""
    cfg = AnalysisConfig.model_validate(analysis_cfg)
    plan = strategies.resolve(strategies.BlueGreenStrategy(type="blueGreen", bake_seconds=300))
    d = deployment.prepared("d", "brand-api", "prod", "1", "r0", plan, cfg, "2", None)
    d = deployment.promoted(deployment.published(d, "2"), "r1")
    d.bake.elapsed_seconds, d.bake.wait_seconds = 60, 60
    return d


def _answer(
    new_err: float, old_err: float, new_ms: float, old_ms: float, minutes: int = 2
) -> list[dict[str, Any]]:
    """``minutes`` before the cutover (old version, 1,200 requests each) and as many after (new)."""
    before = [C - (k + 1) * M for k in range(minutes)]
    after = [C + k * M for k in range(minutes)]

    def pr(share_slow_ms: float) -> float:  # PR(:50): percent of requests within 50 ms
        return 100.0 if share_slow_ms <= 50 else 0.0

    out = [
        _r("o_inv", dict.fromkeys(before, 1200.0)),
        _r("o_err", dict.fromkeys(before, 1200.0 * old_err)),
        _r("n_inv", dict.fromkeys(after, 1200.0)),
        _r("n_err", dict.fromkeys(after, 1200.0 * new_err)),
    ]
    index = CFG.latency_thresholds().index(50.0)
    out += [_r(f"o_pr{index}", dict.fromkeys(before, pr(old_ms)))]
    out += [_r(f"n_pr{index}", dict.fromkeys(after, pr(new_ms)))]
    return out


@pytest.mark.parametrize(
    ("answer", "verdicts", "action"),
    [
        pytest.param(_answer(0.5, 0.0, 20, 20), ("FAIL", "PASS"), Action.ROLLBACK, id="50% errors"),
        pytest.param(
            _answer(0.0, 0.0, 100, 20), ("PASS", "FAIL"), Action.ROLLBACK, id="latency x5"
        ),
        pytest.param(_answer(0.01, 0.01, 20, 20), ("PASS", "PASS"), Action.BAKE, id="healthy"),
    ],
)
def test_a_watch_tick_compares_the_new_version_with_the_old_one_before_the_cutover(
    answer: list[dict[str, Any]], verdicts: tuple[str, str], action: Action
) -> None:
    now = CUT + timedelta(seconds=120)
    d = analysis.tick(_watching(), answer, {}, now=now)
    gates = d.steps[-1].ticks[-1].gates
    assert [(g.gate, g.verdict) for g in gates] == list(
        zip(("errors", "latency"), verdicts, strict=True)
    )
    assert all(g.evidence["baseline"] == "before-cutover" for g in gates)
    assert gates[0].evidence["oldInvocations"] > 0  # the old version's minutes before it
    assert d.action == action
    if action == Action.ROLLBACK:
        assert str(d.reason).startswith("post-promotion bake failed analysis")


def test_a_passed_watch_finishes_and_says_what_passed() -> None:
    d = _watching(minInvocations=100)
    d.bake.elapsed_seconds, d.bake.wait_seconds = 240, 60  # this tick ends the watch
    now = CUT + timedelta(seconds=300)  # every minute of it is in (a datapoint in each)
    done = analysis.tick(d, _answer(0.01, 0.01, 20, 20, minutes=6), {}, now=now)
    assert done.action == Action.FINISH
    assert done.steps[-1].verdict == Verdict.PASS
    assert done.steps[-1].reason == "2 gate(s) passed"


def test_watch_read_start_is_the_step_start_outside_a_watch() -> None:
    d = _watching()
    now = CUT + timedelta(seconds=120)
    assert watch.read_start(d, now) == C - 2 * M  # 12:10 through 12:12 after, 12:08-12:09 before
    shifted = d.model_copy(update={"outcome": Outcome.IN_PROGRESS})
    assert watch.read_start(shifted, now) == C


@pytest.mark.parametrize(
    ("strategy", "analysis_cfg", "watch_seconds", "record"),
    [
        pytest.param("AllAtOnce", {}, 300, None, id="AllAtOnce: the default watch"),
        pytest.param("AllAtOnce", {"watchSeconds": 600}, 600, None, id="AllAtOnce: 600 s"),
        pytest.param("AllAtOnce", {"watchSeconds": 0}, 0, deployment.NOT_JUDGED, id="opted out"),
        pytest.param(
            {"type": "blueGreen", "bakeSeconds": 120},
            {"watchSeconds": 0},
            120,
            None,
            id="blue/green: its own bakeSeconds",
        ),
        pytest.param("Canary10Percent5Minutes", {}, 0, None, id="canary: judged side by side"),
    ],
)
def test_what_is_watched_after_the_cutover(
    strategy: Any, analysis_cfg: dict[str, Any], watch_seconds: int, record: str | None
) -> None:
    request = ExecutionInput.model_validate(
        {"functionName": "f", "targetVersion": "2", "strategy": strategy, "analysis": analysis_cfg}
    )
    alias = deployment.AliasState(function_version="1", revision_id="r0")
    planned = deployment.planned("d", request, alias)
    assert planned.plan.post_promotion_bake_seconds == watch_seconds
    if planned.plan.steps:
        return
    promoted = deployment.promoted(deployment.published(planned, "2"), "r1")
    assert promoted.action == (Action.BAKE if watch_seconds else Action.FINISH)
    reasons = [s.reason for s in promoted.steps if s.index == -1]
    assert reasons == ([record] if record else [None] if watch_seconds else [])
