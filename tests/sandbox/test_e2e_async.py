"""End to end, asynchronous: `rehearse()` of the async scenarios on brand-asset-processor (S3 ->
prod alias, 2 retries, OnSuccess / OnFailure queues). After each run has drained, every upload is
on the OnSuccess queue or in the DLQ, counted by receiving the ACTUAL messages from the emulated
SQS queues (not the emulator's counters) -- also after a rollback mid-canary.

- async-healthy-canary: ~1,080 uploads at 3/s, 30% bad manifests, Canary10Percent5Minutes, a
  healthy candidate: promoted (the same poison rate in both versions rolls nothing back).
- async-poison-canary: 4/s, 30% poison, a 50% canary of a candidate failing 40% of its attempts
  on good uploads, failures that a retry on the old version mostly hides: rolled back.
- async-dead-letters-blue-green: blue/green (nothing to compare with after the cutover) of a
  candidate failing 80% of its attempts: rolled back on its dead-lettered events.
- async-short-bake: a 1-minute canary bakes the alias's retry window (300 s) before promotion.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from e2e_helpers import REPO

from coalmine_sandbox import Sandbox
from coalmine_sandbox.world.rehearsal import rehearse
from coalmine_sandbox.world.scenario import load_scenario

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


def _key(record: dict[str, Any]) -> str:
    return record["requestPayload"]["Records"][0]["s3"]["object"]["key"]


def _rehearse(name: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def inspect(sb: Sandbox, result: dict[str, Any]) -> None:
        seen["succeeded"] = _receive_all(sb, "AssetsProcessedQueue")
        seen["dead"] = _receive_all(sb, "AssetsDeadLetterQueue")

    seen["result"] = rehearse(load_scenario(SCENARIOS / f"{name}.json"), lambda line: None, inspect)
    return seen


def _nothing_stranded(run: dict[str, Any]) -> None:
    """Every upload ended processed or dead-lettered, exactly once, read from the queues."""
    result, succeeded, dead = run["result"], run["succeeded"], run["dead"]
    keys = [_key(r) for r in succeeded + dead]
    assert len(keys) == len(set(keys)) == result["sent"]
    assert (result["lost"], result["pending"]) == (0, 0)
    assert (result["succeeded"], result["deadLettered"]) == (len(succeeded), len(dead))


def _failing_tick(result: dict[str, Any]) -> dict[str, Any]:
    return next(t for s in result["steps"] for t in s["ticks"] if t["action"] == "ROLLBACK")


# ------------------------------------------------------------------ failures hidden by retries
@pytest.fixture(scope="module")
def hidden() -> dict[str, Any]:
    return _rehearse("async-poison-canary")


def test_a_candidate_failing_on_retries_is_rolled_back(hidden: dict[str, Any]) -> None:
    result = hidden["result"]
    assert result["outcome"] == "ROLLED_BACK"
    assert result["reason"].startswith("step 1 (50%) failed analysis: errors: ")
    assert result["decisionAtSeconds"] < 300  # mid-canary, at the first tick that proves it
    errors = next(g for g in _failing_tick(result)["gates"] if g["gate"] == "errors")
    evidence = errors["evidence"]
    assert evidence["eValue"] >= evidence["rejectAt"]
    assert evidence["newErrorRate"] > evidence["oldErrorRate"] > 0.3  # poison in both
    # the async queue itself looked fine: nothing old, nothing undelivered
    gates = {g["gate"]: g["verdict"] for g in _failing_tick(result)["gates"]}
    assert (gates["event-age"], gates["destination-delivery"]) == ("PASS", "PASS")
    assert result["asyncTarget"]["retryWindowSeconds"] == 300


def test_its_failures_were_hidden_by_retries(hidden: dict[str, Any]) -> None:
    result = hidden["result"]
    candidate = result["invocations"][result["toVersion"]]
    retried_then_processed = [
        r for r in hidden["succeeded"] if r["requestContext"]["approximateInvokeCount"] > 1
    ]
    faults_dead_lettered = [
        r for r in hidden["dead"] if r["responsePayload"]["errorType"] == "InjectedFault"
    ]
    # good uploads the candidate failed were retried and processed: their final outcome looks
    # fine, only the attempts tell; hardly any good upload reached the DLQ
    assert len(retried_then_processed) > 20
    assert len(faults_dead_lettered) <= 0.01 * result["sent"]
    assert candidate["errors"] > len(faults_dead_lettered) + 100


def test_a_rollback_mid_canary_strands_no_event(hidden: dict[str, Any]) -> None:
    _nothing_stranded(hidden)
    result = hidden["result"]
    assert result["alias"]["functionVersion"] == result["fromVersion"]
    assert result["alias"]["additionalVersionWeights"] == {}
    # retries after the rollback ran on the stable version, which processed them
    by_version = result["asyncByVersion"]
    assert (
        by_version[result["fromVersion"]]["onSuccess"]
        > by_version[result["toVersion"]]["onSuccess"]
    )
    assert {r["requestContext"]["condition"] for r in hidden["dead"]} == {"RetriesExhausted"}


# ------------------------------------------------------------------ failures seen as DLQ arrivals
@pytest.fixture(scope="module")
def dead_letters() -> dict[str, Any]:
    return _rehearse("async-dead-letters-blue-green")


def test_a_candidate_whose_failures_show_as_dead_letters_is_rolled_back(
    dead_letters: dict[str, Any],
) -> None:
    result = dead_letters["result"]
    assert result["outcome"] == "ROLLED_BACK"
    # after the cutover the old version serves nothing: its attempts before the cutover are the
    # baseline (30% poison), and the errors comparison before/after proves the regression
    assert result["reason"].startswith("post-promotion bake failed analysis: errors: ")
    tick = _failing_tick(result)
    gates = {g["gate"]: g for g in tick["gates"]}
    errors = gates["errors"]["evidence"]
    assert errors["baseline"] == "before-cutover"
    assert errors["newErrorRate"] > 2 * errors["oldErrorRate"] > 0  # poison fails on both
    assert errors["eValue"] >= errors["rejectAt"]
    assert gates["dropped-events"]["verdict"] != "FAIL"  # the drops judged too, not yet proven
    assert result["decisionAtSeconds"] < 600, "rolled back during the watch"
    # the DLQ shows it: records of the new version's last attempts, good uploads among them
    assert result["asyncByVersion"][result["toVersion"]]["onFailure"] > 0
    assert any(r["responsePayload"]["errorType"] == "InjectedFault" for r in dead_letters["dead"])
    _nothing_stranded(dead_letters)
    assert result["alias"]["functionVersion"] == result["fromVersion"]


# ------------------------------------------------------------------ the last bake
def test_a_short_last_bake_is_lengthened_to_the_retry_window() -> None:
    run = _rehearse("async-short-bake")
    result = run["result"]
    assert result["outcome"] == "PROMOTED"
    [step] = result["steps"]
    assert step["bakeSeconds"] == 300  # Canary50Percent1Minute asked for 60
    # then until the metrics of its last minute are in (metricsDelaySeconds after it ends)
    assert [t["elapsedSeconds"] for t in step["ticks"]] == [60, 120, 180, 240, 300, 360, 420]
    assert result["decisionAtSeconds"] >= 300
    target = result["asyncTarget"]
    assert (target["maximumRetryAttempts"], target["retryWindowSeconds"]) == (2, 300)
    assert target["lastBake"].startswith("step 1 (50%): bake 60 s -> 300 s: ")
    _nothing_stranded(run)
