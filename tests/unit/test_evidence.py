"""evidence: the document passed between states stays small whatever the plan and the number of
ticks (the ticks go to the evidence store), and what the analysis reads back of it still works."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from coalmine import alarm_gate, analysis, arrival, deployment, evidence, strategies
from coalmine.models import (
    Action,
    AnalysisConfig,
    Deployment,
    GateResult,
    Plan,
    Step,
    Verdict,
)

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def _gate(name: str, verdict: Verdict = Verdict.PASS) -> GateResult:
    """A gate result with evidence the size of a real one (e-value, counts, rates, thresholds)."""
    numbers = {f"{k}": 12345.678901 for k in ("eValue", "rejectAt", "newRate", "oldRate")}
    counts = {f"{k}": 123456 for k in ("newInvocations", "oldInvocations", "newErrors")}
    return GateResult(
        gate=name,
        verdict=verdict,
        reason=f"{name}: e-value 1.23 < 1/alpha 111 over 12 minutes (no regression proven yet)",
        evidence={**numbers, **counts, "ladderMs": [20, 50, 100, 200, 500, 1000, 2000]},
    )


GATES = [_gate(n) for n in ("errors", "latency", "latency-limit", "error-rate-limit", "throttles")]
GATES.append(_gate("alarms"))


def _published(plan: Plan | str, interval: int) -> Deployment:
    plan = strategies.resolve(plan) if isinstance(plan, str) else plan
    cfg = AnalysisConfig(interval_seconds=interval, alarms=["brand-api-prod-errors"])
    d = deployment.prepared("d-1", "brand-api", "prod", "1", "rev-0", plan, cfg, "2", None)
    return deployment.published(d, "2")


def _drive(d: Deployment, gates: list[GateResult] = GATES) -> tuple[Deployment, int, int, int]:
    """Run every step of the plan to promotion, a tick at a time, the new ticks offloaded after
    each state: (the last document, its largest size along the way, the number of ticks, the
    bytes of evidence offloaded)."""
    now, largest, ticks, offloaded = T0, 0, 0, 0
    while d.action in {Action.SHIFT, Action.BAKE}:
        if d.action == Action.SHIFT:
            d = deployment.shifted(d, "rev")
        else:
            now += timedelta(seconds=d.bake.wait_seconds)
            d = analysis.ticked(d, gates, new_invocations=500, now=now)
            ticks += 1
        offloaded += sum(len(json.dumps(t.body)) for t in evidence.pending(d))
        d = evidence.compacted(d, location="s3://b/reports/x/", written=True)
        largest = max(largest, evidence.size_bytes(d))
    return d, largest, ticks, offloaded


@pytest.mark.parametrize(
    ("plan", "interval"),
    [
        ("Linear10PercentEvery10Minutes", 10),  # the plan: 9 steps, 540 ticks
        ("Linear1PercentEvery1Minute", 10),  # the most steps a strategy makes: 99
        (
            Plan(
                strategy="steps", steps=[Step(weight=i / 51, bake_seconds=60) for i in range(1, 51)]
            ),
            10,
        ),
    ],
    ids=["linear-10x10min", "linear-99x1min", "steps-50"],
)
def test_the_document_stays_under_32_kib_however_many_ticks(
    plan: Plan | str, interval: int
) -> None:
    # Given a long plan judged every 10 s, every gate on, each tick's evidence ~1 KB
    # When it runs to promotion, its new ticks offloaded after every state
    d, largest, ticks, offloaded = _drive(_published(plan, interval))
    # Then the document never exceeds 32 KiB, and its summaries count every tick
    assert d.action == Action.PROMOTE
    assert largest <= evidence.TARGET_BYTES, f"{largest} bytes after {ticks} ticks"
    assert sum(s.tick_count for s in d.steps) == ticks
    assert d.evidence is not None
    assert d.evidence.ticks_written == ticks
    assert all(s.verdict_counts == {"PASS": s.tick_count} for s in d.steps)
    if plan == "Linear10PercentEvery10Minutes":  # the defect: kept in the document, the
        assert ticks == 540  # evidence alone would pass Step Functions' 256 KiB
        assert offloaded > evidence.STATE_LIMIT_BYTES


def _baking(ticks: list[list[GateResult]], step_bake: int = 600) -> Deployment:
    plan = Plan(strategy="steps", steps=[Step(weight=0.1, bake_seconds=step_bake)])
    d = deployment.shifted(_published(plan, 10), "rev")
    now = T0
    for gates in ticks:
        now += timedelta(seconds=10)
        d = analysis.ticked(d, gates, new_invocations=50, now=now)
    return d


def test_pending_ticks_are_numbered_and_keyed_by_step_then_counted_once() -> None:
    d = _baking([GATES, GATES])
    pending = evidence.pending(d)
    assert [t.key for t in pending] == [
        "reports/brand-api/prod/d-1/step-01/tick-00000.json",
        "reports/brand-api/prod/d-1/step-01/tick-00001.json",
    ]
    assert [t.body["seq"] for t in pending] == [0, 1]
    assert pending[1].body["elapsedSeconds"] == 20
    assert pending[1].body["step"] == 0
    once = evidence.compacted(d, location="s3://b/p/", written=True)
    assert evidence.pending(once) == []
    assert evidence.compacted(once, location=None, written=True) == once  # idempotent
    assert once.steps[0].tick_count == 2
    assert [t.seq for t in once.steps[0].ticks] == [0, 1]
    assert once.evidence is not None
    assert once.evidence.location == "s3://b/p/"


def test_a_failed_write_counts_the_ticks_lost_and_still_bounds_the_document() -> None:
    d = _baking([GATES] * 5)
    lost = evidence.compacted(d, location=None, written=False)
    assert lost.evidence is not None
    assert (lost.evidence.ticks_written, lost.evidence.ticks_lost) == (0, 5)
    assert len(lost.steps[0].ticks) == evidence.KEEP_TICKS
    assert lost.steps[0].tick_count == 5


def test_a_finished_step_keeps_its_summary_and_the_running_one_its_latest_ticks() -> None:
    bad = [GATES[0], _gate("latency", Verdict.INCONCLUSIVE)]
    d = _published("Linear10PercentEvery1Minute", 10)
    d = deployment.shifted(d, "rev")
    now = T0
    for gates in [bad] + [GATES] * 5 + [GATES] * 2:
        if d.action == Action.SHIFT:
            d = deployment.shifted(d, "rev")
        now += timedelta(seconds=10)
        d = evidence.compacted(
            analysis.ticked(d, gates, new_invocations=50, now=now), location=None, written=True
        )
    first, running = d.steps
    assert first.ticks == []
    assert first.tick_count == 6
    assert first.verdict == Verdict.PASS
    assert first.verdict_counts == {"INCONCLUSIVE": 1, "PASS": 5}
    assert first.worst_gate is not None
    assert (first.worst_gate.gate, first.worst_gate.verdict) == ("latency", Verdict.INCONCLUSIVE)
    assert first.worst_gate.elapsed_seconds == 10
    assert first.started_at == T0
    assert running.tick_count == 2
    assert [t.seq for t in running.ticks] == [0, 1]


def test_the_analysis_reads_the_same_from_a_compacted_document() -> None:
    # The alarms gate's "since when" and the unread-tick count survive the offloading
    unread = [arrival.unread_gate(_baking([]), "throttled")]
    full = _baking([GATES] * 4 + [unread] * 2)
    compact = evidence.compacted(full, location=None, written=True)
    now = T0 + timedelta(hours=1)
    assert alarm_gate.analysis_started(compact, now) == alarm_gate.analysis_started(full, now)
    assert alarm_gate.analysis_started(compact, now) == T0
    assert arrival.unread_in_a_row(compact) == arrival.unread_in_a_row(full) == 2


def test_the_document_stays_under_32_kib_with_the_most_business_metrics() -> None:
    # Given the longest explicit plan, every gate on plus the most business metrics allowed,
    # their definitions as large as Prepare accepts (just under MAX_DEFINITIONS_BYTES)
    from coalmine.business_metrics import MAX_DEFINITIONS_BYTES, MAX_METRICS, BusinessMetric

    pad = (MAX_DEFINITIONS_BYTES // MAX_METRICS) - 220
    metrics = [
        BusinessMetric.model_validate({
            "name": f"metric-{i}-" + "n" * 50, "namespace": "ns", "metricName": "BrandLookup",
            "dimensions": {"FunctionVersion": "{version}", "pad": "x" * pad},
            "kind": "failures-of",
        })
        for i in range(MAX_METRICS)
    ]  # fmt: skip
    plan = Plan(
        strategy="steps", steps=[Step(weight=i / 51, bake_seconds=60) for i in range(1, 51)]
    )
    d = _published(plan, 10)
    d.analysis = d.analysis.model_copy(update={"metrics": metrics})
    d, largest, ticks, _ = _drive(d, [*GATES, *(_gate(m.gate) for m in metrics)])
    # Then the document never exceeds 32 KiB
    assert len(json.dumps(d.analysis.to_json()["metrics"])) > MAX_DEFINITIONS_BYTES * 0.8
    assert d.action == Action.PROMOTE
    assert largest <= evidence.TARGET_BYTES, f"{largest} bytes after {ticks} ticks"
