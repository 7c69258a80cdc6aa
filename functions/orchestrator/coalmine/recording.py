"""What every step handler does with the document it returns (observability.deployment_step
calls ``after_step``): its new ticks go to the evidence store and leave the document
(coalmine/evidence.py: the document passed between states stays small), the deployment's
history item is updated when its phase changed (coalmine/history.py), its lifecycle events go to
EventBridge (coalmine/lifecycle_events.py) and, at its end, its metrics are emitted
(coalmine/outcome_metrics.py). No write can change the outcome: each is best effort
(adapters/best_effort.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from coalmine import deployment, evidence, history, lifecycle_events, outcome_metrics
from coalmine.adapters.event_bus import EventBus
from coalmine.adapters.history_table import HistoryTable
from coalmine.adapters.reports_bucket import ReportsBucket
from coalmine.lock import Lock
from coalmine.models import Deployment
from coalmine.observability import Step, deployment_ended, deployment_step
from coalmine.recovery import HeldLocks

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def recorded_step(step: Step) -> Handler:
    """``deployment_step`` whose output is recorded (``after_step``)."""
    return deployment_step(step, after_step)


def recorded_ending(step: Step) -> Handler:
    """The same for ReleaseLock: the deployment has ended (its history item says so)."""
    return deployment_step(step, partial(after_step, ended=True))


def after_step(before: Deployment, after: Deployment, *, ended: bool = False) -> Deployment:
    """``after`` with its evidence offloaded and its decision's time; the history item updated
    on a phase change (and at the end, ``ended``: ReleaseLock, which passes the document on
    unchanged); its lifecycle events put; at the end, its metrics."""
    now = datetime.now(UTC)
    if not ended:
        after = offloaded(deployment.decided(before, after, now), ReportsBucket.from_env())
    table = HistoryTable.from_env()
    if table is not None and history.changed(before, after, ended=ended):
        table.update(after, now, ended=ended)
    kinds = lifecycle_events.after_step(before, after, ended=ended)
    announce(after, kinds, now)
    if ended:
        deployment_ended(after, kinds[0], outcome_metrics.values(after, kinds[0], now))
    return after


def announce(
    d: Deployment,
    kinds: list[str],
    now: datetime,
    *,
    execution_arn: str | None = None,
    status: str | None = None,
) -> None:
    """The lifecycle events ``kinds`` of ``d`` put on the bus (best effort)."""
    bus = EventBus.from_env()
    if bus is None or not kinds:
        return
    report = d.evidence.location if d.evidence else None
    entries = [
        lifecycle_events.entry(
            kind,
            lifecycle_events.detail(
                d, kind, now, execution_arn=execution_arn, report=report, status=status
            ),
            now,
        )
        for kind in kinds
    ]
    bus.put(entries, d.function_name)


def offloaded(d: Deployment, bucket: ReportsBucket | None) -> Deployment:
    """The new ticks written to ``bucket`` (none: counted lost), the document compacted."""
    ticks = evidence.pending(d)
    if not ticks:
        return evidence.compacted(d, location=None, written=True)
    location = bucket.location(evidence.prefix(d)) if bucket is not None else None
    written = bucket is not None and bucket.put_ticks(ticks, d.function_name)
    return evidence.compacted(d, location=location, written=written)


def started(d: Deployment, request: Any, execution_arn: str | None = None) -> Deployment:
    """Prepare's history item (the input as given, the plan) and ``Deployment Started``; the
    document, which now names its execution."""
    d = d.model_copy(update={"execution_arn": execution_arn or d.execution_arn})
    now = datetime.now(UTC)
    table = HistoryTable.from_env()
    if table is not None:
        table.started(d, request, now)
    announce(d, [lifecycle_events.STARTED], now)
    return d


class EndingLocks:
    """The lock table as Cleanup uses it (recovery.HeldLocks), recording the deployment's end when
    Cleanup releases its lock (a stop, a timeout or a crash ends an execution without
    ReleaseLock): in its history item (``history.CLEANED_UP``), as a lifecycle event
    (``Deployment Stopped`` or ``Failed``) and its metrics."""

    def __init__(self, locks: HeldLocks, status: str, table: HistoryTable | None = None) -> None:
        self.locks, self.status = locks, status
        self.table = table if table is not None else HistoryTable.from_env()
        self.deployment: Deployment | None = None
        self.execution_arn: str | None = None

    def get(self, lock_id: str) -> Lock | None:
        return self._seen(self.locks.get(lock_id))

    def find(self, deployment_id: str) -> Lock | None:
        return self._seen(self.locks.find(deployment_id))

    def release(self, lock_id: str, deployment_id: str) -> bool:
        released = self.locks.release(lock_id, deployment_id)
        d, now = self.deployment, datetime.now(UTC)
        if d is None or d.deployment_id != deployment_id:
            return released
        if self.table is not None:
            self.table.update(d, now, ended=True, status=self.status)
        kind = lifecycle_events.cleaned_up(self.status)
        if kind is not None:
            arn = self.execution_arn
            announce(d, [kind], now, execution_arn=arn, status=self.status)
            deployment_ended(d, kind, outcome_metrics.values(d, kind, now))
        return released

    def _seen(self, held: Lock | None) -> Lock | None:
        if held is not None and held.deployment is not None:
            self.deployment = held.deployment
            self.execution_arn = held.execution_arn or held.deployment.execution_arn
        return held
