"""One deployment per alias: the lock, its record, and the decisions about it (no boto3 here).

The lock is one item per alias in ``DeploymentLocksTable`` (adapters/locks_table.py):

    lockId        "brand-api:prod"                  (function:alias, the table's key); a
                  function in another account or region (a deployment's ``target``):
                  "222222222222:eu-west-1:brand-api:prod" (account:region:function:alias)
    deploymentId  the holder's execution name       executionArn  its ARN (for DescribeExecution)
    startedAt     epoch seconds                     expiresAt     epoch seconds (the table's TTL)
    deployment    the Deployment document as last recorded (Prepare, PublishVersion, Promote):
                  what Cleanup needs to put the alias back after a stop, a timeout or a crash
    requests      operators' requests (abort, ...), each a JSON OperatorAction, appended while
                  the holder holds the lock; Analyze acts on them (coalmine/operator_actions.py)
    approval      while the holder waits at a human gate (coalmine/approvals.py): JSON
                  {token, step, since}: AwaitApproval's task token (``coalmine approve`` sends
                  it), the gated step's name, when the gate was entered; removed by Analyze
                  when the wait ends

Prepare acquires it (a conditional PutItem that succeeds only when no item exists, or the item
is its own) before it judges the alias's weights; the ``ReleaseLock`` state frees it on every
ending the state machine runs (promoted, rolled back, aborted), ``Cleanup`` on the endings it
cannot run (stopped, timed out, failed). An existing lock is taken over only once its holder has
ended (DescribeExecution; a RUNNING or PENDING_REDRIVE holder's never is, expired or not) AND
the alias is whole again: if the dead holder left its own routing on it, the new Prepare first
puts it back with Rollback's code (``MakeWhole``) and records that it did. When the holder's
status cannot be read, only an expired lock is taken, and a lock expires only after the state
machine's whole TimeoutSeconds (no execution outlives it: extensions, approvals and pauses
included) plus a margin. A refused Prepare never deletes a lock it did not create.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from coalmine.exceptions import DeploymentInProgress
from coalmine.models import Deployment, OperatorAction, Target

#: Execution statuses (DescribeExecution) whose holder still owns the alias.
ALIVE = frozenset({"RUNNING", "PENDING_REDRIVE"})
#: The state machine's own TimeoutSeconds: no execution outlives it.
MAX_EXECUTION_SECONDS = 7 * 24 * 3600
#: On top of the execution's timeout: its Cleanup's own retries (about 25 min) and clock skew.
MARGIN_SECONDS = 3600


@dataclass(frozen=True)
class AwaitingApproval:
    """What the lock says of a human gate its holder waits at (AwaitApproval writes it)."""

    token: str  # the AwaitApproval task's token (SendTaskSuccess wakes it); "" before the first
    step: str  # how reasons name the gated step: "step 1 (10%)"
    since: datetime  # when the gate was entered: a request after it answers this gate

    def answer(self, requests: tuple[OperatorAction, ...]) -> OperatorAction | None:
        """The approve or reject already given to this gate, if any: told by the gate it names
        (the deployment's time); one naming none (an older CLI's) by its `at`, the asker's clock."""
        given = [
            r
            for r in requests
            if r.action in ("approve", "reject") and (r.gate or r.at) >= self.since
        ]
        return given[0] if given else None


@dataclass(frozen=True)
class Lock:
    lock_id: str
    deployment_id: str
    execution_arn: str
    started_at: int
    expires_at: int
    deployment: Deployment | None = None
    requests: tuple[OperatorAction, ...] = ()
    approval: AwaitingApproval | None = None

    def describe(self) -> str:
        started = datetime.fromtimestamp(self.started_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"execution {self.execution_arn or self.deployment_id} (started {started})"


class LockStore(Protocol):
    def put_if_free(self, lock: Lock, now: int) -> bool: ...
    def get(self, lock_id: str) -> Lock | None: ...
    def take_over(self, lock: Lock, holder_deployment_id: str) -> bool: ...
    def release(self, lock_id: str, deployment_id: str) -> bool: ...


#: Called with a dead holder's lock before it is taken over: puts the alias whole again if the
#: holder left its own routing on it (raises, changing nothing, if someone else weighted it) and
#: returns the lock to put in its place.
MakeWhole = Callable[["Lock"], "Lock"]


class Executions(Protocol):
    def status(self, execution_arn: str) -> str | None: ...


def lock_id(function_name: str, alias: str, target: Target | None = None) -> str:
    """``function:alias`` in coalmine's own account and region (as ever); through a target role,
    ``account:region:function:alias`` (Prepare refuses a target naming coalmine's own account
    and region, so one alias never has two keys: coalmine/targets.py)."""
    if target is None:
        return f"{function_name}:{alias}"
    return f"{target.account}:{target.region}:{function_name}:{alias}"


def deployment_lock_id(deployment: Deployment) -> str:
    """The lock of ``deployment``'s alias (its target's account and region, if any)."""
    return lock_id(deployment.function_name, deployment.alias, deployment.target)


def new_lock(deployment: Deployment, execution_arn: str | None, now: int) -> Lock:
    """Expires only once the execution's own timeout has surely ended it: bake extensions (up to
    a day per step), approvals and pauses are not in the plan's bake time, so no plan-based
    expiry can cover them."""
    return Lock(
        lock_id=deployment_lock_id(deployment),
        deployment_id=deployment.deployment_id,
        execution_arn=execution_arn or "",
        started_at=now,
        expires_at=now + MAX_EXECUTION_SECONDS + MARGIN_SECONDS,
        deployment=deployment,
    )


def may_take(held: Lock, deployment_id: str, now: int, holder_status: str | None) -> bool:
    """May ``deployment_id`` take a lock ``held`` by someone? Its own (a retried Prepare), a dead
    holder's, or - when the holder's status cannot be known - an expired one."""
    if held.deployment_id == deployment_id:
        return True
    if holder_status is not None:
        return holder_status not in ALIVE
    return held.expires_at <= now


def acquire(
    store: LockStore,
    executions: Executions,
    lock: Lock,
    now: int,
    make_whole: MakeWhole | None = None,
) -> Lock:
    """Take the alias's lock for ``lock.deployment_id`` or raise DeploymentInProgress. A dead
    holder's lock is replaced by ``make_whole(held)`` (the alias put whole first); the lock
    actually put is returned."""
    for _ in range(2):  # a second round only if the holder released it between our two calls
        if store.put_if_free(lock, now):
            return lock
        held = store.get(lock.lock_id)
        if held is None:
            continue
        status = executions.status(held.execution_arn) if held.execution_arn else None
        if may_take(held, lock.deployment_id, now, status):
            mine = make_whole(held) if make_whole is not None else lock
            if store.take_over(mine, held.deployment_id):
                return mine
            held = store.get(lock.lock_id) or held  # another deployment was quicker
        raise refused(lock.lock_id, held)
    raise DeploymentInProgress(f"{lock.lock_id}: the lock is contended; try again")


def refused(lock_id: str, held: Lock) -> DeploymentInProgress:
    return DeploymentInProgress(
        f"{lock_id} is already being deployed by {held.describe()}; wait for it to end or stop "
        f"it (its cleanup puts the alias back and frees the lock), then start again"
    )


def lost(deployment: Deployment) -> DeploymentInProgress:
    """The lock ``deployment`` took is no longer its own when it comes to record a version."""
    return DeploymentInProgress(
        f"{deployment_lock_id(deployment)}: deployment "
        f"{deployment.deployment_id} no longer holds the alias's lock (cleared by hand, or taken "
        f"over); no traffic was moved"
    )


@contextmanager
def released_on_error(store: LockStore, held: Lock) -> Iterator[Lock]:
    """Checks made once ``held`` is ours: if one refuses, the lock is released before the error
    propagates (Prepare: a weighted alias is refused only after a running holder was named)."""
    try:
        yield held
    except Exception:
        store.release(held.lock_id, held.deployment_id)
        raise
