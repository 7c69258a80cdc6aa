"""DynamoDB: the ``DeploymentHistory`` table (coalmine/history.py says what an item holds).

Prepare puts the item; every later write is an UpdateItem that sets the fields and appends to
``phases``. Every write is best effort (adapters/best_effort.py): retried, then logged and
counted ``HistoryWriteFailed``, never raised.
"""

from __future__ import annotations

import os
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from coalmine import history
from coalmine.adapters.best_effort import best_effort
from coalmine.models import Deployment

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE_ENV = "HISTORY_TABLE_NAME"
RETENTION_ENV = "HISTORY_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 90


@cache
def default_client() -> DynamoDBClient:
    return boto3.client("dynamodb", config=Config(retries={"mode": "standard"}))


class HistoryTable:
    def __init__(
        self,
        table_name: str,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        client: DynamoDBClient | None = None,
    ) -> None:
        self.table = table_name
        self.retention_days = retention_days
        self.client = client if client is not None else default_client()

    @classmethod
    def from_env(cls) -> HistoryTable | None:
        """None where the stack gives no table (a handler run outside the stack)."""
        table = os.environ.get(TABLE_ENV)
        days = int(os.environ.get(RETENTION_ENV) or DEFAULT_RETENTION_DAYS)
        return cls(table, days) if table else None

    def started(self, d: Deployment, request: Any, now: datetime) -> bool:
        item = history.started_item(d, request, now, self.retention_days)
        marshalled = {k: _value(v) for k, v in item.items() if v is not None}
        return best_effort(
            lambda: self.client.put_item(TableName=self.table, Item=marshalled),
            "HistoryWriteFailed",
            d.function_name,
        )

    def update(
        self, d: Deployment, now: datetime, *, ended: bool = False, status: str | None = None
    ) -> bool:
        fields = history.fields(d, now, ended=ended, status=status)
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        sets = [f"#f{i} = :v{i}" for i, v in enumerate(fields.values()) if v is not None]
        removes = [f"#f{i}" for i, v in enumerate(fields.values()) if v is None]
        values = {f":v{i}": _value(v) for i, v in enumerate(fields.values()) if v is not None}
        values[":entry"] = _value([history.entry(d, now, ended=ended, status=status)])
        values[":none"] = {"L": []}
        sets.append("phases = list_append(if_not_exists(phases, :none), :entry)")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        return best_effort(
            lambda: self.client.update_item(
                TableName=self.table,
                Key={k: {"S": v} for k, v in history.key(d).items()},
                UpdateExpression=expression,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            ),
            "HistoryWriteFailed",
            d.function_name,
        )


def _value(value: Any) -> dict[str, Any]:
    """A plain value as a DynamoDB attribute value (str, number, bool, list, dict)."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": repr(value) if isinstance(value, float) else str(value)}
    if isinstance(value, list):
        return {"L": [_value(v) for v in value]}
    if isinstance(value, dict):
        return {"M": {k: _value(v) for k, v in value.items() if v is not None}}
    return {"S": str(value)}
