"""Lifecycle hooks (pure): the payload, how an answer is judged, and what a result does to the
deployment (nothing, roll back, or only recorded in a dry run)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from coalmine import deployment, hooks, ownership, strategies
from coalmine.exceptions import InvokeFailed
from coalmine.models import (
    Action,
    AnalysisConfig,
    Deployment,
    HookCallback,
    HookWait,
    Invoked,
    Outcome,
    Verdict,
)

HOOK = "brand-api-smoke"


def _published(strategy: str = "Canary10Percent5Minutes", **analysis: Any) -> Deployment:
    config = AnalysisConfig(pre_traffic_hook=HOOK, post_traffic_hook=HOOK, **analysis)
    plan = strategies.resolve(strategy)
    d = deployment.prepared("d-1", "brand-api", "prod", "1", "rev-0", plan, config, "2", None)
    return deployment.published(d, "2")


class FakeInvoke:
    """Answers every invocation with ``answer`` (or raises it) and remembers the calls."""

    def __init__(self, answer: Invoked | Exception) -> None:
        self.answer = answer
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, function: str, payload: Mapping[str, Any]) -> Invoked:
        self.calls.append((function, dict(payload)))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def _answer(body: Any, function_error: str | None = None) -> Invoked:
    text = body if isinstance(body, str) else json.dumps(body)
    return Invoked(payload=text, function_error=function_error, executed_version="$LATEST")


PASSED = _answer({"status": "SUCCEEDED"})
FAILED = _answer({"status": "FAILED", "reason": "GET /brands/acme answered 500"})


# ----------------------------------------------------------------------------- payload
@pytest.mark.parametrize("lifecycle", [hooks.PRE_TRAFFIC, hooks.POST_TRAFFIC])
def test_the_payload_names_the_version_to_test(lifecycle: hooks.Lifecycle) -> None:
    assert hooks.payload(_published(), lifecycle) == {
        "deploymentId": "d-1",
        "lifecycle": lifecycle,
        "functionName": "brand-api",
        "alias": "prod",
        "fromVersion": "1",
        "toVersion": "2",
    }


# ----------------------------------------------------------------------------- judging answers
@pytest.mark.parametrize(
    ("answer", "verdict", "reason"),
    [
        (_answer({"status": "SUCCEEDED"}), Verdict.PASS, "the hook answered SUCCEEDED"),
        (_answer({"status": "SUCCEEDED", "checked": ["a"]}), Verdict.PASS, "answered SUCCEEDED"),
        (FAILED, Verdict.FAIL, "GET /brands/acme answered 500"),
        (_answer({"status": "FAILED"}), Verdict.FAIL, "answered FAILED without a reason"),
        (_answer({"status": "FAILED", "reason": ""}), Verdict.FAIL, "FAILED without a reason"),
        (
            _answer({"errorMessage": "boom", "errorType": "KeyError"}, "Unhandled"),
            Verdict.FAIL,
            "the hook raised KeyError: boom",
        ),
        (
            _answer({"status": "SUCCEEDED"}, "Unhandled"),  # an error wins over what it says
            Verdict.FAIL,
            "the hook raised an error (Unhandled)",
        ),
        (_answer("not json", "Unhandled"), Verdict.FAIL, "raised an error (Unhandled): not json"),
        (_answer("OK"), Verdict.FAIL, "its answer is not JSON; a hook answers"),
        (_answer(""), Verdict.FAIL, "its answer is not JSON"),
        (_answer("null"), Verdict.FAIL, "its answer has no status; a hook answers"),
        (_answer(["SUCCEEDED"]), Verdict.FAIL, "its answer has no status"),
        (_answer({"result": "ok"}), Verdict.FAIL, "its answer has no status"),
        (_answer({"status": "Succeeded"}), Verdict.FAIL, "it answered status 'Succeeded'"),
        (_answer({"status": True}), Verdict.FAIL, "it answered status True"),
    ],
)
def test_an_answer_is_judged(answer: Invoked, verdict: Verdict, reason: str) -> None:
    result = hooks.judge(HOOK, hooks.PRE_TRAFFIC, answer)

    assert (result.gate, result.verdict) == ("pre-traffic-hook", verdict)
    assert reason in result.reason
    assert result.evidence["function"] == HOOK
    assert result.evidence["lifecycle"] == "PreTraffic"


def test_a_long_answer_is_shortened_in_the_evidence() -> None:
    answer = _answer({"status": "FAILED", "reason": "x" * 5000})

    result = hooks.judge(HOOK, hooks.POST_TRAFFIC, answer)

    assert result.gate == "post-traffic-hook"
    assert len(result.reason) == hooks.SHOWN_CHARACTERS
    assert len(result.evidence["response"]) == hooks.SHOWN_CHARACTERS


def test_run_invokes_the_configured_hook_with_the_payload() -> None:
    invoke = FakeInvoke(PASSED)

    result = hooks.run(_published(), hooks.PRE_TRAFFIC, invoke)

    assert result is not None
    assert result.verdict == Verdict.PASS
    assert invoke.calls == [(HOOK, hooks.payload(_published(), hooks.PRE_TRAFFIC))]


def test_a_hook_coalmine_cannot_invoke_fails_naming_why() -> None:
    invoke = FakeInvoke(InvokeFailed("no Lambda function brand-api-smoke: Function not found"))

    result = hooks.run(_published(), hooks.POST_TRAFFIC, invoke)

    assert result is not None
    assert result.verdict == Verdict.FAIL
    assert result.reason == "no Lambda function brand-api-smoke: Function not found"


def test_no_hook_configured_invokes_nothing() -> None:
    d = _published().model_copy(update={"analysis": AnalysisConfig()})
    invoke = FakeInvoke(PASSED)

    assert hooks.run(d, hooks.PRE_TRAFFIC, invoke) is None
    assert hooks.before_traffic(d, invoke) == d
    assert hooks.after_promotion(d, "rev-9", invoke) == deployment.promoted(d, "rev-9")
    assert invoke.calls == []


# ----------------------------------------------------------------------------- before traffic
def test_a_passing_pre_traffic_hook_is_recorded_and_changes_nothing_else() -> None:
    d = _published()

    checked = hooks.before_traffic(d, FakeInvoke(PASSED))

    assert checked.action == Action.SHIFT
    assert checked.reason is None
    [result] = checked.hooks
    assert (result.gate, result.verdict) == ("pre-traffic-hook", Verdict.PASS)
    assert result.evidence["enforced"] is True


def test_a_failing_pre_traffic_hook_rolls_back_before_any_shift() -> None:
    d = _published()

    checked = hooks.before_traffic(d, FakeInvoke(FAILED))

    assert (checked.action, checked.step_index, checked.weight) == (Action.ROLLBACK, -1, 0.0)
    assert checked.reason == (
        "pre-traffic hook brand-api-smoke failed: GET /brands/acme answered 500"
    )
    assert checked.hooks[0].verdict == Verdict.FAIL
    # Rollback (nothing to undo) ends with that reason
    rolled = deployment.rolled_back(checked, "rev-0")
    assert (rolled.outcome, rolled.reason) == (Outcome.ROLLED_BACK, checked.reason)


def test_a_dry_run_records_a_failing_pre_traffic_hook_and_goes_on() -> None:
    d = _published(dry_run=True)

    checked = hooks.before_traffic(d, FakeInvoke(FAILED))

    assert checked.action == Action.SHIFT
    assert checked.hooks[0].verdict == Verdict.FAIL
    assert checked.hooks[0].evidence["enforced"] is False
    assert checked.reason == (
        "dry run: pre-traffic hook brand-api-smoke would have failed: GET /brands/acme answered 500"
    )


def test_the_pre_traffic_hook_runs_only_before_the_first_shift() -> None:
    shifted = deployment.shifted(_published(), "rev-1")
    invoke = FakeInvoke(FAILED)

    assert hooks.before_traffic(shifted, invoke) == shifted
    assert invoke.calls == []


# ----------------------------------------------------------------------------- after promotion
def test_a_passing_post_traffic_hook_promotes() -> None:
    d = _published("AllAtOnce")

    done = hooks.after_promotion(d, "rev-9", FakeInvoke(PASSED))

    assert (done.outcome, done.action, done.weight) == (Outcome.PROMOTED, Action.FINISH, 1.0)
    assert [h.gate for h in done.hooks] == ["post-traffic-hook"]


def test_a_failing_post_traffic_hook_sends_the_promoted_alias_to_rollback() -> None:
    d = _published("AllAtOnce")

    done = hooks.after_promotion(d, "rev-9", FakeInvoke(FAILED))

    # the alias is wholly on the new version (claimable by Rollback), but the action is ROLLBACK
    assert (done.action, done.weight, done.revision_id) == (Action.ROLLBACK, 1.0, "rev-9")
    assert ownership.current_routing(done) == ("2", {})
    assert done.reason == "post-traffic hook brand-api-smoke failed: GET /brands/acme answered 500"
    rolled = deployment.rolled_back(done, "rev-10")
    assert (rolled.outcome, rolled.reason) == (Outcome.ROLLED_BACK, done.reason)


def test_a_failing_post_traffic_hook_skips_the_post_promotion_bake() -> None:
    d = _published("AllAtOnce")
    d.plan.post_promotion_bake_seconds = 600

    done = hooks.after_promotion(d, "rev-9", FakeInvoke(FAILED))

    assert (done.action, done.bake.bake_seconds, done.steps) == (Action.ROLLBACK, 0, [])


def test_a_dry_run_promotes_despite_a_failing_post_traffic_hook() -> None:
    d = _published("AllAtOnce", dry_run=True)

    done = hooks.after_promotion(d, "rev-9", FakeInvoke(FAILED))

    assert (done.outcome, done.action) == (Outcome.PROMOTED, Action.FINISH)
    assert done.hooks[0].evidence["enforced"] is False
    assert done.reason is not None
    assert done.reason.startswith("dry run: post-traffic hook brand-api-smoke would have failed")


# ----------------------------------------------------------------------------- callback mode
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def _callback(
    strategy: str = "Canary10Percent5Minutes", heartbeat: int | None = 300, **analysis: Any
) -> Deployment:
    callback = HookCallback(timeout_seconds=1800, heartbeat_seconds=heartbeat)
    return _published(
        strategy,
        pre_traffic_hook_callback=callback,
        post_traffic_hook_callback=callback,
        **analysis,
    )


def _waited(d: Deployment, answer: Any = None, error: dict[str, Any] | None = None) -> Deployment:
    """``d`` as AwaitHook hands it back: the answer at hookWait.answer, or the Catch's error."""
    assert d.hook_wait is not None
    wait = d.hook_wait.model_copy(update={"answer": answer, "error": error})
    return d.model_copy(update={"hook_wait": wait})


@pytest.mark.parametrize(("heartbeat", "expected"), [(300, 300), (None, 1799)])
def test_a_callback_hook_is_not_invoked_but_waited_for(
    heartbeat: int | None, expected: int
) -> None:
    invoke = FakeInvoke(PASSED)
    waiting = hooks.before_traffic(_callback(heartbeat=heartbeat), invoke, NOW)
    assert invoke.calls == []
    assert waiting.action == Action.HOOK
    assert waiting.hooks == []
    assert waiting.hook_wait == HookWait(
        lifecycle="PreTraffic",
        function=HOOK,
        resume="SHIFT",
        since=NOW,
        timeout_seconds=1800,
        # none asked for: just below the timeout (Step Functions wants it smaller)
        heartbeat_seconds=expected,
        heartbeat_asked=heartbeat is not None,
    )
    # the ASL reads the wait's fields by these names (TimeoutSecondsPath, HeartbeatSecondsPath)
    assert {"timeoutSeconds", "heartbeatSeconds", "function", "resume"} <= set(
        waiting.to_json()["hookWait"]
    )


@pytest.mark.parametrize(
    ("answer", "error", "verdict", "reason"),
    [
        ({"status": "SUCCEEDED"}, None, Verdict.PASS, "the hook answered SUCCEEDED"),
        ({"status": "FAILED", "reason": "e2e: 3 failed"}, None, Verdict.FAIL, "e2e: 3 failed"),
        ({"status": "OK"}, None, Verdict.FAIL, "it answered status 'OK'; a hook answers"),
        ("SUCCEEDED", None, Verdict.FAIL, "its answer has no status"),
        (None, None, Verdict.FAIL, "its answer has no status"),
        (
            None,
            {"Error": "States.Timeout", "Cause": None},
            Verdict.FAIL,
            "no answer within timeoutSeconds (1800 s; States.Timeout)",
        ),
        (
            None,
            {"Error": "States.HeartbeatTimeout"},
            Verdict.FAIL,
            "no heartbeat or answer for heartbeatSeconds (300 s; States.HeartbeatTimeout)",
        ),
        (
            None,
            {"Error": "SmokeFailed", "Cause": "GET /brands answered 500"},
            Verdict.FAIL,
            "it failed (SendTaskFailure, or its invocation failed): SmokeFailed: GET /brands "
            "answered 500",
        ),
        (
            None,
            {"Error": None, "Cause": None},
            Verdict.FAIL,
            "it failed (SendTaskFailure, or its invocation failed): (no error name): (no cause)",
        ),
    ],
    ids=[
        "succeeded",
        "failed",
        "bad-status",
        "not-an-object",
        "null",
        "timeout",
        "heartbeat-timeout",
        "send-task-failure",
        "nameless-failure",
    ],
)
def test_a_callback_answer_or_error_is_judged(
    answer: Any, error: dict[str, Any] | None, verdict: Verdict, reason: str
) -> None:
    waiting = hooks.before_traffic(_callback(), FakeInvoke(PASSED), NOW)
    later = NOW + timedelta(minutes=20)
    d = hooks.before_traffic(_waited(waiting, answer, error), FakeInvoke(PASSED), later)
    (result,) = d.hooks
    assert (result.gate, result.verdict) == ("pre-traffic-hook", verdict)
    assert reason in result.reason
    assert result.evidence["mode"] == "callback"
    assert result.evidence["waitedSeconds"] == 1200
    assert d.hook_wait is None  # the wait is gone from the document once judged
    if verdict == Verdict.PASS:
        assert d.action == Action.SHIFT  # back to what it was doing: the first shift
        assert d.reason is None
    else:
        assert d.action == Action.ROLLBACK
        assert d.reason == f"pre-traffic hook {HOOK} failed: {result.reason}"


def test_with_no_heartbeat_asked_its_window_ending_is_the_timeout() -> None:
    waiting = hooks.before_traffic(_callback(heartbeat=None), FakeInvoke(PASSED), NOW)
    error = {"Error": "States.HeartbeatTimeout", "Cause": None}
    d = hooks.before_traffic(_waited(waiting, error=error), FakeInvoke(PASSED), NOW)
    assert d.reason == f"pre-traffic hook {HOOK} failed: no answer within timeoutSeconds (1800 s)"
    assert d.hooks[0].evidence["error"] == "States.HeartbeatTimeout"


def test_a_long_callback_answer_is_shortened_in_the_evidence() -> None:
    waiting = hooks.before_traffic(_callback(), FakeInvoke(PASSED), NOW)
    answer = {"status": "FAILED", "reason": "x" * 5000}
    d = hooks.before_traffic(_waited(waiting, answer), FakeInvoke(PASSED), NOW)
    (result,) = d.hooks
    assert len(result.evidence["response"]) == hooks.SHOWN_CHARACTERS
    assert len(result.reason) == hooks.SHOWN_CHARACTERS


def test_a_dry_run_records_a_failed_callback_and_goes_on() -> None:
    waiting = hooks.before_traffic(_callback(dry_run=True), FakeInvoke(PASSED), NOW)
    d = hooks.before_traffic(
        _waited(waiting, error={"Error": "States.Timeout"}), FakeInvoke(PASSED), NOW
    )
    assert d.action == Action.SHIFT
    assert d.hooks[0].evidence["enforced"] is False


def test_a_post_traffic_callback_waits_with_the_alias_promoted_but_not_the_promotion() -> None:
    # AllAtOnce: Promote runs the pre-traffic hook (answered), writes the alias, then waits
    pre_waiting = hooks.around_promotion(
        _callback("AllAtOnce"), "rev-0", FakeInvoke(PASSED), NOW, _never_written
    )
    assert pre_waiting.action == Action.HOOK
    assert pre_waiting.hook_wait is not None
    assert pre_waiting.hook_wait.resume == "PROMOTE"
    writes: list[str] = []
    answered = _waited(pre_waiting, {"status": "SUCCEEDED"})
    post_waiting = hooks.around_promotion(
        answered, "rev-0", FakeInvoke(PASSED), NOW, lambda: writes.append("w") or "rev-1"
    )
    assert writes == ["w"]
    assert post_waiting.action == Action.HOOK
    assert post_waiting.hook_wait is not None
    assert post_waiting.hook_wait.lifecycle == "PostTraffic"
    # the write is recorded (Rollback and Cleanup claim it) but not the promotion: a stop now
    # puts the old version back
    assert (post_waiting.revision_id, post_waiting.weight) == ("rev-1", 1.0)
    assert post_waiting.outcome == Outcome.IN_PROGRESS
    assert [h.verdict for h in post_waiting.hooks] == [Verdict.PASS]


def _never_written() -> str:
    raise AssertionError("the alias must not be written while a pre-traffic hook waits")


@pytest.mark.parametrize(
    ("answer", "action", "outcome"),
    [
        ({"status": "SUCCEEDED"}, Action.FINISH, Outcome.PROMOTED),
        ({"status": "FAILED", "reason": "checkout broken"}, Action.ROLLBACK, Outcome.PROMOTED),
    ],
)
def test_a_post_traffic_callback_answer_promotes_or_rolls_back_without_a_second_write(
    answer: dict[str, Any], action: Action, outcome: Outcome
) -> None:
    config = AnalysisConfig(
        post_traffic_hook=HOOK, post_traffic_hook_callback=HookCallback(), watch_seconds=0
    )
    plan = strategies.resolve("AllAtOnce")
    d = deployment.published(
        deployment.prepared("d-1", "brand-api", "prod", "1", "rev-0", plan, config, "2", None), "2"
    )
    waiting = hooks.around_promotion(d, "rev-0", FakeInvoke(PASSED), NOW, lambda: "rev-1")
    assert waiting.action == Action.HOOK
    done = hooks.around_promotion(
        _waited(waiting, answer), "rev-1", FakeInvoke(PASSED), NOW, _never_written
    )
    assert (done.action, done.outcome, done.revision_id) == (action, outcome, "rev-1")
    assert done.hook_wait is None
    assert [(h.gate, h.evidence["mode"]) for h in done.hooks] == [("post-traffic-hook", "callback")]
