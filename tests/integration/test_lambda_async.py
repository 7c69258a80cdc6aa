"""adapters/lambda_async.py against moto: the alias's event invoke config, or None without one."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from coalmine.adapters.lambda_async import EventInvokeConfigs
from coalmine.exceptions import AwsThrottled


def test_an_alias_without_a_config_of_its_own_has_none(world: Any) -> None:
    assert EventInvokeConfigs().get("brand-api", "prod") is None


def test_the_config_is_read_without_the_response_metadata(world: Any) -> None:
    world.lambda_client.put_function_event_invoke_config(
        FunctionName="brand-api", Qualifier="prod", MaximumRetryAttempts=1
    )
    config = EventInvokeConfigs().get("brand-api", "prod")
    assert config is not None
    assert config["MaximumRetryAttempts"] == 1
    assert "ResponseMetadata" not in config


def test_throttling_is_aws_throttled() -> None:
    client = boto3.client("lambda", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_client_error("get_function_event_invoke_config", "TooManyRequestsException")
    with stubber, pytest.raises(AwsThrottled):
        EventInvokeConfigs(client).get("brand-api", "prod")
