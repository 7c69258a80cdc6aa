"""ReleaseLock against moto: frees the alias's lock on every ending the state machine runs, never
another deployment's, is idempotent, and passes the Deployment document on unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from coalmine.adapters.locks_table import LockTable
from coalmine.handlers.release_lock import handler, release
from coalmine.models import Deployment
from events import load_event

LOCK_TABLE = "coalmine-deployment-locks"  # tests/integration/conftest.py


@pytest.mark.parametrize(
    ("event", "outcome"),
    [("promote", "PROMOTED"), ("rollback", "ROLLED_BACK"), ("rollback", "IN_PROGRESS")],
)
def test_the_alias_lock_is_freed_and_the_document_passed_on_unchanged(
    world: Any, lambda_context: Any, event: str, outcome: str
) -> None:
    # Given deployment 0001 holds prod's lock and ends (promoted, rolled back, or aborted)
    world.hold_lock("deploy-brand-api-0001")
    document = load_event(event) | {"outcome": outcome}
    # When ReleaseLock runs
    out = handler(document, lambda_context)
    # Then the lock is free and the document goes on to the Finished Choice as it came
    assert world.lock() is None
    assert out == document


def test_another_deployments_lock_is_left_alone(world: Any, lambda_context: Any) -> None:
    # Given the lock was taken over by deployment 0002 (0001's was cleared by hand, or expired)
    world.hold_lock("deploy-brand-api-0002")
    # When deployment 0001 ends
    handler(load_event("rollback"), lambda_context)
    # Then 0002 still holds it
    assert world.lock()["deploymentId"]["S"] == "deploy-brand-api-0002"


def test_a_retry_finds_the_lock_free_and_is_harmless(world: Any, lambda_context: Any) -> None:
    world.hold_lock("deploy-brand-api-0001")
    current = Deployment.model_validate(load_event("rollback"))
    locks = LockTable(LOCK_TABLE)
    assert release(current, locks) is True
    assert release(current, locks) is False  # already free: no error
    assert handler(load_event("rollback"), lambda_context) == load_event("rollback")
    assert world.lock() is None


def test_only_the_deployments_own_alias_is_released(world: Any, lambda_context: Any) -> None:
    # Given the same deployment id holds the locks of two aliases (prod and staging)
    world.hold_lock("deploy-brand-api-0001", alias="prod")
    world.hold_lock("deploy-brand-api-0001", alias="staging")
    # When the prod deployment ends
    handler(load_event("rollback"), lambda_context)
    # Then only prod's lock is free
    assert world.lock("prod") is None
    assert world.lock("staging") is not None
