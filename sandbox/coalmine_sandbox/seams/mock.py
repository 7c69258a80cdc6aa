"""moto's mock_aws, started the way the sandbox needs it: Step Functions executions really run
the state machine's program (moto's interpreter)."""

from __future__ import annotations

import logging
from typing import Protocol

from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID


class Mock(Protocol):
    def stop(self) -> None: ...


def start(account_id: str = "123456789012") -> Mock:
    """``account_id``: the sandbox's account, moto's default one (the account of any credentials
    but AssumeRole's, which moto maps to the role's account)."""
    if account_id != DEFAULT_ACCOUNT_ID:
        raise RuntimeError(f"moto's default account is {DEFAULT_ACCOUNT_ID}, not {account_id}")
    # moto's interpreter logs every state failure with a full repr of the state; AWS shows
    # failures in the execution history, which is where the sandbox's users read them.
    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
    mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
    mock.start()
    return mock
