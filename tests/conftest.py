"""Shared by every test suite: a fake LambdaContext. (Its presence also puts tests/ on sys.path,
so `from events import load_event` works from any suite.)"""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@dataclass
class FakeLambdaContext:
    function_name: str = "coalmine-test"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:coalmine-test"
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"
    remaining_millis: int = 120_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()
