"""CloudWatch alarm evaluation for the sandbox: moto stores alarms but never changes their state.

Once per simulated minute (`on_clock`, a clock listener) every metric alarm is read through the
public API (DescribeAlarms), its datapoints are computed from the MetricStore (any namespace the
store holds; AWS/Lambda is what Lambda emits), the state is decided the way CloudWatch does
(alarm_rules.py) and, only when it changes, written back with SetAlarmState (public API).

Windows: an evaluation at minute boundary T reads the N + 2 periods ending at T
([T - k*Period, T - (k-1)*Period) for k = N+2 .. 1), with the store's publish delay, so the newest
period is usually not published yet and the range reaches further back, as in CloudWatch.

Metric-math alarms (`Metrics`) are evaluated per period with metric_math.py (arithmetic,
comparisons, IF, FILL over MetricStat queries of one period). Not emulated (left as they are):
metric math over whole series (RATE, SEARCH, ...), anomaly-band comparisons, composite alarms,
EvaluateLowSampleCountPercentile=ignore (always evaluated).

Alarm actions: on a state change the alarm's SNS actions are published CloudWatch's notification,
delivered only if the topic's KMS key lets cloudwatch.amazonaws.com use it (alarm_actions.py;
undelivered ones in `notifier.undelivered`); other action kinds are not emulated. Before each
evaluation, AWS/SQS ApproximateNumberOfMessagesVisible of every queue an alarm watches is
sampled (sqs_metrics.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from . import metric_math as mm
from . import statistics as st
from .alarm_actions import AlarmNotifier
from .alarm_rules import COMPARISONS, EXTRA_PERIODS, Decision, Point, decide
from .metrics import MetricStore
from .sqs_metrics import SqsMetricSampler, watched_queues

log = logging.getLogger(__name__)
ValueAt = Callable[[float, float], float | None]  # a period [t0, t1) -> its datapoint
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
        region = cloudwatch_client.meta.region_name
        self.notifier = AlarmNotifier(
            boto3.client("sns", region_name=region), boto3.client("kms", region_name=region)
        )
        self.sqs_metrics = SqsMetricSampler(store, boto3.client("sqs", region_name=region))

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
        alarms = self._alarms()
        self.sqs_metrics.sample(now, watched_queues(alarms))
        for alarm in alarms:
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
        if alarm.get("ComparisonOperator") not in COMPARISONS:
            log.debug("alarm %s: anomaly band alarms are not evaluated", name)
            return None
        try:
            period, stat_text, value_at = (
                self._math_series(alarm, now) if alarm.get("Metrics") else self._series(alarm, now)
            )
        except (ValueError, mm.Unsupported) as error:
            log.warning("alarm %s is not evaluated: %s", name, error)
            return None
        n = int(alarm["EvaluationPeriods"])
        m = int(alarm.get("DatapointsToAlarm") or n)
        end = _floor_minute(now)
        points = []
        for k in range(n + EXTRA_PERIODS, 0, -1):
            t0 = end - timedelta(seconds=k * period)
            points.append(Point(t0, value_at(t0.timestamp(), t0.timestamp() + period)))
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
            StateReasonData=json.dumps(
                _reason_data(alarm, stat_text, period, points, decision, now)
            ),
        )
        if new == old:
            return None
        self.notifier.on_change(alarm, old, new, reason, now)
        return StateChange(name, old, new, reason, now)

    def _series(self, alarm: dict[str, Any], now: datetime) -> tuple[int, str, ValueAt]:
        """A single-metric alarm: its statistic over each period."""
        stat_text = alarm.get("ExtendedStatistic") or alarm.get("Statistic") or ""
        stat = st.parse_stat(stat_text)
        return int(alarm["Period"]), stat_text, self._stat_reader(alarm, stat, now)

    def _math_series(self, alarm: dict[str, Any], now: datetime) -> tuple[int, str, ValueAt]:
        """A metric-math alarm: its ReturnData expression over the MetricStat queries."""
        queries = alarm["Metrics"]
        returned = [q for q in queries if q.get("ReturnData", True)]
        if len(returned) != 1 or "Expression" not in returned[0]:
            raise mm.Unsupported("exactly one expression must return data")
        readers: dict[str, ValueAt] = {}
        periods: set[int] = set()
        for query in queries:
            if "MetricStat" not in query:
                continue
            metric_stat = query["MetricStat"]
            metric = metric_stat["Metric"]
            periods.add(int(metric_stat["Period"]))
            readers[query["Id"]] = self._stat_reader(
                {**metric, "Unit": metric_stat.get("Unit")}, st.parse_stat(metric_stat["Stat"]), now
            )
        if len(periods) != 1:
            raise mm.Unsupported("the MetricStat queries must share one period")
        others = [q for q in queries if "Expression" in q and q is not returned[0]]
        if others:
            raise mm.Unsupported("expressions over expressions are not emulated")
        node = mm.parse(returned[0]["Expression"], frozenset(readers))

        def value_at(t0: float, t1: float) -> float | None:
            return node({query_id: read(t0, t1) for query_id, read in readers.items()})

        return periods.pop(), "", value_at

    def _stat_reader(self, metric: dict[str, Any], stat: st.Stat, now: datetime) -> ValueAt:
        def read(t0: float, t1: float) -> float | None:
            summary = self.store.summary(
                metric.get("Namespace", ""),
                metric["MetricName"],
                metric.get("Dimensions", []),
                t0,
                t1,
                unit=metric.get("Unit"),
                as_of=now,
            )
            return st.compute(stat, summary) if summary else None

        return read


def _floor_minute(t: datetime) -> datetime:
    t = t if t.tzinfo else t.replace(tzinfo=UTC)
    return t.replace(second=0, microsecond=0)


def _reason_data(
    alarm: dict[str, Any],
    stat: str,
    period: int,
    points: list[Point],
    decision: Decision,
    now: datetime,
) -> dict[str, Any]:
    return {
        "version": "1.0",
        "queryDate": now.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "startDate": points[0].timestamp.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        **({"statistic": stat} if stat else {}),
        "period": period,
        "recentDatapoints": [p.value for p in points if p.value is not None],
        "threshold": float(alarm["Threshold"]),
        "evaluatedDatapoints": [
            {"timestamp": p.timestamp.strftime("%Y-%m-%dT%H:%M:%S.000+0000"), "value": p.value}
            for p in reversed(decision.evaluated)
        ],
    }
