"""Injected API faults (aws/faults.py) at moto's response layer: any AWS API answers an error
code, serialised the way moto serialises that service's own errors (JSON, XML or CBOR)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from .hooks import installed
from .internals import module


def _call_action(original: Any) -> Any:
    def call(self: Any) -> Any:
        hooks = installed()
        if hooks is None:  # no Sandbox active
            return original(self)
        faults = hooks.faults
        error = faults.on_api(self.boto3_service_name, self._get_action()) if faults else None
        if error is None:
            return original(self)
        # moto finds the service model from the exception's module (moto.<service>....)
        injected = type(
            "InjectedFault",
            (module("moto.core.exceptions").ServiceException,),
            {"__module__": f"moto.{self.boto3_service_name}.exceptions"},
        )
        with warnings.catch_warnings():  # an error code outside the service's model is fine
            warnings.simplefilter("ignore")
            return self.serialized(module("moto.core.responses").ActionResult(injected(*error)))

    return call


FACTORIES: dict[str, Callable[[Any], Any]] = {"BaseResponse.call_action": _call_action}
