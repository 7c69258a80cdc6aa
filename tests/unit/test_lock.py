"""The deployment lock's pure decisions: when may a deployment take an alias's lock, and until
when does a lock hold (coalmine/lock.py), plus acquire() over an in-memory store."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from coalmine import lock
from coalmine.exceptions import DeploymentInProgress
from coalmine.models import AnalysisConfig, Deployment, Plan, Step

NOW = 1_900_000_000


def _deployment(deployment_id: str = "new", steps: tuple[int, ...] = (300,)) -> Deployment:
    plan = Plan(
        strategy="x",
        steps=[Step(weight=0.1 * (i + 1), bake_seconds=b) for i, b in enumerate(steps)],
    )
    return Deployment(
        deployment_id=deployment_id,
        function_name="brand-api",
        alias="prod",
        from_version="1",
        to_version="2",
        revision_id="r",
        plan=plan,
        analysis=AnalysisConfig(),
        action="SHIFT",
    )


def _held(deployment_id: str = "old", expires_at: int = NOW + 60) -> lock.Lock:
    return lock.Lock(
        "brand-api:prod", deployment_id, f"arn:x:{deployment_id}", NOW - 60, expires_at
    )


@pytest.mark.parametrize(
    ("held", "status", "takes"),
    [
        (_held("new"), "RUNNING", True),  # our own lock: a retried Prepare
        (_held(), "RUNNING", False),  # a live holder keeps its alias
        (_held(expires_at=NOW - 1), "RUNNING", False),  # ...even past its expiry
        (_held(), "PENDING_REDRIVE", False),
        (_held(), "SUCCEEDED", True),  # a dead holder's lock is taken over
        (_held(), "FAILED", True),
        (_held(), "ABORTED", True),
        (_held(), "TIMED_OUT", True),
        (_held(), "MISSING", True),
        (_held(), None, False),  # status unknown: only once expired
        (_held(expires_at=NOW), None, True),
    ],
)
def test_may_take(held: lock.Lock, status: str | None, takes: bool) -> None:
    assert lock.may_take(held, "new", NOW, status) is takes


@pytest.mark.parametrize(
    ("steps", "post"), [((300,), 0), ((60,) * 9, 0), ((), 600), ((86400,) * 50, 0)]
)
def test_a_lock_expires_only_after_the_executions_own_timeout_whatever_the_plan(
    steps: tuple[int, ...], post: int
) -> None:
    """Bake extensions, approvals and pauses are not in the plan: only the state machine's
    TimeoutSeconds bounds how long a holder can run."""
    plan = Plan(
        strategy="x",
        steps=[Step(weight=min(0.01 * (i + 1), 0.99), bake_seconds=b) for i, b in enumerate(steps)],
        post_promotion_bake_seconds=post,
    )
    d = _deployment().model_copy(update={"plan": plan})
    held = lock.new_lock(d, "arn:x", NOW)
    assert (held.lock_id, held.started_at, held.expires_at) == (
        "brand-api:prod",
        NOW,
        NOW + lock.MAX_EXECUTION_SECONDS + lock.MARGIN_SECONDS,
    )


@dataclass
class MemoryStore:
    item: lock.Lock | None = None
    writes: list[str] = field(default_factory=list)

    def put_if_free(self, new: lock.Lock, now: int) -> bool:
        if self.item is None or self.item.deployment_id == new.deployment_id:
            self.item = new
            self.writes.append("put")
            return True
        return False

    def get(self, lock_id: str) -> lock.Lock | None:
        return self.item

    def take_over(self, new: lock.Lock, holder: str) -> bool:
        if self.item is None or self.item.deployment_id != holder:
            return False
        self.item = new
        self.writes.append("take_over")
        return True

    def release(self, lock_id: str, deployment_id: str) -> bool:
        return False


@dataclass
class Statuses:
    status_of: dict[str, str]

    def status(self, arn: str) -> str | None:
        return self.status_of.get(arn)


def test_acquire_a_free_lock_and_again_after_a_retry() -> None:
    store = MemoryStore()
    mine = lock.new_lock(_deployment(), "arn:x:new", NOW)
    assert lock.acquire(store, Statuses({}), mine, NOW) == mine
    assert lock.acquire(store, Statuses({}), mine, NOW + 5) == mine
    assert store.writes == ["put", "put"]


def test_a_running_holder_is_named_and_keeps_the_lock() -> None:
    store = MemoryStore(_held())
    mine = lock.new_lock(_deployment(), "arn:x:new", NOW)
    with pytest.raises(
        DeploymentInProgress,
        match=r"brand-api:prod is already being deployed by execution arn:x:old",
    ):
        lock.acquire(store, Statuses({"arn:x:old": "RUNNING"}), mine, NOW)
    assert store.item == _held()


def test_a_dead_holders_lock_is_taken_over() -> None:
    store = MemoryStore(_held())
    mine = lock.new_lock(_deployment(), "arn:x:new", NOW)
    assert lock.acquire(store, Statuses({"arn:x:old": "ABORTED"}), mine, NOW) == mine
    assert store.writes == ["take_over"]


@dataclass
class Releases(MemoryStore):
    released: list[tuple[str, str]] = field(default_factory=list)

    def release(self, lock_id: str, deployment_id: str) -> bool:
        self.released.append((lock_id, deployment_id))
        return True


def test_a_check_that_refuses_with_the_lock_held_releases_it() -> None:
    store, mine = Releases(), lock.new_lock(_deployment(), "arn:x:new", NOW)
    with pytest.raises(DeploymentInProgress), lock.released_on_error(store, mine):
        raise DeploymentInProgress("refused")
    assert store.released == [("brand-api:prod", "new")]


def test_a_check_that_passes_keeps_the_lock() -> None:
    store, mine = Releases(), lock.new_lock(_deployment(), "arn:x:new", NOW)
    with lock.released_on_error(store, mine) as held:
        assert held == mine
    assert store.released == []


def test_a_lost_lock_names_the_alias_and_the_deployment() -> None:
    error = lock.lost(_deployment("d-7"))
    assert isinstance(error, DeploymentInProgress)
    assert str(error).startswith("brand-api:prod: deployment d-7 no longer holds the alias's lock")


def test_an_expired_lock_of_a_running_holder_is_never_taken() -> None:
    store = MemoryStore(_held(expires_at=NOW - 3600))
    mine = lock.new_lock(_deployment(), "arn:x:new", NOW)
    with pytest.raises(
        DeploymentInProgress, match=r"already being deployed by execution arn:x:old"
    ):
        lock.acquire(store, Statuses({"arn:x:old": "RUNNING"}), mine, NOW)
    assert store.item == _held(expires_at=NOW - 3600)
    assert store.writes == []


def test_an_expired_lock_whose_holder_cannot_be_asked_is_taken_over() -> None:
    store = MemoryStore(_held(expires_at=NOW))
    mine = lock.new_lock(_deployment(), "arn:x:new", NOW)
    assert lock.acquire(store, Statuses({}), mine, NOW) == mine
    assert store.writes == ["take_over"]


def test_a_dead_holders_lock_is_replaced_by_what_make_whole_returns() -> None:
    store = MemoryStore(_held())
    mine = lock.new_lock(_deployment(), "arn:x:new", NOW)
    restored = lock.new_lock(_deployment().model_copy(update={"taken_over": "x"}), "arn:x:new", NOW)
    seen: list[lock.Lock] = []

    def make_whole(dead: lock.Lock) -> lock.Lock:
        seen.append(dead)
        return restored

    taken = lock.acquire(store, Statuses({"arn:x:old": "ABORTED"}), mine, NOW, make_whole)
    assert taken == restored
    assert store.item == restored
    assert seen == [_held()]


def test_a_take_over_refused_by_make_whole_leaves_the_holders_lock() -> None:
    store = MemoryStore(_held())
    mine = lock.new_lock(_deployment(), "arn:x:new", NOW)

    def make_whole(dead: lock.Lock) -> lock.Lock:
        raise DeploymentInProgress("someone else's weights")

    with pytest.raises(DeploymentInProgress):
        lock.acquire(store, Statuses({"arn:x:old": "ABORTED"}), mine, NOW, make_whole)
    assert store.item == _held()
    assert store.writes == []
