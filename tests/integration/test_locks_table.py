"""adapters/locks_table.py against moto (every write conditional: a failed condition is False)
and a botocore Stubber (throttling)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from coalmine.adapters.errors import THROTTLING_CODES
from coalmine.adapters.locks_table import LockTable
from coalmine.exceptions import AwsThrottled
from coalmine.lock import Lock
from coalmine.models import Deployment
from events import load_event

LOCK_TABLE = "coalmine-deployment-locks"  # tests/integration/conftest.py
NOW = 1_700_000_000


def _lock(deployment_id: str = "deploy-brand-api-0001", expires_at: int = NOW + 3600) -> Lock:
    return Lock("brand-api:prod", deployment_id, f"arn:{deployment_id}", NOW, expires_at)


def test_a_free_lock_is_taken_read_and_released(world: Any) -> None:
    table = LockTable(LOCK_TABLE)
    assert table.put_if_free(_lock(), NOW)
    assert table.get("brand-api:prod") == _lock()
    assert table.release("brand-api:prod", "deploy-brand-api-0001")
    assert table.get("brand-api:prod") is None


def test_a_held_lock_is_never_put_over_not_even_expired_only_our_own(world: Any) -> None:
    table = LockTable(LOCK_TABLE)
    table.put_if_free(_lock(), NOW)
    assert not table.put_if_free(_lock("deploy-brand-api-0002"), NOW)
    assert table.put_if_free(_lock(), NOW)  # a retry of the holder
    # expired: only take_over, once lock.acquire has asked whether its holder still runs
    assert not table.put_if_free(_lock("deploy-brand-api-0002"), NOW + 3600)
    assert table.get("brand-api:prod").deployment_id == "deploy-brand-api-0001"


def test_a_record_after_the_alias_moved_is_retried_and_never_raised(world: Any) -> None:
    table = LockTable(LOCK_TABLE)
    d = Deployment.model_validate(load_event("promote"))
    table.put_if_free(_lock(d.deployment_id), NOW)
    calls: list[float] = []
    real = table.client
    fails = iter([True, True, False])

    class Flaky:
        def update_item(self, **kwargs: Any) -> Any:
            if next(fails):
                raise ClientError({"Error": {"Code": "ThrottlingException"}}, "UpdateItem")
            return real.update_item(**kwargs)

    table.client = Flaky()  # type: ignore[assignment]
    assert table.record_after_write(d, sleep=calls.append) is True
    assert calls == [1.0, 2.0]
    fails = iter([True] * 10)  # the table stays throttled
    assert table.record_after_write(d, sleep=calls.append) is None


def test_take_over_and_release_only_from_the_named_holder(world: Any) -> None:
    table = LockTable(LOCK_TABLE)
    table.put_if_free(_lock(), NOW)
    assert not table.take_over(_lock("deploy-brand-api-0003"), "deploy-brand-api-0002")
    assert not table.release("brand-api:prod", "deploy-brand-api-0002")
    assert table.take_over(_lock("deploy-brand-api-0003"), "deploy-brand-api-0001")
    assert table.get("brand-api:prod").deployment_id == "deploy-brand-api-0003"


def test_the_deployment_is_recorded_only_by_its_holder_and_found_by_its_id(world: Any) -> None:
    table = LockTable(LOCK_TABLE)
    deployment = Deployment.model_validate(load_event("publish-version"))
    assert not table.record(deployment)  # nobody holds the lock
    table.put_if_free(_lock(), NOW)
    assert table.record(deployment)
    found = table.find("deploy-brand-api-0001")
    assert found is not None
    assert found.deployment == deployment
    assert table.find("deploy-brand-api-0009") is None


@pytest.mark.parametrize("code", sorted(THROTTLING_CODES))
def test_throttling_is_aws_throttled(code: str) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    table = LockTable(LOCK_TABLE, client)
    with Stubber(client) as stubber:
        stubber.add_client_error("get_item", code, "Rate exceeded")
        stubber.add_client_error("delete_item", code, "Rate exceeded")
        with pytest.raises(AwsThrottled, match="DynamoDB throttled a request on the lock table"):
            table.get("brand-api:prod")
        with pytest.raises(AwsThrottled):
            table.release("brand-api:prod", "deploy-brand-api-0001")


def test_any_other_error_propagates() -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_client_error("put_item", "InternalServerError", http_status_code=500)
    with stubber, pytest.raises(ClientError):
        LockTable(LOCK_TABLE, client).put_if_free(_lock(), NOW)
