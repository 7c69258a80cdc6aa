"""Pure: what one Analyze tick asks CloudWatch, and what the answer says.

``metric_request`` is the tick's single GetMetricData request (metric_queries.py): both versions'
counts since the step began (only the new version's after promotion, when the old one serves
nothing) and the alias's asynchronous queue -- all of it for a known async target, else only
``AsyncEventsReceived``, which tells an alias receiving async events that PublishVersion did not
know as one (no event invoke config: Lambda's defaults apply). ``judge_metrics`` turns the answer
into gate results: the version gates (gates.py) and, for an async target, the async gates
(async_gates.py), the false-rollback rate split between them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from coalmine import async_gates, deployment, gates, metric_queries
from coalmine.models import Deployment, GateResult, Outcome


def metric_request(current: Deployment) -> list[dict[str, Any]]:
    versions = {"n": str(current.to_version)}
    if current.outcome != Outcome.PROMOTED:  # after promotion the old version serves nothing
        versions["o"] = current.from_version
    queries = metric_queries.queries(current.function_name, current.alias, versions,
                                     current.analysis)  # fmt: skip
    known = current.async_target is not None
    return queries + metric_queries.async_queries(
        current.function_name, current.alias, target=known
    )


def judge_metrics(
    current: Deployment, results: Sequence[Mapping[str, Any]]
) -> tuple[Deployment, list[GateResult], float]:
    """(the deployment, with ``asyncTarget`` if this answer reveals one; the gate results; the
    new version's invocations in the step so far). A target found at this tick is judged by the
    async gates from the next tick on (this tick's request did not ask for its queue)."""
    periods = metric_queries.periods(results, current.analysis)
    queue = metric_queries.async_periods(results)
    known = current.async_target is not None
    if not known and any(p.received > 0 for p in queue):
        current = deployment.with_async_target(current, async_gates.target_from_config(None))
    version_cfg, dropped_alpha = async_gates.split_false_rollback_rate(current.analysis)
    judged = gates.evaluate(periods, version_cfg)
    if known and current.async_target is not None:
        judged += async_gates.evaluate(queue, current.analysis, current.async_target,
                                       dropped_alpha)  # fmt: skip
    return current, judged, sum(p.new.invocations for p in periods)
