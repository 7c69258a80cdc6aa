"""End to end, asynchronous: `rehearse()` of scenarios/async-healthy-canary.json (about 1,080
uploads at 3/s, 30% bad manifests, Canary10Percent5Minutes on brand-asset-processor). After the
run has drained, every upload is on the OnSuccess queue or in the DLQ, counted by receiving the
ACTUAL messages from the emulated SQS queues (not the emulator's counters)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from e2e_helpers import REPO

from coalmine_sandbox import Sandbox
from coalmine_sandbox.rehearsal import rehearse
from coalmine_sandbox.scenario import load_scenario

SCENARIOS = REPO / "scenarios"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:No application metrics to publish"),
    pytest.mark.filterwarnings("ignore:Dimension 'FunctionVersion' has already been added"),
]


def _receive_all(sb: Sandbox, logical_id: str) -> list[dict[str, Any]]:
    sqs, url, records = sb.client("sqs"), sb.stack[logical_id], []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return records
        records += [json.loads(m["Body"]) for m in got]


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def inspect(sb: Sandbox, result: dict[str, Any]) -> None:
        seen["succeeded"] = _receive_all(sb, "AssetsProcessedQueue")
        seen["dead"] = _receive_all(sb, "AssetsDeadLetterQueue")

    scenario = load_scenario(SCENARIOS / "async-healthy-canary.json")
    seen["result"] = rehearse(scenario, lambda line: None, inspect)
    return seen


def test_every_upload_ends_processed_or_dead_lettered(run: dict[str, Any]) -> None:
    result = run["result"]
    succeeded, dead = len(run["succeeded"]), len(run["dead"])
    assert result["sent"] >= 1000
    assert succeeded + dead == result["sent"]
    assert result["lost"] == 0
    assert (result["succeeded"], result["deadLettered"]) == (succeeded, dead)
    assert result["pending"] == 0
    # about 30% poison, each in the DLQ after three attempts
    assert 0.25 < dead / result["sent"] < 0.35
    assert {r["requestContext"]["condition"] for r in run["dead"]} == {"RetriesExhausted"}
    # each upload exactly once (by its S3 key)
    keys = [r["requestPayload"]["Records"][0]["s3"]["object"]["key"] for r in run["succeeded"]]
    keys += [r["requestPayload"]["Records"][0]["s3"]["object"]["key"] for r in run["dead"]]
    assert len(set(keys)) == len(keys) == result["sent"]


def test_dlq_records_carry_the_failed_version_and_the_attempt_count(run: dict[str, Any]) -> None:
    result = run["result"]
    versions = {result["fromVersion"], result["toVersion"]}
    for record in run["dead"]:
        version = record["responseContext"]["executedVersion"]
        assert version in versions
        assert record["requestContext"]["functionArn"].endswith(f":{version}")
        assert record["requestContext"]["approximateInvokeCount"] == 3
        assert record["responseContext"]["functionError"] == "Unhandled"
    by_version = result["asyncByVersion"]
    assert sum(v["onFailure"] for v in by_version.values()) == len(run["dead"])
    assert by_version[result["toVersion"]]["onFailure"] > 0  # the canary saw poison too


def test_a_healthy_candidate_is_promoted_with_poison_in_the_baseline(run: dict[str, Any]) -> None:
    assert run["result"]["outcome"] == "PROMOTED"
    assert run["result"]["async"]["asyncEventsReceived"] == run["result"]["sent"]


@pytest.mark.xfail(
    strict=False,
    run=False,
    reason="analysis of async targets (issue 3 point 3) is not wired yet: with 30% poison in "
    "both versions, the current version-vs-version Errors gate PROMOTED a candidate failing 40% "
    "of its attempts (scenarios/async-poison-canary.json, decision at 360 s); it needs the "
    "DLQ/retry-aware gate (see the report's GetMetricData queries)",
)
def test_a_candidate_failing_on_retries_is_rolled_back() -> None:
    result = rehearse(load_scenario(SCENARIOS / "async-poison-canary.json"), lambda line: None)
    assert result["outcome"] == "ROLLED_BACK"
    assert result["lost"] == 0
