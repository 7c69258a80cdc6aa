"""Pure: the deployment document stays small, whatever the plan and the number of ticks.

Step Functions holds a state's input and output, and an execution's input and output, to 256 KiB
(262,144 bytes of UTF-8; a larger one fails the state with ``States.DataLimitExceeded``: AWS
Step Functions developer guide, "Step Functions service quotas", quota "Maximum input or output
size for a task, state, or execution"; API reference: ``StateEnteredEventDetails.input`` and
``StateExitedEventDetails.output`` have a maximum length of 262144). Every tick used to add its
gates' evidence (0.6-1 KB) to ``steps[].ticks[]``, so a 10-step plan judged every 10 s outgrew
it. Now each tick goes to the evidence store (S3, ``reports/`` of the stack's ReportsBucket; the
adapter is adapters/reports_bucket.py) as it is made, and the document keeps a rolling summary
(``compacted``):

- every step record keeps its verdict, reason, ``tickCount``, ``verdictCounts`` (per tick
  verdict), ``worstGate`` (the first gate result of the most severe verdict any tick recorded)
  and ``startedAt`` (when its bake began);
- only the running (last) step keeps ticks: its latest ``KEEP_TICKS``, in full (the unread-tick
  rule, arrival.unread_in_a_row, looks at most that far back; a finished step's last tick always
  read its metrics);
- ``evidence`` says where the ticks are and how many were written or lost.

So the document grows by one step summary per step (about 300 bytes) and never per tick:
``TARGET_BYTES`` (32 KiB) holds for the longest plan a strategy can express (tests/unit/
test_evidence.py measures it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from coalmine import arrival
from coalmine.models import (
    Deployment,
    EvidenceRecord,
    GateResult,
    StepRecord,
    Tick,
    Verdict,
    WorstGate,
)

#: Step Functions' limit on a state's input/output and on the execution's input/output.
STATE_LIMIT_BYTES = 262_144
#: What coalmine keeps its document under, leaving room for ``$.error`` and the Catch's fields.
TARGET_BYTES = 32 * 1024
#: Ticks of the running step kept in full in the document.
KEEP_TICKS = arrival.MAX_UNREAD_TICKS
REPORTS_PREFIX = "reports/"
_REASON_CHARS = 240
_SEVERITY = {Verdict.PASS: 0, Verdict.INCONCLUSIVE: 1, Verdict.FAIL: 2}


@dataclass(frozen=True)
class TickEvidence:
    """One tick to write to the evidence store: its key (under the deployment's prefix) and body."""

    key: str
    body: dict[str, Any]


def prefix(d: Deployment) -> str:
    """``reports/<function>/<alias>/<deploymentId>/``: every object of one deployment."""
    return f"{REPORTS_PREFIX}{d.function_name}/{d.alias}/{d.deployment_id}/"


def step_label(index: int) -> str:
    """``step-01`` for the first step, ``post-promotion`` for the bake after promotion."""
    return "post-promotion" if index < 0 else f"step-{index + 1:02d}"


def tick_key(d: Deployment, step: StepRecord, seq: int) -> str:
    return f"{prefix(d)}{step_label(step.index)}/tick-{seq:05d}.json"


def pending(d: Deployment) -> list[TickEvidence]:
    """The ticks not written yet (``seq`` None), numbered as ``compacted`` will number them."""
    found = []
    for step in d.steps:
        seq = step.tick_count
        for tick in step.ticks:
            if tick.seq is None:
                body = {"step": step.index, "weight": step.weight, "seq": seq, **tick.to_json()}
                body["seq"] = seq
                found.append(TickEvidence(tick_key(d, step, seq), body))
                seq += 1
    return found


def compacted(d: Deployment, *, location: str | None, written: bool) -> Deployment:
    """``d`` with its new ticks counted into their steps' summaries and numbered, every tick but
    the running step's latest ``KEEP_TICKS`` dropped, and ``evidence`` updated: ``written`` says
    whether the new ticks reached the store at ``location`` (else they are counted lost).
    Idempotent: a document with no new tick and no extra tick comes back equal."""
    new = sum(1 for step in d.steps for tick in step.ticks if tick.seq is None)
    steps = [_summarised(step) for step in d.steps]
    if steps:
        steps = [s.model_copy(update={"ticks": []}) for s in steps[:-1]] + [
            steps[-1].model_copy(update={"ticks": steps[-1].ticks[-KEEP_TICKS:]})
        ]
    before = d.evidence or EvidenceRecord()
    evidence = before.model_copy(
        update={
            "location": location or before.location,
            "ticks_written": before.ticks_written + (new if written else 0),
            "ticks_lost": before.ticks_lost + (0 if written else new),
        }
    )
    return d.model_copy(update={"steps": steps, "evidence": evidence if d.steps else d.evidence})


def size_bytes(d: Deployment) -> int:
    """The document's size as Step Functions counts it (UTF-8 JSON)."""
    return len(json.dumps(d.to_json(), separators=(",", ":")).encode())


def _summarised(step: StepRecord) -> StepRecord:
    """Count and number the step's new ticks (``seq`` None) into its summary."""
    count = step.tick_count
    verdicts = dict(step.verdict_counts)
    worst_gate, started = step.worst_gate, step.started_at
    ticks: list[Tick] = []
    for tick in step.ticks:
        if tick.seq is None:
            verdicts[tick.verdict.value] = verdicts.get(tick.verdict.value, 0) + 1
            worst_gate = _worse(worst_gate, tick.gates, tick.elapsed_seconds)
            if started is None and tick.at is not None:
                started = tick.at - timedelta(seconds=tick.elapsed_seconds)
            tick = tick.model_copy(update={"seq": count})
            count += 1
        ticks.append(tick)
    return step.model_copy(
        update={
            "ticks": ticks,
            "tick_count": count,
            "verdict_counts": verdicts,
            "worst_gate": worst_gate,
            "started_at": started,
        }
    )


def _worse(
    current: WorstGate | None, gates: Sequence[GateResult], elapsed: int
) -> WorstGate | None:
    """The first gate result more severe than ``current`` (PASS never counts)."""
    for gate in gates:
        floor = _SEVERITY[current.verdict] if current else _SEVERITY[Verdict.PASS]
        if _SEVERITY[gate.verdict] > floor:
            current = WorstGate(
                gate=gate.gate,
                verdict=gate.verdict,
                reason=gate.reason[:_REASON_CHARS],
                elapsed_seconds=elapsed,
            )
    return current
