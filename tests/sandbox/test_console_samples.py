"""Every console sample (events/execution-*.json) starts a deployment that gets past Prepare on
the stack as shipped: the real template stood up, each file started unmodified apart from the
version it names (the version published here; for `code`, the stack's artifact bucket and the
uploaded object's version)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import REPO, brand_api_zip, entered_states, publish_candidate

from coalmine_sandbox import Sandbox

SAMPLES = sorted((REPO / "events").glob("execution-*.json"))


def test_every_console_sample_is_checked() -> None:
    names = {p.stem for p in SAMPLES}
    assert {"execution-canary", "execution-code", "execution-all-at-once"} <= names


def _as_shipped(sb: Sandbox, sample: dict[str, Any]) -> dict[str, Any]:
    """The sample, with the version (or uploaded object) that exists in this sandbox."""
    if "code" in sample:
        # the upload rule would start a deployment of its own for this key: switched off, so the
        # sample is the only deployment (started from the console, as a user would)
        sb.client("events").disable_rule(Name=sb.stack["DeployOnUploadRule"])
        bucket = sb.stack["ArtifactBucket"]
        put = sb.put_object(bucket, sample["code"]["s3Key"], brand_api_zip("console-sample"))
        return sample | {
            "code": sample["code"] | {"s3Bucket": bucket, "s3ObjectVersion": put["VersionId"]}
        }
    assert "targetVersion" in sample, "a console sample names a version or code"
    return sample | {"targetVersion": publish_candidate(sb)}


@pytest.mark.slow
@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: Path(p).stem)
def test_a_console_sample_gets_past_prepare(path: Path) -> None:
    sample = json.loads(path.read_text())
    with Sandbox(seed=7) as sb:
        request = _as_shipped(sb, sample)
        arn = ""

        def stop_once_it_bakes(t_from: datetime, t_to: datetime) -> None:
            # (the clock moves only once the execution waits: it has shifted traffic by then)
            if (
                arn
                and sb.client("stepfunctions").describe_execution(executionArn=arn)["status"]
                == "RUNNING"
            ):
                sb.stop_execution(arn, cause="the sample got past Prepare")

        remove = sb.add_listener(stop_once_it_bakes)
        try:
            arn = sb.start_execution(request)
            description = sb.wait_for_execution(arn)
        finally:
            remove()
        entered = entered_states(sb, arn)
    assert description.get("error") != "InvalidInput", description.get("cause")
    assert "PublishVersion" in entered, (entered, description.get("cause"))
    assert "Promote" in entered or "ShiftTraffic" in entered, (entered, description)
    assert description["status"] in {"SUCCEEDED", "ABORTED"}, description
