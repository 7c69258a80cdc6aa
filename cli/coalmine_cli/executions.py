"""`coalmine list` and `coalmine history`: deployments read back from Step Functions' executions
of the deployment state machine (ListExecutions + DescribeExecution; read-only), or, for
`history` given the DeploymentHistory table, from its items (coalmine/history.py: one Query)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from coalmine.execution_history import cause_message
from coalmine.execution_timeline import status_outcome


@dataclass(frozen=True)
class Row:
    """One deployment as its execution tells it."""

    name: str
    arn: str
    function: str
    alias: str
    strategy: str
    target: str  # the version asked for, or the code's S3 key
    status: str
    started: datetime
    stopped: datetime | None
    from_version: str | None = None
    to_version: str | None = None
    outcome: str | None = None
    reason: str | None = None
    started_by: str | None = None  # the history item's startedBy (coalmine/history.py)

    @property
    def seconds(self) -> float | None:
        return None if self.stopped is None else (self.stopped - self.started).total_seconds()

    def line(self) -> str:
        versions = (
            f"v{self.from_version} -> v{self.to_version}"
            if self.from_version and self.to_version
            else f"-> {self.target}"
        )
        took = "running" if self.seconds is None else f"{self.seconds:g} s"
        ended = "" if self.seconds is None else f"{self.outcome or self.status}  "
        text = (
            f"{self.started:%Y-%m-%d %H:%M:%S}  {self.function}:{self.alias}  {versions}  "
            f"{self.strategy}  {ended}{took}  {self.name}"
        )
        text += f"\n    {self.reason}" if self.reason else ""
        return text + (f"\n    started by {self.started_by}" if self.started_by else "")


def parse_target(spec: str) -> tuple[str, str | None]:
    """`FUNCTION[:ALIAS]` -> (function, alias or None)."""
    function, _, alias = spec.partition(":")
    if not function:
        raise ValueError(f"{spec!r}: expected FUNCTION[:ALIAS]")
    return function, alias or None


def parse_lock_target(spec: str) -> tuple[str, str | None]:
    """``parse_target``, or ``ACCOUNT:REGION:FUNCTION[:ALIAS]``: a function in another account
    (docs/cross-account.md) -> ("ACCOUNT:REGION:FUNCTION", alias or None), whose lock key
    (coalmine.lock.lock_id) is the target's."""
    parts = spec.split(":")
    if len(parts) >= 3 and len(parts[0]) == 12 and parts[0].isdigit():
        account, region, function, *rest = parts
        if not region or not function or len(rest) > 1:
            raise ValueError(f"{spec!r}: expected ACCOUNT:REGION:FUNCTION[:ALIAS]")
        return f"{account}:{region}:{function}", (rest[0] if rest else None) or None
    return parse_target(spec)


def _strategy(request: dict[str, Any]) -> str:
    strategy = request.get("strategy", "Canary10Percent5Minutes")
    return strategy if isinstance(strategy, str) else str(strategy.get("type", "custom"))


def row(description: dict[str, Any]) -> Row:
    try:
        request = json.loads(description.get("input") or "{}")
    except ValueError:
        request = {}
    request = request if isinstance(request, dict) else {}
    output: dict[str, Any] = {}
    if description.get("output"):
        try:
            loaded = json.loads(description["output"])
            output = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            output = {}
    code = request.get("code") or {}
    reason = output.get("reason") or cause_message(description.get("cause"))
    return Row(
        name=description.get("name", description["executionArn"].rsplit(":", 1)[-1]),
        arn=description["executionArn"],
        function=str(request.get("functionName", "?")),
        alias=str(request.get("alias", "prod")),
        strategy=_strategy(request),
        target=(
            f"v{request['targetVersion']}"
            if request.get("targetVersion")
            else str(code.get("s3Key", "?"))
        ),
        status=description["status"],
        started=description["startDate"],
        stopped=description.get("stopDate"),
        from_version=output.get("fromVersion"),
        to_version=output.get("toVersion"),
        outcome=output.get("outcome") or status_outcome(description),
        reason=reason,
    )


def _executions(sfn: Any, machine_arn: str, status: str | None) -> Iterator[dict[str, Any]]:
    kwargs: dict[str, Any] = {"stateMachineArn": machine_arn, "maxResults": 100}
    if status:
        kwargs["statusFilter"] = status
    while True:
        page = sfn.list_executions(**kwargs)
        yield from page["executions"]  # newest first
        if not page.get("nextToken"):
            return
        kwargs["nextToken"] = page["nextToken"]


def running(sfn: Any, machine_arn: str) -> list[Row]:
    return [
        row(sfn.describe_execution(executionArn=e["executionArn"]))
        for e in _executions(sfn, machine_arn, "RUNNING")
    ]


def history(
    sfn: Any, machine_arn: str, function: str, alias: str | None, limit: int, scan: int
) -> list[Row]:
    """The newest `limit` deployments of `function` (and `alias`), among the newest `scan`
    executions (each costs one DescribeExecution)."""
    found: list[Row] = []
    for index, execution in enumerate(_executions(sfn, machine_arn, None)):
        if index >= scan or len(found) >= limit:
            break
        candidate = row(sfn.describe_execution(executionArn=execution["executionArn"]))
        if candidate.function == function and (alias is None or candidate.alias == alias):
            found.append(candidate)
    return found


#: The history item's phases that end a deployment (coalmine/history.py).
ENDED_PHASES = frozenset({"PROMOTED", "ROLLED_BACK", "ABORTED", "STOPPED", "TIMED_OUT", "FAILED"})


def _text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    if not value:
        return None
    return str(value.get("S") or value.get("N") or "") or None


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def item_row(item: dict[str, Any]) -> Row:
    """One DeploymentHistory item (as DynamoDB's low-level API returns it) as a Row."""
    # (a member account's key is account:region:function:alias: the alias is after the last ":")
    function, _, alias = (_text(item, "deploymentKey") or "?:?").rpartition(":")
    phase = _text(item, "phase") or "?"
    ended = phase in ENDED_PHASES
    started = _time(_text(item, "startedAt"))
    assert started is not None  # the table's sort key
    try:
        request = json.loads(_text(item, "input") or "{}")
    except ValueError:
        request = {}
    request = request if isinstance(request, dict) else {}
    return Row(
        name=_text(item, "deploymentId") or "?",
        arn="",
        function=function,
        alias=alias,
        strategy=_text(item, "strategy") or _strategy(request),
        target=f"v{_text(item, 'toVersion')}" if _text(item, "toVersion") else "?",
        status=phase,
        started=started,
        stopped=_time(_text(item, "endedAt")) if ended else None,
        from_version=_text(item, "fromVersion"),
        to_version=_text(item, "toVersion"),
        outcome=phase if ended else None,
        reason=_text(item, "reason"),
        started_by=_text(item, "startedBy"),
    )


def table_history(
    dynamodb: Any, table: str, function: str, alias: str | None, limit: int
) -> list[Row]:
    """The newest ``limit`` deployments of ``function:alias`` (a Query, newest first), or of every
    alias of ``function`` (a Scan filtered on the key's prefix, then sorted)."""
    items: list[dict[str, Any]] = []
    if alias is not None:
        kwargs: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": "deploymentKey = :k",
            "ExpressionAttributeValues": {":k": {"S": f"{function}:{alias}"}},
            "ScanIndexForward": False,
        }
        while len(items) < limit:
            page = dynamodb.query(**kwargs)
            items.extend(page.get("Items", []))
            if not page.get("LastEvaluatedKey"):
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    else:
        kwargs = {
            "TableName": table,
            "FilterExpression": "begins_with(deploymentKey, :p)",
            "ExpressionAttributeValues": {":p": {"S": f"{function}:"}},
        }
        while True:
            page = dynamodb.scan(**kwargs)
            items.extend(page.get("Items", []))
            if not page.get("LastEvaluatedKey"):
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    rows = sorted(map(item_row, items), key=lambda r: r.started, reverse=True)
    return rows[:limit]
