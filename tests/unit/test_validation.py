"""The execution input: every malformed field is refused with InvalidInput naming it."""

from __future__ import annotations

from typing import Any

import pytest

from coalmine.exceptions import InvalidInput
from coalmine.validation import parse_request
from events import load_event

BASE = {"functionName": "brand-api", "targetVersion": "2"}


def _with(**fields: Any) -> dict[str, Any]:
    return {**BASE, **fields}


@pytest.mark.parametrize(
    "name",
    [
        "execution-canary",
        "execution-linear",
        "execution-steps",
        "execution-blue-green",
        "execution-all-at-once",
        "execution-code",
    ],
)
def test_the_shared_execution_inputs_are_valid(name: str) -> None:
    parsed = parse_request(load_event(name))
    assert parsed.function_name == "brand-api"
    assert (parsed.target_version is None) != (parsed.code is None)


def test_defaults() -> None:
    parsed = parse_request(BASE)
    assert parsed.alias == "prod"
    assert parsed.strategy == "Canary10Percent5Minutes"
    assert parsed.analysis.interval_seconds == 60


def test_a_json_string_is_accepted() -> None:
    assert parse_request('{"functionName": "f", "targetVersion": "3"}').target_version == "3"


@pytest.mark.parametrize(
    ("raw", "field", "problem"),
    [
        # not an object at all
        ([], "input", "must be a JSON object, not an array"),
        (None, "input", "not null"),
        (7, "input", "not a number"),
        ("{not json", "input", "not valid JSON"),
        ('["a"]', "input", "not an array"),
        # exactly one of targetVersion and code
        ({"functionName": "f"}, "targetVersion/code", "neither was given"),
        (
            _with(code={"s3Bucket": "bkt", "s3Key": "k.zip"}),
            "targetVersion/code",
            "both were given",
        ),
        # the target version
        (_with(targetVersion="$LATEST"), "targetVersion", "$LATEST cannot take weighted traffic"),
        (_with(targetVersion="v2"), "targetVersion", "not a published version number"),
        (_with(targetVersion=2), "targetVersion", "as a string"),
        (_with(targetVersion=""), "targetVersion", ""),
        # names
        (_with(functionName="brand api!"), "functionName", "pattern"),
        (_with(functionName=""), "functionName", "at least 1"),
        ({"targetVersion": "2"}, "functionName", "field required"),
        (_with(alias="123"), "alias", "cannot be all digits"),
        (_with(alias="a:b"), "alias", "pattern"),
        # strategies
        (_with(strategy=5), "strategy", "strategy name"),
        (_with(strategy=["Canary10Percent5Minutes"]), "strategy", "strategy name"),
        (_with(strategy={"type": "rainbow"}), "strategy.type", "canary, linear, steps, blueGreen"),
        (_with(strategy={"percent": 10}), "strategy.type", "canary, linear"),
        (
            _with(strategy={"type": "canary", "percent": 0, "intervalMinutes": 5}),
            "strategy.percent",
            "greater than 0",
        ),
        (
            _with(strategy={"type": "linear", "percent": 100, "intervalMinutes": 5}),
            "strategy.percent",
            "less than 100",
        ),
        (
            _with(strategy={"type": "canary", "percent": 10}),
            "strategy.intervalMinutes",
            "field required",
        ),
        (
            _with(strategy={"type": "steps", "steps": [{"weight": 1.5, "bakeSeconds": 1}]}),
            "strategy.steps[0].weight",
            "less than or equal to 1",
        ),
        (
            _with(
                strategy={
                    "type": "steps",
                    "steps": [{"weight": 0.1, "bakeSeconds": 60}, {"weight": 0, "bakeSeconds": 1}],
                }
            ),
            "strategy.steps[1].weight",
            "greater than 0",
        ),
        (
            _with(strategy={"type": "steps", "steps": [{"weight": -0.1, "bakeSeconds": 1}]}),
            "strategy.steps[0].weight",
            "greater than 0",
        ),
        (
            _with(strategy={"type": "steps", "steps": [{"weight": 0.1, "bakeSeconds": "soon"}]}),
            "strategy.steps[0].bakeSeconds",
            "valid integer",
        ),
        (_with(strategy={"type": "steps", "steps": []}), "strategy.steps", "at least 1"),
        (
            _with(strategy={"type": "blueGreen", "previousAlias": "9"}),
            "strategy.previousAlias",
            "all digits",
        ),
        # analysis
        (_with(analysis={"alarms": "my-alarm"}), "analysis.alarms", "valid list"),
        (_with(analysis={"alarms": [""]}), "analysis.alarms[0]", "at least 1"),
        (_with(analysis={"intervalSeconds": "often"}), "analysis.intervalSeconds", "integer"),
        (_with(analysis={"intervalSeconds": 5}), "analysis.intervalSeconds", "greater than"),
        # lifecycle hooks: a function name, optionally :alias or :version; never an ARN
        (_with(analysis={"preTrafficHook": 7}), "analysis.preTrafficHook", "valid string"),
        (_with(analysis={"preTrafficHook": ["f"]}), "analysis.preTrafficHook", "valid string"),
        (_with(analysis={"preTrafficHook": ""}), "analysis.preTrafficHook", "not a Lambda"),
        (
            _with(analysis={"postTrafficHook": "arn:aws:lambda:us-east-1:1:function:smoke"}),
            "analysis.postTrafficHook",
            "ARNs are not accepted",
        ),
        (_with(analysis={"postTrafficHook": "smoke test"}), "analysis.postTrafficHook", "not a"),
        (_with(analysis={"postTrafficHook": "smoke:a:b"}), "analysis.postTrafficHook", "not a"),
        (_with(analysis={"postTrafficHook": "smoke:"}), "analysis.postTrafficHook", "not a"),
        (_with(analysis={"preTrafficHook": "x" * 65}), "analysis.preTrafficHook", "not a"),
        (_with(analysis={"preTrafficHooks": "smoke"}), "analysis.preTrafficHooks", "extra inputs"),
        # code
        (
            {"functionName": "f", "code": {"s3Bucket": "bkt"}},
            "code.s3Key",
            "field required",
        ),
        # unknown fields are refused, not ignored
        (_with(targetversion="3"), "targetversion", "extra inputs are not permitted"),
        (_with(analysis={"alarm": ["x"]}), "analysis.alarm", "extra inputs"),
    ],
)
def test_bad_input_names_its_field(raw: Any, field: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_request(raw)
    assert raised.value.field == field
    assert problem in raised.value.problem
    assert str(raised.value).startswith(f"{field}: ")


def test_several_problems_report_the_first_and_count_the_rest() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_request({"functionName": "", "targetVersion": "x", "bogus": 1})
    assert raised.value.field == "functionName"
    assert "(and 2 more problem(s))" in raised.value.problem


@pytest.mark.parametrize("hook", ["brand-api-smoke", "smoke:live", "smoke:7", "smoke:$LATEST"])
def test_a_hook_is_a_function_name_optionally_qualified(hook: str) -> None:
    parsed = parse_request(_with(analysis={"preTrafficHook": hook, "postTrafficHook": hook}))
    assert (parsed.analysis.pre_traffic_hook, parsed.analysis.post_traffic_hook) == (hook, hook)


def test_a_hook_answers_synchronously_unless_its_callback_is_given() -> None:
    parsed = parse_request(_with(analysis={"preTrafficHook": "smoke"}))
    assert parsed.analysis.pre_traffic_hook_callback is None
    given = {"preTrafficHook": "smoke", "postTrafficHook": "e2e",
             "postTrafficHookCallback": {"heartbeatSeconds": 300}}  # fmt: skip
    callback = parse_request(_with(analysis=given)).analysis.post_traffic_hook_callback
    assert callback is not None
    assert (callback.timeout_seconds, callback.heartbeat_seconds) == (3600, 300)


@pytest.mark.parametrize(
    ("analysis", "field", "problem"),
    [
        (
            {"preTrafficHookCallback": {}},
            "analysis.preTrafficHookCallback",
            "applies to analysis.preTrafficHook, which is not given",
        ),
        (
            {"preTrafficHook": "smoke", "postTrafficHookCallback": {"timeoutSeconds": 60}},
            "analysis.postTrafficHookCallback",
            "applies to analysis.postTrafficHook, which is not given",
        ),
        (
            {"preTrafficHook": "smoke", "preTrafficHookCallback": {"timeoutSeconds": 7200}},
            "analysis.preTrafficHookCallback.timeoutSeconds",
            "less than or equal to 3600",
        ),
        (
            {"preTrafficHook": "smoke", "preTrafficHookCallback": {"timeoutSeconds": 30}},
            "analysis.preTrafficHookCallback.timeoutSeconds",
            "greater than or equal to 60",
        ),
        (
            {
                "preTrafficHook": "s",
                "preTrafficHookCallback": {"timeoutSeconds": 300, "heartbeatSeconds": 300},
            },
            "analysis.preTrafficHookCallback",
            "heartbeatSeconds (300) must be less than timeoutSeconds (300)",
        ),
        (
            {"preTrafficHook": "smoke", "preTrafficHookCallback": {"timeoutSeconds": "600"}},
            "analysis.preTrafficHookCallback.timeoutSeconds",
            "valid integer",
        ),
        (
            {"preTrafficHook": "smoke", "preTrafficHookCallback": {"timeout": 600}},
            "analysis.preTrafficHookCallback.timeout",
            "extra inputs",
        ),
        (
            {"preTrafficHook": "smoke", "preTrafficHookCallback": "callback"},
            "analysis.preTrafficHookCallback",
            "valid dictionary",
        ),
    ],
)
def test_bad_hook_callbacks_name_their_field(
    analysis: dict[str, Any], field: str, problem: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_request(_with(analysis=analysis))
    assert (raised.value.field, problem in raised.value.problem) == (field, True), raised.value
