"""What every step handler does with the document it returns (observability.deployment_step
calls ``after_step``): its new ticks go to the evidence store and leave the document
(coalmine/evidence.py: the document passed between states stays small), and the deployment's
history item is updated when its phase changed (coalmine/history.py). Neither write can change
the outcome: both are best effort (adapters/best_effort.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from coalmine import evidence, history
from coalmine.adapters.history_table import HistoryTable
from coalmine.adapters.reports_bucket import ReportsBucket
from coalmine.lock import Lock
from coalmine.models import Deployment
from coalmine.observability import Step, deployment_step
from coalmine.recovery import HeldLocks

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def recorded_step(step: Step) -> Handler:
    """``deployment_step`` whose output is recorded (``after_step``)."""
    return deployment_step(step, after_step)


def recorded_ending(step: Step) -> Handler:
    """The same for ReleaseLock: the deployment has ended (its history item says so)."""
    return deployment_step(step, partial(after_step, ended=True))


def after_step(before: Deployment, after: Deployment, *, ended: bool = False) -> Deployment:
    """``after`` with its evidence offloaded; the history item updated on a phase change (and
    at the end, ``ended``: ReleaseLock, which passes the document on unchanged)."""
    if not ended:
        after = offloaded(after, ReportsBucket.from_env())
    table = HistoryTable.from_env()
    if table is not None and history.changed(before, after, ended=ended):
        table.update(after, datetime.now(UTC), ended=ended)
    return after


def offloaded(d: Deployment, bucket: ReportsBucket | None) -> Deployment:
    """The new ticks written to ``bucket`` (none: counted lost), the document compacted."""
    ticks = evidence.pending(d)
    if not ticks:
        return evidence.compacted(d, location=None, written=True)
    location = bucket.location(evidence.prefix(d)) if bucket is not None else None
    written = bucket is not None and bucket.put_ticks(ticks, d.function_name)
    return evidence.compacted(d, location=location, written=written)


def started(d: Deployment, request: Any) -> None:
    """Prepare's history item: the input as given, the plan."""
    table = HistoryTable.from_env()
    if table is not None:
        table.started(d, request, datetime.now(UTC))


class EndingLocks:
    """The lock table as Cleanup uses it (recovery.HeldLocks), recording the deployment's end in
    its history item when Cleanup releases its lock: a stop, a timeout or a crash ends an
    execution without ReleaseLock (``history.CLEANED_UP``)."""

    def __init__(self, locks: HeldLocks, status: str, table: HistoryTable | None = None) -> None:
        self.locks, self.status = locks, status
        self.table = table if table is not None else HistoryTable.from_env()
        self.deployment: Deployment | None = None

    def get(self, lock_id: str) -> Lock | None:
        return self._seen(self.locks.get(lock_id))

    def find(self, deployment_id: str) -> Lock | None:
        return self._seen(self.locks.find(deployment_id))

    def release(self, lock_id: str, deployment_id: str) -> bool:
        released = self.locks.release(lock_id, deployment_id)
        d = self.deployment
        if self.table is not None and d is not None and d.deployment_id == deployment_id:
            self.table.update(d, datetime.now(UTC), ended=True, status=self.status)
        return released

    def _seen(self, held: Lock | None) -> Lock | None:
        if held is not None and held.deployment is not None:
            self.deployment = held.deployment
        return held
