"""PublishVersion's CodeSha256 guard: coalmine's adapter against the sandbox's emulated AWS answer.

AWS refuses a PublishVersion whose CodeSha256 no longer matches $LATEST with
InvalidParameterValueException "CodeSHA256 (x) is different from current CodeSHA256 in $LATEST
(y) ..." (note the casing); the sandbox emulates that message and coalmine must read it as
CodeShaMismatch (a racing upload), not as an unknown client error.
"""

from __future__ import annotations

from typing import Any

import pytest

from coalmine.adapters.lambda_api import LambdaApi
from coalmine.exceptions import CodeShaMismatch
from coalmine_sandbox import Sandbox

FUNCTION = "brand-api"


def _settle(sb: Sandbox) -> str:
    """Wait (in simulated time) for $LATEST's last update; return its CodeSha256."""
    lam = sb.client("lambda")
    for _ in range(60):
        config = lam.get_function_configuration(FunctionName=FUNCTION)
        if config.get("LastUpdateStatus") != "InProgress":
            return str(config["CodeSha256"])
        sb.clock.advance(1)
    raise AssertionError(f"{FUNCTION} still updating after 60 simulated seconds")


def test_a_wrong_sha_is_code_sha_mismatch(sandbox: Sandbox) -> None:
    _settle(sandbox)
    api = LambdaApi(sandbox.client("lambda"))
    with pytest.raises(CodeShaMismatch, match="is different from current CodeSHA256"):
        api.publish_version(FUNCTION, "not-the-sha-of-latest", "coalmine race test")


def test_an_upload_racing_between_update_and_publish_is_code_sha_mismatch(
    sandbox: Sandbox, make_function: Any
) -> None:
    # Given coalmine read $LATEST's sha, then someone else replaced $LATEST's code
    api = LambdaApi(sandbox.client("lambda"))
    read_sha = _settle(sandbox)
    before = sandbox.client("lambda").list_versions_by_function(FunctionName=FUNCTION)["Versions"]
    sandbox.client("lambda").update_function_code(
        FunctionName=FUNCTION, ZipFile=make_function.zip({"racer.py": "RACER = True\n"})
    )
    assert _settle(sandbox) != read_sha
    # When coalmine publishes with the sha it read
    with pytest.raises(CodeShaMismatch):
        api.publish_version(FUNCTION, read_sha, "coalmine race test")
    # Then nothing was published
    after = sandbox.client("lambda").list_versions_by_function(FunctionName=FUNCTION)["Versions"]
    assert len(after) == len(before)


def test_the_current_sha_publishes(sandbox: Sandbox) -> None:
    sha = _settle(sandbox)
    version = LambdaApi(sandbox.client("lambda")).publish_version(FUNCTION, sha, "coalmine test")
    assert version.isdigit()
