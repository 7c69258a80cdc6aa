"""DynamoDB: the deployment locks table (one item per alias; coalmine/lock.py says what is in it).

Every write is conditional; a failed condition is an answer (False), not an error. Throttling
-> AwsThrottled (the state machine retries it); anything else propagates.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from coalmine import approvals
from coalmine.adapters.errors import error_code, throttling_translated
from coalmine.exceptions import AwsThrottled
from coalmine.lock import AwaitingApproval, Lock, deployment_lock_id
from coalmine.models import Action, Deployment, OperatorAction, Outcome
from coalmine.observability import count, logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE_ENV = "LOCK_TABLE_NAME"
_MINE = "deploymentId = :me"
_THROTTLED = "DynamoDB throttled a request on the lock table"
#: Back-off between attempts of a record made after the alias moved (the handlers' timeouts are
#: 60 s or more; botocore's own standard-mode retries come on top).
RECORD_RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0)


@cache
def default_client() -> DynamoDBClient:
    return boto3.client("dynamodb", config=Config(retries={"mode": "standard"}))


class LockTable:
    def __init__(self, table_name: str | None = None, client: DynamoDBClient | None = None) -> None:
        self.table = table_name or os.environ[TABLE_ENV]
        self.client = client if client is not None else default_client()

    def put_if_free(self, lock: Lock, now: int) -> bool:
        """Free = no item, or our own (a retry). An expired lock is never taken blindly: its
        holder is asked first (lock.acquire, then ``take_over``)."""
        return self._conditional(
            "put_item",
            Item=_item(lock),
            ConditionExpression=f"attribute_not_exists(lockId) OR {_MINE}",
            ExpressionAttributeValues={":me": _s(lock.deployment_id)},
        )

    def take_over(self, lock: Lock, holder_deployment_id: str) -> bool:
        """Replace a dead holder's lock, only if that holder still has it."""
        return self._conditional(
            "put_item",
            Item=_item(lock),
            ConditionExpression="deploymentId = :holder",
            ExpressionAttributeValues={":holder": _s(holder_deployment_id)},
        )

    def get(self, lock_id: str) -> Lock | None:
        with throttling_translated(_THROTTLED):
            item = self.client.get_item(
                TableName=self.table, Key={"lockId": _s(lock_id)}, ConsistentRead=True
            ).get("Item")
        return _lock(item) if item else None

    def find(self, deployment_id: str) -> Lock | None:
        """The lock a deployment holds, by its id (when its alias is not known): a Scan of a
        table with one small item per alias being deployed."""
        with throttling_translated(_THROTTLED):
            pages = self.client.get_paginator("scan").paginate(
                TableName=self.table,
                FilterExpression=_MINE,
                ExpressionAttributeValues={":me": _s(deployment_id)},
                ConsistentRead=True,
            )
            items = [item for page in pages for item in page.get("Items", [])]
        return _lock(items[0]) if items else None

    def record(self, deployment: Deployment) -> bool:
        """Save the Deployment document in the lock, if ``deployment`` still holds it."""
        return self._conditional(
            "update_item",
            Key={"lockId": _s(deployment_lock_id(deployment))},
            UpdateExpression="SET deployment = :doc",
            ConditionExpression=_MINE,
            ExpressionAttributeValues={
                ":doc": _s(json.dumps(deployment.to_json())),
                ":me": _s(deployment.deployment_id),
            },
        )

    def record_after_write(
        self, deployment: Deployment, sleep: Callable[[float], None] = time.sleep
    ) -> bool | None:
        """``record`` once the alias has moved (its new RevisionId, or the promotion): the alias is
        the truth, so a failed write is retried here (about 30 s) and never raised (a raise would
        send a deployment whose alias moved to Rollback): logged and counted (LockRecordFailed).
        None: it could not be written; False: the lock is no longer this deployment's."""
        for delay in (*RECORD_RETRY_DELAYS, None):
            try:
                return self.record(deployment)
            except (AwsThrottled, ClientError, BotoCoreError) as error:
                if delay is None:
                    logger.error(
                        "lock record failed after the alias moved", extra={"error": str(error)}
                    )
                    count("LockRecordFailed", deployment.function_name)
                    return None
                sleep(delay)
        return None

    def append_request(
        self, lock_id: str, deployment_id: str, request: OperatorAction
    ) -> Lock | None:
        """Append an operator's request to the lock, if ``deployment_id`` still holds it: the
        lock as written (a gate's newest token included), or None (the lock is free, or another
        deployment's: nothing written)."""
        return self._update_mine(
            lock_id,
            deployment_id,
            "SET requests = list_append(if_not_exists(requests, :none), :new)",
            {":none": {"L": []}, ":new": {"L": [_s(json.dumps(request.to_json()))]}},
        )

    def after_tick(self, before: Deployment, after: Deployment) -> None:
        """Analyze's writes: a watch that passed is recorded (a stop now changes nothing); a
        human gate entered is named in the lock at once (``coalmine approve`` accepts an answer
        before AwaitApproval has written its first token: that wait then wakes itself); one
        whose wait ended leaves the lock (``coalmine approve`` then refuses)."""
        if before.approval is None and after.approval is not None:
            step = approvals.waiting_step(after)
            gate = AwaitingApproval(token="", step=step, since=after.approval.requested_at)
            self.await_approval(after, gate)
        if before.approval is not None and after.approval is None:
            self.clear_approval(after)
        if after.outcome == Outcome.PROMOTED and after.action == Action.FINISH:
            self.record_after_write(after)

    def await_approval(self, deployment: Deployment, waiting: AwaitingApproval) -> Lock | None:
        """Record the human gate ``deployment`` waits at (its task token), if it still holds
        the lock; the lock as written (its requests: an answer may be there already), or None."""
        return self._update_mine(
            deployment_lock_id(deployment),
            deployment.deployment_id,
            "SET approval = :a",
            {":a": _s(json.dumps(_approval_json(waiting)))},
        )

    def clear_approval(self, deployment: Deployment) -> bool:
        """The wait is over: the lock no longer names a gate (``coalmine approve`` refuses)."""
        return self._conditional(
            "update_item",
            Key={"lockId": _s(deployment_lock_id(deployment))},
            UpdateExpression="REMOVE approval",
            ConditionExpression=_MINE,
            ExpressionAttributeValues={":me": _s(deployment.deployment_id)},
        )

    def release(self, lock_id: str, deployment_id: str) -> bool:
        """Delete the lock if ``deployment_id`` holds it (False: it was not, or no longer, held)."""
        return self._conditional(
            "delete_item",
            Key={"lockId": _s(lock_id)},
            ConditionExpression=_MINE,
            ExpressionAttributeValues={":me": _s(deployment_id)},
        )

    def _update_mine(
        self, lock_id: str, deployment_id: str, expression: str, values: dict[str, Any]
    ) -> Lock | None:
        """UpdateItem ``expression`` on the lock if ``deployment_id`` holds it: the lock as
        written, or None (free, or another deployment's: nothing written)."""
        try:
            with throttling_translated(_THROTTLED):
                item = self.client.update_item(
                    TableName=self.table,
                    Key={"lockId": _s(lock_id)},
                    UpdateExpression=expression,
                    ConditionExpression=_MINE,
                    ExpressionAttributeValues={**values, ":me": _s(deployment_id)},
                    ReturnValues="ALL_NEW",
                )["Attributes"]
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise
        return _lock(item)

    def _conditional(self, operation: str, **kwargs: Any) -> bool:
        try:
            with throttling_translated(_THROTTLED):
                getattr(self.client, operation)(TableName=self.table, **kwargs)
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _item(lock: Lock) -> dict[str, Any]:
    item = {
        "lockId": _s(lock.lock_id),
        "deploymentId": _s(lock.deployment_id),
        "executionArn": _s(lock.execution_arn),
        "startedAt": _n(lock.started_at),
        "expiresAt": _n(lock.expires_at),
    }
    if lock.deployment is not None:
        item["deployment"] = _s(json.dumps(lock.deployment.to_json()))
    return item


def _approval_json(waiting: AwaitingApproval) -> dict[str, str]:
    return {"token": waiting.token, "step": waiting.step, "since": waiting.since.isoformat()}


def _approval(item: dict[str, Any]) -> AwaitingApproval | None:
    raw = item.get("approval", {}).get("S")
    if not raw:
        return None
    value = json.loads(raw)
    return AwaitingApproval(
        token=value["token"], step=value["step"], since=datetime.fromisoformat(value["since"])
    )


def _lock(item: dict[str, Any]) -> Lock:
    document = item.get("deployment", {}).get("S")
    return Lock(
        lock_id=item["lockId"]["S"],
        deployment_id=item.get("deploymentId", {}).get("S", ""),
        execution_arn=item.get("executionArn", {}).get("S", ""),
        started_at=int(item.get("startedAt", {}).get("N", "0")),
        expires_at=int(item.get("expiresAt", {}).get("N", "0")),
        deployment=Deployment.model_validate(json.loads(document)) if document else None,
        requests=tuple(
            OperatorAction.model_validate(json.loads(r["S"]))
            for r in item.get("requests", {}).get("L", [])
        ),
        approval=_approval(item),
    )
