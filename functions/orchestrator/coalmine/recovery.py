"""Cleanup after an execution ended where the state machine could not run its own Rollback:
StopExecution (ABORTED), its TimeoutSeconds (TIMED_OUT), an unhandled error (FAILED); and the
lock of a SUCCEEDED execution whose own ReleaseLock step failed for good.

EventBridge delivers Step Functions' ``Execution Status Change`` event to the Cleanup handler.
The alias's lock tells which deployment it was: if this execution still holds it, its recorded
Deployment document (fromVersion, toVersion, plan, promoted or not) says what coalmine may have
set on the alias. The alias is then put wholly back on the stable version by the same code and
the same never-clobber rules as Rollback (``rollback.roll_back`` / ``ownership.claim_alias``):
an alias someone else changed is left as they set it (ownership by RevisionId: the lock's document
is recorded before and after every alias write). A deployment is done only once its watch after
the cutover passed (AllAtOnce, blue/green, a last 1.0 step: ``watching``): a stop during the
watch, or during the Promote that starts it, puts the alias back on the old version too. A
completed promotion (no watch, or its watch passed) is left in place, and so is one made by a
Promote the stop interrupted when no watch follows it (the alias is the truth).
Idempotent: an execution that already rolled back (or released its lock) is a no-op.

If the alias cannot be restored, RollbackFailed carries the exact command to finish by hand,
and Lambda's async retries, then the OnFailure queue and its alarm, take it from there.

Pure: the handler (handlers/cleanup.py) passes the lock table and the rollback in.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from coalmine import lock, preflight, uploads
from coalmine.exceptions import AliasChangedOutOfBand, CoalmineError, InvalidInput, RollbackFailed
from coalmine.models import Action, AliasState, Deployment, Outcome, Target

ENDED = frozenset({"ABORTED", "TIMED_OUT", "FAILED"})
#: A SUCCEEDED execution promoted; its ReleaseLock step can still have failed for good (it is
#: caught so the promotion stands): Cleanup then frees the lock and never touches the alias.
SUCCEEDED = "SUCCEEDED"

#: Puts the alias wholly back on ``from_version`` (``rollback.roll_back`` with its adapter).
RollBack = Callable[[Deployment], object]
#: The alias as it is now, for the deployment's function and alias.
ReadAlias = Callable[[Deployment], AliasState]


class StatusChange(BaseModel):
    """The ``detail`` of a ``Step Functions Execution Status Change`` event (fields we use)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    execution_arn: str = Field(alias="executionArn")
    name: str
    status: str
    input: str | None = None


class ExecutionEnded(BaseModel):
    model_config = ConfigDict(extra="ignore")
    detail: StatusChange


class HeldLocks(Protocol):
    """The lock table as Cleanup uses it (adapters/locks_table.LockTable)."""

    def get(self, lock_id: str) -> lock.Lock | None: ...
    def find(self, deployment_id: str) -> lock.Lock | None: ...
    def release(self, lock_id: str, deployment_id: str) -> bool: ...


def manual_command(
    function_name: str, alias: str, version: str, target: Target | None = None
) -> str:
    """The update-alias that finishes a restore by hand (in the target's account and region)."""
    where = "" if target is None else f"--region {target.region} "
    command = (
        f"aws lambda update-alias {where}--function-name {function_name} --name {alias} "
        f"--function-version {version} --routing-config AdditionalVersionWeights={{}}"
    )
    if target is None:
        return command
    return f"{command} (with credentials of account {target.account}, e.g. {target.role_arn})"


def clean_up(
    change: StatusChange,
    locks: HeldLocks,
    roll_back: RollBack,
    failures: tuple[type[Exception], ...] = (CoalmineError,),
    read_alias: ReadAlias | None = None,
    executions: lock.Executions | None = None,
) -> str:
    """Restore the alias if this execution left it shifted, free its lock; say what was done.
    ``failures``: the errors that mean ``roll_back`` failed (the adapter's own among them);
    ``read_alias``: to see a promotion that was being made when the execution stopped;
    ``executions``: DescribeExecution, which must confirm the event (the execution ended; its
    status, not the event's, is acted on): an event that is not (a forged invocation, a stale
    or reordered delivery) changes nothing. The lock must name this execution (its ARN)."""
    if change.status not in ENDED | {SUCCEEDED}:
        return f"nothing to do: the execution is {change.status}"
    if executions is not None:
        status = executions.status(change.execution_arn)
        if status not in ENDED | {SUCCEEDED}:
            known = status or "unknown (not this stack's to describe)"
            return f"nothing to do: DescribeExecution says {change.name} is {known}, not ended"
        change = change.model_copy(update={"status": status})
    held = _held_lock(change, locks)
    if held is None or held.deployment_id != change.name:
        return "nothing to do: this execution holds no lock (it ended cleanly, or never got one)"
    if held.execution_arn and held.execution_arn != change.execution_arn:
        return (
            f"nothing to do: lock {held.lock_id} is held by {held.execution_arn}, not by "
            f"{change.execution_arn}"
        )
    if change.status == SUCCEEDED:
        done = "the execution succeeded (promoted): alias left as it is"
    elif held.deployment and _promotion_made(held.deployment, read_alias):
        d = held.deployment
        done = (
            f"stopped while promoting, after the promotion was made: {d.function_name}:{d.alias} "
            f"left wholly on version {d.to_version} (outcome: promoted)"
        )
    elif held.deployment:
        done = _restore(held.deployment, roll_back, failures)
    else:
        done = "no deployment recorded"
    locks.release(held.lock_id, held.deployment_id)
    return f"{done}; lock {held.lock_id} released"


def made_whole(
    dead: lock.Lock, read_alias: Callable[[], AliasState], roll_back: RollBack
) -> tuple[AliasState, str]:
    """Before a new Prepare takes over the lock of ``dead`` (a holder that ended before its own
    Cleanup ran): the alias whole again, and a note of what was done. If ``dead`` left its own
    routing on the alias it is put back with Rollback's code and ownership rules; weights set by
    anyone else refuse the take-over (InvalidInput, the lock left to its holder's Cleanup)."""
    where = dead.lock_id
    alias, note = read_alias(), f"took over the lock of {dead.describe()}, which had ended"
    if alias.weights and dead.deployment is not None:
        try:
            roll_back(dead.deployment)
        except AliasChangedOutOfBand:
            pass  # someone else's weights: refused below
        else:
            alias = read_alias()
            note += (
                f", after putting {where} back wholly on version {dead.deployment.from_version} "
                f"(it had left its own routing on it)"
            )
    preflight.check_unweighted(alias, where)
    return alias, note


def _promotion_made(d: Deployment, read_alias: ReadAlias | None) -> bool:
    """The execution was in Promote (recorded before its write) and the alias is wholly on the
    new version: the promotion happened; the alias is the truth, and it is kept. Unless a watch
    was to follow it (``watching``): a promotion not yet judged is not done."""
    if read_alias is None or d.action != Action.PROMOTE or d.to_version is None:
        return False
    if d.plan.post_promotion_bake_seconds > 0:
        return False
    observed = read_alias(d)
    return observed.function_version == d.to_version and not observed.weights


def _restore(d: Deployment, roll_back: RollBack, failures: tuple[type[Exception], ...]) -> str:
    where = f"{d.function_name}:{d.alias}"
    if d.outcome == Outcome.PROMOTED and not watching(d):
        return f"promotion had completed: {where} left on version {d.to_version}"
    try:
        roll_back(d)
    except AliasChangedOutOfBand as changed:
        return f"left as someone else set it: {changed}"
    except failures as error:
        raise RollbackFailed(
            f"could not put {where} back wholly on version {d.from_version}: {error}. "
            f"Finish by hand: {manual_command(d.function_name, d.alias, d.from_version, d.target)}"
        ) from error
    return f"{where} wholly on the stable version {d.from_version}"


def watching(d: Deployment) -> bool:
    """Promoted, and its watch after the cutover not passed yet (Promote recorded BAKE; Analyze
    records FINISH once the watch passes): a stop now puts the alias back on the old version."""
    return d.outcome == Outcome.PROMOTED and d.action == Action.BAKE


def function_and_alias(change: StatusChange) -> tuple[str, str]:
    """The execution input's function (an upload's: the key's) and alias ("?" where the input is
    not usable)."""
    request = _request(change.input)
    name, alias = request.get("functionName") or _uploaded(request), request.get("alias", "prod")
    usable = isinstance(name, str) and isinstance(alias, str) and name and alias
    return (str(name), str(alias)) if usable else ("?", "?")


def _held_lock(change: StatusChange, locks: HeldLocks) -> lock.Lock | None:
    """By the execution input's function and alias; by a Scan when the input is not usable or
    names a target role (its lock key holds the account and region Prepare resolved)."""
    name, alias = function_and_alias(change)
    if name != "?" and "targetRoleArn" not in _request(change.input):
        return locks.get(lock.lock_id(name, alias))
    return locks.find(change.name)


def _uploaded(request: dict[str, Any]) -> str | None:
    """The function an upload's key names (deployments/<function>/...), else None."""
    upload = request.get(uploads.UPLOAD_FIELD)
    try:
        key = upload["detail"]["object"]["key"]  # type: ignore[index]
        return uploads.function_of_key(key, uploads.UPLOAD_FIELD)
    except (TypeError, KeyError, InvalidInput):
        return None


def _request(text: str | None) -> dict[str, Any]:
    try:
        parsed = json.loads(text or "")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
