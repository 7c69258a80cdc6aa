"""CloudWatch alarm evaluation for the sandbox: moto stores alarms but never changes their state.

Once per simulated minute (`on_clock`, a clock listener) every metric alarm is read through the
public API (DescribeAlarms), its datapoints are computed from the MetricStore (any namespace the
store holds; AWS/Lambda is what Lambda emits), the state is decided the way CloudWatch does
(alarm_rules.py) and, only when it changes, written back with SetAlarmState (public API).

Windows: an evaluation at minute boundary T reads the N + 2 periods ending at T
([T - k*Period, T - (k-1)*Period) for k = N+2 .. 1), with the store's publish delay, so the newest
period is usually not published yet and the range reaches further back, as in CloudWatch.

Not emulated (left as they are): metric-math alarms (`Metrics`), anomaly-band comparisons,
composite alarms, EvaluateLowSampleCountPercentile=ignore (always evaluated), alarm actions.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from . import statistics as st
from .alarm_rules import COMPARISONS, EXTRA_PERIODS, Decision, Point, decide
from .metrics import MetricStore

log = logging.getLogger(__name__)
MOTO_INITIAL_REASON = "Unchecked: Initial alarm creation"


@dataclass(frozen=True, slots=True)
class StateChange:
    alarm_name: str
    old_state: str
    new_state: str
    reason: str
    timestamp: datetime


class AlarmEvaluator:
    def __init__(self, store: MetricStore, cloudwatch_client: Any) -> None:
        self.store = store
        self.client = cloudwatch_client
        self.changes: list[StateChange] = []  # every change made, for reporting

    def on_clock(self, t_from: datetime, t_to: datetime) -> None:
        """Clock listener: evaluate at each minute boundary in (t_from, t_to]."""
        boundary = _floor_minute(t_to)
        pending = []
        while boundary > t_from:
            pending.append(boundary)
            boundary -= timedelta(minutes=1)
        for b in reversed(pending):
            self.evaluate(b)

    def evaluate(self, now: datetime) -> list[StateChange]:
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
        changes = []
        for alarm in self._alarms():
            change = self._evaluate_one(alarm, now)
            if change is not None:
                changes.append(change)
        self.changes.extend(changes)
        return changes

    def _alarms(self) -> list[dict[str, Any]]:
        alarms: list[dict[str, Any]] = []
        for page in self.client.get_paginator("describe_alarms").paginate(
            AlarmTypes=["MetricAlarm"]
        ):
            alarms.extend(page.get("MetricAlarms", []))
        return alarms

    def _evaluate_one(self, alarm: dict[str, Any], now: datetime) -> StateChange | None:
        name = alarm["AlarmName"]
        if alarm.get("Metrics") or alarm.get("ComparisonOperator") not in COMPARISONS:
            log.debug("alarm %s: metric math / anomaly band alarms are not evaluated", name)
            return None
        stat_text = alarm.get("ExtendedStatistic") or alarm.get("Statistic")
        try:
            stat = st.parse_stat(stat_text or "")
        except ValueError:
            log.warning("alarm %s: statistic %r not supported, not evaluated", name, stat_text)
            return None
        period = int(alarm["Period"])
        n = int(alarm["EvaluationPeriods"])
        m = int(alarm.get("DatapointsToAlarm") or n)
        end = _floor_minute(now)
        points = []
        for k in range(n + EXTRA_PERIODS, 0, -1):
            t0 = end - timedelta(seconds=k * period)
            summary = self.store.summary(
                alarm.get("Namespace", ""),
                alarm["MetricName"],
                alarm.get("Dimensions", []),
                t0.timestamp(),
                t0.timestamp() + period,
                unit=alarm.get("Unit"),
                as_of=now,
            )
            points.append(Point(t0, st.compute(stat, summary) if summary else None))
        decision = decide(
            points,
            evaluation_periods=n,
            datapoints_to_alarm=m,
            treat_missing=alarm.get("TreatMissingData") or "missing",
            comparison=alarm["ComparisonOperator"],
            threshold=float(alarm["Threshold"]),
        )
        # moto starts an alarm in OK; CloudWatch starts it in INSUFFICIENT_DATA
        stored = alarm.get("StateValue", "INSUFFICIENT_DATA")
        initial = alarm.get("StateReason", "").startswith(MOTO_INITIAL_REASON)
        old = "INSUFFICIENT_DATA" if initial else stored
        new = decision.state or old
        if new == stored and (not initial or new == "INSUFFICIENT_DATA"):
            return None
        reason = decision.reason if decision.state else MOTO_INITIAL_REASON
        self.client.set_alarm_state(
            AlarmName=name,
            StateValue=new,
            StateReason=reason[:1023],
            StateReasonData=json.dumps(_reason_data(alarm, stat_text or "", points, decision, now)),
        )
        if new == old:
            return None
        return StateChange(name, old, new, reason, now)


def _floor_minute(t: datetime) -> datetime:
    t = t if t.tzinfo else t.replace(tzinfo=UTC)
    return t.replace(second=0, microsecond=0)


def _reason_data(
    alarm: dict[str, Any], stat: str, points: list[Point], decision: Decision, now: datetime
) -> dict[str, Any]:
    return {
        "version": "1.0",
        "queryDate": now.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "startDate": points[0].timestamp.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "statistic": stat,
        "period": int(alarm["Period"]),
        "recentDatapoints": [p.value for p in points if p.value is not None],
        "threshold": float(alarm["Threshold"]),
        "evaluatedDatapoints": [
            {"timestamp": p.timestamp.strftime("%Y-%m-%dT%H:%M:%S.000+0000"), "value": p.value}
            for p in reversed(decision.evaluated)
        ],
    }
