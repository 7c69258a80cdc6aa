"""Lifecycle hooks in ShiftTraffic and Promote against moto: a failing pre-traffic hook leaves the
alias untouched, a failing post-traffic hook sends a promoted alias to Rollback without recording
the promotion.

moto cannot run a function without Docker, so the hook's answer is faked at LambdaInvoker.invoke
(the adapter itself: test_lambda_invoke.py); a hook that does not exist is asked of moto.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from integration_helpers import SHIFTED_REVISION

from coalmine.adapters.lambda_invoke import LambdaInvoker
from coalmine.handlers import promote, rollback, shift_traffic
from coalmine.models import Invoked
from events import load_event

HOOK = "brand-api-smoke"
PASSED = Invoked(payload='{"status": "SUCCEEDED"}', executed_version="$LATEST")
FAILED = Invoked(payload='{"status": "FAILED", "reason": "GET /brands/acme answered 500"}')


class HookCalls:
    """LambdaInvoker.invoke replaced: answers ``answer``, records (function, payload)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, answer: Invoked) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

        def invoke(api: LambdaInvoker, function: str, payload: Mapping[str, Any]) -> Invoked:
            self.calls.append((function, dict(payload)))
            return answer

        monkeypatch.setattr(LambdaInvoker, "invoke", invoke)


def _with_hooks(event: dict[str, Any], pre: str | None = None, post: str | None = None) -> Any:
    event["analysis"] |= {"preTrafficHook": pre, "postTrafficHook": post}
    return event


def _all_at_once(pre: str | None = None, post: str | None = None) -> dict[str, Any]:
    event = load_event("publish-version") | {"toVersion": "2", "action": "PROMOTE"}
    event["plan"] = {"strategy": "AllAtOnce", "steps": [], "postPromotionBakeSeconds": 0}
    return _with_hooks(event, pre, post)


# ----------------------------------------------------------------------------- ShiftTraffic
def test_a_passing_pre_traffic_hook_tests_the_new_version_then_shifts(
    world: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = HookCalls(monkeypatch, PASSED)

    out = shift_traffic.handler(_with_hooks(load_event("shift-traffic"), pre=HOOK), lambda_context)

    assert hook.calls == [
        (
            HOOK,
            {
                "deploymentId": "deploy-brand-api-0001",
                "lifecycle": "PreTraffic",
                "functionName": "brand-api",
                "alias": "prod",
                "fromVersion": "1",
                "toVersion": "2",
            },
        )
    ]
    assert world.alias() == {"version": "1", "weights": {"2": 0.1}}
    assert out["action"] == "BAKE"
    assert [(h["gate"], h["verdict"]) for h in out["hooks"]] == [("pre-traffic-hook", "PASS")]


def test_a_failing_pre_traffic_hook_shifts_nothing(
    world: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    HookCalls(monkeypatch, FAILED)

    out = shift_traffic.handler(_with_hooks(load_event("shift-traffic"), pre=HOOK), lambda_context)

    assert world.alias() == {"version": "1", "weights": {}}
    assert (out["action"], out["stepIndex"], out["steps"]) == ("ROLLBACK", -1, [])
    assert out["reason"] == "pre-traffic hook brand-api-smoke failed: GET /brands/acme answered 500"
    # Then Rollback has nothing to undo and ends with the hook's reason
    done = rollback.handler(out, lambda_context)
    assert (done["outcome"], done["reason"]) == ("ROLLED_BACK", out["reason"])
    assert world.alias() == {"version": "1", "weights": {}}


def test_the_pre_traffic_hook_does_not_run_at_later_steps(
    world: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = HookCalls(monkeypatch, FAILED)
    event = _with_hooks(load_event("shift-traffic"), pre=HOOK)
    event["analysis"]["preTrafficHook"] = None
    event["plan"]["steps"] = [{"weight": 0.1, "bakeSeconds": 0}, {"weight": 0.2, "bakeSeconds": 0}]
    first = shift_traffic.handler(event, lambda_context)
    first["analysis"]["preTrafficHook"] = HOOK

    second = shift_traffic.handler(first, lambda_context)

    assert hook.calls == []
    assert second["weight"] == 0.2


def test_a_missing_hook_rolls_back_naming_it(world: Any, lambda_context: Any) -> None:
    # Given a hook that does not exist (moto answers ResourceNotFoundException)
    out = shift_traffic.handler(
        _with_hooks(load_event("shift-traffic"), pre="brand-nope"), lambda_context
    )

    assert world.alias() == {"version": "1", "weights": {}}
    assert out["action"] == "ROLLBACK"
    assert out["reason"].startswith("pre-traffic hook brand-nope failed: no Lambda function")


# ----------------------------------------------------------------------------- Promote
def test_a_failing_post_traffic_hook_is_rolled_back_and_the_promotion_not_recorded(
    world: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.route("1", {"2": 0.1}, revision=SHIFTED_REVISION)
    world.hold_lock()
    hook = HookCalls(monkeypatch, FAILED)

    out = promote.handler(_with_hooks(load_event("promote"), post=HOOK), lambda_context)

    # the hook ran once the alias was wholly on the new version
    assert [payload["lifecycle"] for _, payload in hook.calls] == ["PostTraffic"]
    assert world.alias() == {"version": "2", "weights": {}}
    assert out["action"] == "ROLLBACK"
    assert out["reason"].startswith("post-traffic hook brand-api-smoke failed: ")
    recorded = json.loads((world.lock() or {})["deployment"]["S"])
    assert recorded["outcome"] != "PROMOTED", "the promotion is not recorded"
    # Then Rollback puts the old version back
    done = rollback.handler(out, lambda_context)
    assert world.alias() == {"version": "1", "weights": {}}
    assert (done["outcome"], done["reason"]) == ("ROLLED_BACK", out["reason"])


def test_a_passing_post_traffic_hook_promotes_and_records_it(
    world: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.route("1", {"2": 0.1}, revision=SHIFTED_REVISION)
    world.hold_lock()
    HookCalls(monkeypatch, PASSED)

    out = promote.handler(_with_hooks(load_event("promote"), post=HOOK), lambda_context)

    assert world.alias() == {"version": "2", "weights": {}}
    assert (out["outcome"], out["action"]) == ("PROMOTED", "FINISH")
    assert json.loads(world.lock()["deployment"]["S"])["outcome"] == "PROMOTED"


def test_all_at_once_runs_the_pre_traffic_hook_in_promote(
    world: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = HookCalls(monkeypatch, FAILED)

    out = promote.handler(_all_at_once(pre=HOOK, post=HOOK), lambda_context)

    assert [payload["lifecycle"] for _, payload in hook.calls] == ["PreTraffic"]
    assert world.alias() == {"version": "1", "weights": {}}
    assert out["action"] == "ROLLBACK"
    assert out["reason"].startswith("pre-traffic hook brand-api-smoke failed: ")


def test_all_at_once_runs_both_hooks_around_the_cut_over(
    world: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = HookCalls(monkeypatch, PASSED)

    out = promote.handler(_all_at_once(pre=HOOK, post=HOOK), lambda_context)

    assert [payload["lifecycle"] for _, payload in hook.calls] == ["PreTraffic", "PostTraffic"]
    assert world.alias() == {"version": "2", "weights": {}}
    assert [h["gate"] for h in out["hooks"]] == ["pre-traffic-hook", "post-traffic-hook"]
    assert out["outcome"] == "PROMOTED"


# ----------------------------------------------------------------------------- callback mode
CALLBACK = {"timeoutSeconds": 900, "heartbeatSeconds": 120}


def test_a_callback_pre_traffic_hook_is_waited_for_then_judged_by_shift_traffic(
    world: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = HookCalls(monkeypatch, PASSED)
    event = _with_hooks(load_event("shift-traffic"), pre=HOOK)
    event["analysis"]["preTrafficHookCallback"] = CALLBACK

    waiting = shift_traffic.handler(event, lambda_context)

    # not invoked here (AwaitHook invokes it), nothing shifted, the wait in the document
    assert hook.calls == []
    assert world.alias() == {"version": "1", "weights": {}}
    assert waiting["action"] == "HOOK"
    assert waiting["hookWait"] | {"since": None} == {
        "lifecycle": "PreTraffic", "function": HOOK, "resume": "SHIFT", "since": None,
        "timeoutSeconds": 900, "heartbeatSeconds": 120, "heartbeatAsked": True,
        "answer": None, "error": None,
    }  # fmt: skip
    # AwaitHook puts SendTaskSuccess's output in the wait; HookAnswered runs ShiftTraffic again
    waiting["hookWait"]["answer"] = {"status": "SUCCEEDED"}
    out = shift_traffic.handler(waiting, lambda_context)
    assert hook.calls == []
    assert world.alias() == {"version": "1", "weights": {"2": 0.1}}
    assert (out["action"], out["hookWait"]) == ("BAKE", None)
    assert [(h["gate"], h["verdict"]) for h in out["hooks"]] == [("pre-traffic-hook", "PASS")]


def test_a_callback_post_traffic_hook_waits_with_the_alias_promoted_and_the_write_in_the_lock(
    world: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.route("1", {"2": 0.1}, revision=SHIFTED_REVISION)
    world.hold_lock()
    HookCalls(monkeypatch, PASSED)
    event = _with_hooks(load_event("promote"), post=HOOK)
    event["analysis"]["postTrafficHookCallback"] = CALLBACK

    waiting = promote.handler(event, lambda_context)

    assert world.alias() == {"version": "2", "weights": {}}
    assert (waiting["action"], waiting["outcome"]) == ("HOOK", "IN_PROGRESS")
    recorded = json.loads((world.lock() or {})["deployment"]["S"])
    # Cleanup can claim the write (its revision) and knows the promotion is not done
    assert (recorded["revisionId"], recorded["outcome"]) == (waiting["revisionId"], "IN_PROGRESS")
    # the hook timed out: Promote runs again, judges it, and Rollback puts the old version back
    waiting["hookWait"]["error"] = {"Error": "States.Timeout", "Cause": None}
    out = promote.handler(waiting, lambda_context)
    assert out["action"] == "ROLLBACK"
    assert out["reason"] == (
        f"post-traffic hook {HOOK} failed: no answer within timeoutSeconds (900 s; States.Timeout)"
    )
    rollback.handler(out, lambda_context)
    assert world.alias() == {"version": "1", "weights": {}}
