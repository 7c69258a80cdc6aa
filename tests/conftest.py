"""Shared by every test suite: the ``lambda_context`` fixture. (Its presence also puts tests/ on
sys.path, so `from events import load_event, FakeLambdaContext` works from any suite.)"""

from __future__ import annotations

import pytest

from events import FakeLambdaContext


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()
