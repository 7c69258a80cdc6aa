"""Lambda's asynchronous settings of an alias (GetFunctionEventInvokeConfig): an alias with an
event invoke config of its own is invoked asynchronously (coalmine/async_gates.py reads it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from coalmine.adapters.errors import lambda_translated
from coalmine.adapters.lambda_api import default_client
from coalmine.exceptions import ResourceNotFound

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient


class EventInvokeConfigs:
    def __init__(self, client: LambdaClient | None = None) -> None:
        self.client = client if client is not None else default_client()

    def get(self, function_name: str, qualifier: str) -> dict[str, Any] | None:
        """The event invoke config of ``function_name:qualifier``, or None if it has none of its
        own (Lambda's defaults then apply to it)."""
        try:
            with lambda_translated(f"event invoke config of {function_name}:{qualifier}"):
                response = self.client.get_function_event_invoke_config(
                    FunctionName=function_name, Qualifier=qualifier
                )
        except ResourceNotFound:
            return None
        return {k: v for k, v in response.items() if k != "ResponseMetadata"}
