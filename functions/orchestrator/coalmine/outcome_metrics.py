"""Pure: the metrics of one deployment at its end (EMF, namespace "coalmine", dimensions
``DeployedFunction`` and ``Alias``; observability.deployment_ended emits them, template.yaml's
DeploymentsDashboard draws them).

    DeploymentDuration  seconds from the execution's start to the end
    DecisionTime        seconds from the start to the decision (``Deployment.decided_at``: the
                        step that chose promotion, the watch's last tick, or the rollback)
    AnalysisTicks       analysis ticks over every step
    Deployment<Ending>  1 for the ending: DeploymentPromoted, DeploymentRolledBack,
                        DeploymentAborted, DeploymentStopped, DeploymentFailed
"""

from __future__ import annotations

from datetime import UTC, datetime

from coalmine.models import Deployment

DURATION = "DeploymentDuration"
DECISION_TIME = "DecisionTime"
TICKS = "AnalysisTicks"
#: the ending (lifecycle_events' detail-type) -> its count metric
ENDINGS = {
    "Deployment Promoted": "DeploymentPromoted",
    "Deployment Rolled Back": "DeploymentRolledBack",
    "Deployment Aborted": "DeploymentAborted",
    "Deployment Stopped": "DeploymentStopped",
    "Deployment Failed": "DeploymentFailed",
}
SECONDS = (DURATION, DECISION_TIME)
#: every metric name this module gives (the dashboard names only these)
NAMES = (DURATION, DECISION_TIME, TICKS, *ENDINGS.values())


def values(d: Deployment, ending: str, now: datetime) -> dict[str, float]:
    """The metrics of ``d`` ended by ``ending`` at ``now`` (seconds and counts)."""
    out: dict[str, float] = {ENDINGS[ending]: 1.0, TICKS: float(ticks(d))}
    if d.started_at is not None:
        start = _utc(d.started_at)
        out[DURATION] = round((_utc(now) - start).total_seconds(), 1)
        if d.decided_at is not None:
            out[DECISION_TIME] = round((_utc(d.decided_at) - start).total_seconds(), 1)
    return out


def ticks(d: Deployment) -> int:
    return sum(max(step.tick_count, len(step.ticks)) for step in d.steps)


def _utc(t: datetime) -> datetime:
    return t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)
