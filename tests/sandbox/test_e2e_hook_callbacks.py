"""End to end: lifecycle hooks in callback mode (analysis.preTrafficHookCallback /
postTrafficHookCallback, docs/reference.md#hooks) through the real ASL's AwaitHook state.

The hook is a small zip function of this test (tagged coalmine:hook=true, as Prepare demands): it
writes the payload it is invoked with (taskToken included) to a file and returns at once. The
hook's "worker" is a clock listener: once the payload is there it sends SendTaskHeartbeat,
SendTaskSuccess or SendTaskFailure at given simulated seconds after the invocation, or nothing;
the sandbox's Step Functions times the wait (TimeoutSecondsPath) and its heartbeat
(HeartbeatSecondsPath) out on the simulated clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import FUNCTION, alias_snapshot, finish, publish_candidate, routing, start_traffic

from coalmine import execution_limits
from coalmine_cli import status
from coalmine_cli.progress import progress_lines
from coalmine_sandbox import Sandbox

HOOK = "callback-hook"
HOOK_CODE = """
import json, os

def handler(event, context):
    with open(os.environ["HOOK_LOG"], "a") as log:
        log.write(json.dumps(event) + "\\n")
    return {"accepted": True}
"""
SUCCEEDED = {"status": "SUCCEEDED"}
#: an AllAtOnce with no watch: nothing to analyse, so the hooks alone decide
AT_ONCE = {"strategy": "AllAtOnce", "analysis": {"watchSeconds": 0}}


def heartbeat(sb: Sandbox, token: str) -> str:
    sb.client("stepfunctions").send_task_heartbeat(taskToken=token)
    return "heartbeat"


def success(answer: dict[str, Any]) -> Any:
    def send(sb: Sandbox, token: str) -> str:
        sb.client("stepfunctions").send_task_success(taskToken=token, output=json.dumps(answer))
        return "success"

    return send


def failure(error: str, cause: str) -> Any:
    def send(sb: Sandbox, token: str) -> str:
        sfn = sb.client("stepfunctions")
        sfn.send_task_failure(taskToken=token, error=error, cause=cause)
        return "failure"

    return send


STATUS: list[str] = []  # what `coalmine status` printed just before the console stop


def console_stop(sb: Sandbox, token: str) -> str:
    assert sb.hooks is not None
    arn = sb.hooks.sfn.running[-1]
    described = sb.client("stepfunctions").describe_execution(executionArn=arn)
    STATUS[:] = status.lines(described, _history_events(sb, arn))
    sb.stop_execution(arn, "console stop")
    return "stop"


class Worker:
    """The hook's worker, as a clock listener: once AwaitHook has invoked the hook for
    ``lifecycle`` (its payload in the log), at each ``(seconds after, action)`` of the script it
    calls ``action(sandbox, the wait's task token)``."""

    def __init__(self, sb: Sandbox, log: Path, lifecycle: str, script: list[Any]) -> None:
        self.sb, self.log, self.lifecycle, self.script = sb, log, lifecycle, list(script)
        self.payload: dict[str, Any] | None = None
        self.invoked_at: datetime | None = None
        self.sent: list[tuple[float, str]] = []

    def __call__(self, t_from: datetime, t_to: datetime) -> None:
        if self.payload is None:
            lines = self.log.read_text().splitlines() if self.log.exists() else []
            mine = [json.loads(x) for x in lines if json.loads(x)["lifecycle"] == self.lifecycle]
            if mine:
                self.payload, self.invoked_at = mine[0], t_to
            return
        assert self.invoked_at is not None
        elapsed = (t_to - self.invoked_at).total_seconds()
        while self.script and self.script[0][0] <= elapsed:
            _, action = self.script.pop(0)
            self.sent.append((elapsed, action(self.sb, self.payload["taskToken"])))


@pytest.fixture
def sandbox(tmp_path: Path, make_function: Any) -> Iterator[Sandbox]:
    with Sandbox(seed=11) as sb:
        function = make_function(
            sb, HOOK, {"hook.py": HOOK_CODE}, "hook.handler", {"HOOK_LOG": str(tmp_path / "log")}
        )
        sb.client("lambda").tag_resource(
            Resource=function["FunctionArn"], Tags={"coalmine:hook": "true"}
        )
        yield sb


def _deploy(
    sb: Sandbox, worker: Worker, request: dict[str, Any], rps: float = 0, release: str = "new"
) -> tuple[Any, dict[str, Any], str]:
    """Deploy a candidate with ``request``'s strategy and analysis; the ending, the document
    (the execution's output, else the last one recorded in the lock's history), the candidate."""
    candidate = publish_candidate(sb, release)
    stop_traffic = start_traffic(sb, rps)[1] if rps else (lambda: None)
    remove = sb.add_listener(worker)
    done = finish(
        sb, sb.start_execution({"functionName": FUNCTION, "targetVersion": candidate} | request)
    )
    remove()
    stop_traffic()
    return done, _document(sb, done), candidate


def _document(sb: Sandbox, done: Any) -> dict[str, Any]:
    if done.description.get("output"):
        return dict(json.loads(done.description["output"]))
    events = sb.client("stepfunctions").get_execution_history(
        executionArn=done.description["executionArn"], maxResults=1000, reverseOrder=True
    )["events"]
    for event in events:
        text = (event.get("stateExitedEventDetails") or {}).get("output") or ""
        if '"deploymentId"' in text:
            return dict(json.loads(text))
    raise AssertionError(f"no deployment document in the history: {done.error} {done.cause}")


def _analysis(request: dict[str, Any], **more: Any) -> dict[str, Any]:
    return request | {"analysis": request.get("analysis", {}) | more}


def test_a_hook_that_answers_after_20_minutes_with_heartbeats_is_promoted(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # Given a canary whose pre-traffic hook answers by callback: a heartbeat every 4 minutes
    # (heartbeatSeconds 300), SUCCEEDED after 20 simulated minutes
    beats = [(s, heartbeat) for s in (240, 480, 720, 960)]
    answer = (1200, success(SUCCEEDED))
    worker = Worker(sandbox, tmp_path / "log", "PreTraffic", [*beats, answer])
    callback = {"timeoutSeconds": 3600, "heartbeatSeconds": 300}
    request = {"strategy": "Canary10Percent5Minutes", "analysis": {
        "preTrafficHook": HOOK, "preTrafficHookCallback": callback}}  # fmt: skip
    done, document, candidate = _deploy(sandbox, worker, request, rps=5)
    # Then it waited for the answer, shifted, baked and was promoted
    assert done.status == "SUCCEEDED", done.cause
    assert routing(alias_snapshot(sandbox)) == (candidate, {})
    assert [c for _, c in worker.sent] == ["heartbeat"] * 4 + ["success"]
    (hook,) = document["hooks"]
    assert (hook["gate"], hook["verdict"], hook["reason"]) == (
        "pre-traffic-hook", "PASS", "the hook answered SUCCEEDED")  # fmt: skip
    assert hook["evidence"]["mode"] == "callback"
    assert 1200 <= hook["evidence"]["waitedSeconds"] < 1300
    assert document.get("hookWait") is None  # the wait is not kept in the document
    # the hook got the synchronous payload plus its task token
    assert worker.payload is not None
    assert worker.payload["toVersion"] == candidate
    assert worker.payload["taskToken"]
    entered = done.entered
    assert entered.index("AwaitHook") < entered.index("ShiftTraffic", entered.index("AwaitHook"))
    # what `coalmine deploy` prints while it waits, then once it shifted
    lines = list(progress_lines(_history_events(sandbox, done.description["executionArn"])))
    waits = [line for line in lines if "waiting for the pre-traffic hook" in line]
    assert waits == [
        f"  [ShiftTraffic] waiting for the pre-traffic hook {HOOK} to answer (up to 3600 s, "
        "a heartbeat at least every 300 s)"
    ]
    shifted = [line for line in lines if line.startswith("  [ShiftTraffic] step 1/1: 10%")]
    assert shifted == [
        f"  [ShiftTraffic] step 1/1: 10% -> v{candidate}, bake 300 s (pre-traffic hook {HOOK} PASS)"
    ]


def test_a_hook_that_answers_failed_rolls_back_with_its_reason(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # Given an AllAtOnce whose post-traffic hook answers FAILED 10 minutes after the cutover
    failed = {"status": "FAILED", "reason": "checkout fails for partner acme"}
    answer = (600, success(failed))
    worker = Worker(sandbox, tmp_path / "log", "PostTraffic", [answer])
    request = _analysis(AT_ONCE, postTrafficHook=HOOK, postTrafficHookCallback={})
    done, document, _ = _deploy(sandbox, worker, request)
    # Then the alias is back wholly on the old version, the hook's reason the execution's cause
    assert (done.status, done.error) == ("FAILED", "DeploymentRolledBack")
    assert done.cause == f"post-traffic hook {HOOK} failed: checkout fails for partner acme"
    assert routing(alias_snapshot(sandbox)) == (document["fromVersion"], {})
    assert [(h["gate"], h["verdict"]) for h in document["hooks"]] == [("post-traffic-hook", "FAIL")]


@pytest.mark.parametrize(
    ("callback", "script", "cause"),
    [
        (
            {"timeoutSeconds": 600, "heartbeatSeconds": 120},
            [(s, heartbeat) for s in range(100, 700, 100)],
            "no answer within timeoutSeconds (600 s; States.Timeout)",
        ),
        (
            {"timeoutSeconds": 600},
            [],
            "no answer within timeoutSeconds (600 s)",
        ),
        (
            {"timeoutSeconds": 3600, "heartbeatSeconds": 120},
            [(60, heartbeat), (150, heartbeat)],
            "no heartbeat or answer for heartbeatSeconds (120 s; States.HeartbeatTimeout)",
        ),
        (
            {"timeoutSeconds": 3600},
            [(30, failure("SmokeFailed", "GET /brands: 500"))],
            "it failed (SendTaskFailure, or its invocation failed): SmokeFailed: GET /brands: 500",
        ),
    ],
    ids=["timeout", "timeout-no-heartbeat-asked", "heartbeat-timeout", "send-task-failure"],
)
def test_a_hook_that_does_not_answer_in_time_rolls_back_naming_why(
    sandbox: Sandbox, tmp_path: Path, callback: dict[str, Any], script: list[Any], cause: str
) -> None:
    # Given a pre-traffic hook whose worker never answers, stops heartbeating, or fails it
    worker = Worker(sandbox, tmp_path / "log", "PreTraffic", script)
    request = _analysis(AT_ONCE, preTrafficHook=HOOK, preTrafficHookCallback=callback)
    done, document, _ = _deploy(sandbox, worker, request)
    # Then the deployment rolls back before any traffic moved, naming the reason
    assert (done.status, done.error) == ("FAILED", "DeploymentRolledBack")
    assert done.cause == f"pre-traffic hook {HOOK} failed: {cause}"
    assert routing(alias_snapshot(sandbox)) == (document["fromVersion"], {})
    (hook,) = document["hooks"]
    waited = hook["evidence"]["waitedSeconds"]
    if callback["timeoutSeconds"] == 600:  # heartbeats or not: the wait's whole timeout
        assert 599 <= waited < 660
    elif "heartbeatSeconds" in callback:  # the last heartbeat at 150 s, then 120 s of nothing
        assert 270 <= waited < 300
    else:
        assert waited < 60


@pytest.mark.parametrize("lifecycle", ["PreTraffic", "PostTraffic"])
def test_a_console_stop_while_the_hook_waits_leaves_the_alias_whole_and_the_lock_free(
    sandbox: Sandbox, tmp_path: Path, lifecycle: str
) -> None:
    # Given a hook that never answers, and a StopExecution 2 minutes into its wait (after the
    # cutover, for the post-traffic one: the alias is on the new version meanwhile)
    worker = Worker(sandbox, tmp_path / "log", lifecycle, [(120, console_stop)])
    field = "preTrafficHook" if lifecycle == "PreTraffic" else "postTrafficHook"
    request = _analysis(AT_ONCE, **{field: HOOK, f"{field}Callback": {"timeoutSeconds": 3600}})
    done, document, candidate = _deploy(sandbox, worker, request)
    # Then it ends ABORTED, Cleanup put the alias wholly on the old version and freed the lock
    assert [what for _, what in worker.sent] == ["stop"], "the wait was never reached"
    hook = [line for line in STATUS if line.startswith("  hook ")]
    assert len(hook) == 1, STATUS
    assert hook[0].startswith(
        f"  hook    waiting for the {lifecycle[:-7].lower()}-traffic hook {HOOK} since "
    )
    assert hook[0].endswith("(then rollback)")  # no heartbeat asked for
    assert done.status == "ABORTED"
    assert document["toVersion"] == candidate
    assert routing(alias_snapshot(sandbox)) == (document["fromVersion"], {})
    locks = sandbox.client("dynamodb").scan(TableName=sandbox.stack["DeploymentLocksTable"])
    assert locks["Items"] == []


def _history_events(sb: Sandbox, arn: str) -> list[dict[str, Any]]:
    sfn, kwargs = sb.client("stepfunctions"), {"executionArn": arn, "maxResults": 1000}
    events: list[dict[str, Any]] = []
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def test_a_callback_hook_costs_at_most_the_events_prepare_counts_for_it(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # Given the same AllAtOnce deployed with no hook, then with a callback pre-traffic hook that
    # heartbeats twice and answers SUCCEEDED after 10 minutes
    plain, _, _ = _deploy(sandbox, Worker(sandbox, tmp_path / "none", "PreTraffic", []), AT_ONCE)
    script = [(200, heartbeat), (400, heartbeat), (600, success(SUCCEEDED))]
    worker = Worker(sandbox, tmp_path / "log", "PreTraffic", script)
    request = _analysis(AT_ONCE, preTrafficHook=HOOK, preTrafficHookCallback={})
    hooked, _, _ = _deploy(sandbox, worker, request, release="newer")
    # Then both are promoted, and the wait cost what execution_limits counts for it, or less
    assert (plain.status, hooked.status) == ("SUCCEEDED", "SUCCEEDED")
    extra = len(_history_events(sandbox, hooked.description["executionArn"])) - len(
        _history_events(sandbox, plain.description["executionArn"])
    )
    assert 0 < extra <= execution_limits.EVENTS_PER_CALLBACK_HOOK
