"""AWS API behaviour the sandbox adds to moto 5.2.5 at the response level (its seams are listed
in moto_hooks.HOOKS, so tests/sandbox/test_moto_hooks.py covers them):

- injected API faults (faults.py): any AWS API answers an error code, serialised the way moto
  serialises that service's own errors (JSON, XML or CBOR);
- UpdateFunctionCode refuses what AWS refuses (moto accepts any bytes, and raises a bare
  ValueError for a missing bucket): a missing bucket, key or object version, or a package that is
  not a zip -> InvalidParameterValueException with AWS's messages.
"""

from __future__ import annotations

import base64
import importlib
import io
import json
import warnings
import zipfile
from collections.abc import Callable
from typing import Any

HOOKS: tuple[tuple[str, str], ...] = (
    ("moto.core.responses", "BaseResponse.call_action"),
    ("moto.awslambda.responses", "LambdaResponse.update_function_code"),
)
READS: tuple[tuple[str, str], ...] = (
    ("moto.core.responses", "BaseResponse._get_action"),
    ("moto.core.responses", "BaseResponse.serialized"),
    ("moto.core.exceptions", "ServiceException"),
    ("moto.s3.models", "s3_backends"),
)
NOT_A_ZIP = "Could not unzip uploaded file. Please check your file, then try to upload again."


def factories(
    active: Callable[[], Any], refusing_when_busy: Callable[[Any], Any]
) -> dict[str, Callable[[Any], Any]]:
    """The replacement for each name in HOOKS; `active()` is the installed MotoHooks."""

    def call_action(original: Any) -> Any:
        def call(self: Any) -> Any:
            try:
                faults = active().faults
            except RuntimeError:  # no Sandbox active
                return original(self)
            error = faults.on_api(self.boto3_service_name, self._get_action()) if faults else None
            if error is None:
                return original(self)
            # moto finds the service model from the exception's module (moto.<service>....)
            injected = type(
                "InjectedFault",
                (_m("moto.core.exceptions").ServiceException,),
                {"__module__": f"moto.{self.boto3_service_name}.exceptions"},
            )
            with warnings.catch_warnings():  # an error code outside the service's model is fine
                warnings.simplefilter("ignore")
                return self.serialized(_m("moto.core.responses").ActionResult(injected(*error)))

        return call

    def checked_code(original: Any) -> Any:
        refuse_busy = refusing_when_busy(original)

        def handle(self: Any) -> Any:
            params = json.loads(self.body or "{}")
            if "ZipFile" in params:
                data = base64.b64decode(params["ZipFile"])
            elif "S3Bucket" in params and "S3Key" in params:
                data = _s3_object(
                    active().account_id,
                    params["S3Bucket"],
                    params["S3Key"],
                    params.get("S3ObjectVersion"),
                )
            else:
                return refuse_busy(self)
            if not zipfile.is_zipfile(io.BytesIO(data)):
                raise _invalid(NOT_A_ZIP)
            if params.get("S3ObjectVersion"):
                # moto reads the key's newest object whatever the version asked for; AWS deploys
                # exactly that version: hand moto the bytes of that version instead.
                for name in ("S3Bucket", "S3Key", "S3ObjectVersion"):
                    params.pop(name)
                params["ZipFile"] = base64.b64encode(data).decode()
                self.body = json.dumps(params)
            return refuse_busy(self)

        return handle

    return {
        "BaseResponse.call_action": call_action,
        "LambdaResponse.update_function_code": checked_code,
    }


def _s3_object(account_id: str, bucket: str, key: str, version: str | None) -> bytes:
    s3 = _m("moto.s3.models").s3_backends[account_id]["aws"]
    prefix = "Error occurred while GetObject. S3 Error Code: "
    try:
        s3.get_bucket(bucket)
    except Exception:
        raise _invalid(
            f"{prefix}NoSuchBucket. S3 Error Message: The specified bucket does not exist"
        ) from None
    try:
        found = s3.get_object(bucket, key, version_id=version)
    except Exception:
        found = None
    if found is None:
        what, code = ("version", "NoSuchVersion") if version else ("key", "NoSuchKey")
        raise _invalid(f"{prefix}{code}. S3 Error Message: The specified {what} does not exist.")
    return bytes(found.value)


def _invalid(message: str) -> Exception:
    return _m("moto.awslambda.exceptions").InvalidParameterValueException(message)


def _m(name: str) -> Any:
    return importlib.import_module(name)
