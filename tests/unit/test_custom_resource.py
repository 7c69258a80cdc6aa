"""coalmine/custom_resource.py: what each CloudFormation request does, what is refused, the
answer's shape and size, and an execution's end as CloudFormation's answer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from coalmine import custom_resource as cr
from coalmine.models import AliasState, ExecutionInput

PROPS = {
    "ServiceToken": "arn:aws:lambda:eu-west-1:1:function:p",
    "FunctionName": "orders",
    "AliasName": "live",
    "FunctionVersion": "7",
}


def request(kind: str = "Update", props: dict[str, Any] | None = None, **over: Any) -> cr.Request:
    event = {
        "RequestType": kind,
        "ResponseURL": "https://s3.example/answer?sig=1",
        "StackId": "arn:aws:cloudformation:eu-west-1:1:stack/team/uuid",
        "RequestId": "4b9d-1",
        "LogicalResourceId": "OrdersAlias",
        "ResourceType": "Custom::CoalmineAlias",
        "ResourceProperties": PROPS if props is None else props,
    }
    if kind != "Create":
        event["PhysicalResourceId"] = "orders:live"
        event["OldResourceProperties"] = {**PROPS, "FunctionVersion": "6"}
    event.update(over)
    return cr.parse(event)


def alias(version: str, weights: dict[str, float] | None = None) -> AliasState:
    return AliasState(function_version=version, weights=weights or {}, revision_id="r1")


def decide(req: cr.Request, current: AliasState | None) -> cr.Decision:
    props = cr.alias_properties(req.properties) if req.request_type != "Delete" else None
    return cr.decide(req, current, cr.checked(props) if props else {})


@pytest.mark.parametrize(
    ("kind", "current", "expected", "why"),
    [
        ("Create", None, cr.PointAlias, "Create"),
        ("Create", alias("3"), cr.PointAlias, "Create"),
        ("Create", alias("7"), cr.Answer, "already on version 7"),
        ("Update", None, cr.PointAlias, "Update"),
        ("Update", alias("7"), cr.Answer, "already on version 7"),
        ("Update", alias("7", {"8": 0.1}), cr.PointAlias, "made whole"),
        ("Update", alias("9"), cr.PointAlias, "revert"),
        ("Update", alias("10", {"11": 0.1}), cr.PointAlias, "revert"),
        ("Update", alias("6"), cr.StartDeployment, ""),
        ("Update", alias("6", {"7": 0.1}), cr.StartDeployment, ""),
        ("Delete", alias("6"), cr.Answer, "left as they are"),
        ("Delete", None, cr.Answer, "left as they are"),
    ],
)
def test_each_request_decides(
    kind: str, current: AliasState | None, expected: type, why: str
) -> None:
    decision = decide(request(kind), current)
    assert type(decision) is expected
    if isinstance(decision, cr.Answer):
        assert decision.status == cr.SUCCESS
        assert why in decision.reason
        assert decision.physical_id == "orders:live"
    elif isinstance(decision, cr.PointAlias):
        assert why in decision.why
        assert decision.props.function_version == "7"


def test_an_update_naming_another_alias_points_the_new_one_at_once() -> None:
    req = request("Update", {**PROPS, "AliasName": "canary"})  # physical id still orders:live
    decision = decide(req, alias("3"))
    assert isinstance(decision, cr.PointAlias)
    assert decision.props.physical_id == "orders:canary"


def test_a_deployment_carries_where_to_answer_and_a_name_cloudformation_cannot_repeat() -> None:
    req = request(
        props={
            **PROPS,
            "Strategy": "Canary10Percent5Minutes",
            "Analysis": {"intervalSeconds": "30", "dryRun": "false"},
        }
    )
    decision = decide(req, alias("6"))
    assert isinstance(decision, cr.StartDeployment)
    body = decision.execution_input
    assert body["callback"] == {
        "responseUrl": "https://s3.example/answer?sig=1",
        "stackId": "arn:aws:cloudformation:eu-west-1:1:stack/team/uuid",
        "requestId": "4b9d-1",
        "logicalResourceId": "OrdersAlias",
        "physicalResourceId": "orders:live",
        "functionVersion": "7",
    }
    # CloudFormation's strings typed by the input's own models; Prepare's strict parse accepts it
    assert body["analysis"] == {"intervalSeconds": 30, "dryRun": False}
    parsed = ExecutionInput.model_validate(body)
    assert parsed.target_version == "7"
    assert parsed.alias == "live"
    assert parsed.callback is not None
    assert parsed.callback.request_id == "4b9d-1"
    assert decision.execution_name == "cfn-4b9d-1"
    assert cr.execution_name("x" * 100) == "cfn-" + "x" * 76
    assert cr.execution_name("a/b c") == "cfn-a-b-c"


@pytest.mark.parametrize(
    ("props", "says"),
    [
        (
            {k: v for k, v in PROPS.items() if k != "FunctionVersion"},
            "missing property FunctionVersion",
        ),
        ({**PROPS, "FunctionName": " "}, "missing property FunctionName"),
        ({"ServiceToken": "t"}, "missing property FunctionName, AliasName, FunctionVersion"),
        ({**PROPS, "Stratgy": "AllAtOnce"}, "unknown property Stratgy"),
        ({**PROPS, "Strategy": "Canary10Percent"}, "Strategy"),
        ({**PROPS, "Analysis": {"intervalSeconds": "often"}}, "Analysis.intervalSeconds"),
        ({**PROPS, "FunctionVersion": "$LATEST"}, "FunctionVersion"),
        ({**PROPS, "ServiceTimeout": "soon"}, "ServiceTimeout"),
    ],
)
def test_bad_properties_are_refused_naming_the_property(props: dict[str, Any], says: str) -> None:
    with pytest.raises(cr.Refused) as refused:
        cr.checked(cr.alias_properties(props))
    assert says in refused.value.reason


@pytest.mark.parametrize(
    ("strategy", "analysis", "timeout", "refused"),
    [
        ("Canary10Percent5Minutes", None, None, False),  # 300 + 1800 + 180 + 300 = 2580 s
        ("Canary10Percent30Minutes", None, None, True),  # 1800 + 1800 + 180 + 300 = 4080 s
        ("Canary10Percent30Minutes", {"maxBakeExtensionSeconds": "600"}, None, False),
        ("Linear10PercentEvery1Minute", None, None, True),  # nine bakes, each extensible
        ("Linear10PercentEvery1Minute", {"maxBakeExtensionSeconds": "0"}, None, False),
        ("AllAtOnce", None, None, False),
        ("Canary10Percent5Minutes", None, "1800", True),  # ServiceTimeout shortens the limit
    ],
)
def test_a_plan_longer_than_the_resource_timeout_is_refused(
    strategy: str, analysis: dict[str, str] | None, timeout: str | None, refused: bool
) -> None:
    props = {**PROPS, "Strategy": strategy}
    if analysis:
        props["Analysis"] = analysis
    if timeout:
        props["ServiceTimeout"] = timeout
    if not refused:
        cr.checked(cr.alias_properties(props))
        return
    with pytest.raises(cr.Refused) as error:
        cr.checked(cr.alias_properties(props))
    assert "CloudFormation waits for a custom resource" in error.value.reason
    assert "maxBakeExtensionSeconds" in error.value.reason


def test_worst_case_counts_every_bake_at_its_longest() -> None:
    from coalmine import strategies
    from coalmine.models import AnalysisConfig

    cfg = AnalysisConfig()
    plan = strategies.resolve("Canary10Percent5Minutes")
    assert cr.worst_case_seconds(plan, cfg) == 300 + 1800 + 60 + 120 + cr.RESERVE_SECONDS
    short = AnalysisConfig(max_bake_extension_seconds=0, metrics_delay_seconds=0)
    watch = strategies.with_watch(strategies.resolve("AllAtOnce"), 600)
    assert cr.worst_case_seconds(watch, short) == 600 + 60 + cr.RESERVE_SECONDS


def test_worst_case_counts_each_callback_hook_at_its_timeout() -> None:
    from coalmine import strategies
    from coalmine.models import AnalysisConfig, HookCallback

    short = AnalysisConfig(max_bake_extension_seconds=0, metrics_delay_seconds=0)
    plan = strategies.resolve("AllAtOnce")  # no watch: only the hooks take time
    synchronous = short.model_copy(update={"pre_traffic_hook": "smoke"})
    assert cr.worst_case_seconds(plan, synchronous) == cr.RESERVE_SECONDS
    both = synchronous.model_copy(update={
        "post_traffic_hook": "e2e",
        "pre_traffic_hook_callback": HookCallback(timeout_seconds=600),
        "post_traffic_hook_callback": HookCallback(timeout_seconds=900),
    })  # fmt: skip
    assert cr.worst_case_seconds(plan, both) == 600 + 900 + cr.RESERVE_SECONDS


@pytest.mark.parametrize(
    "event",
    [
        "not a dict",
        {"RequestType": "Create"},
        {
            "RequestType": "Replace",
            "ResponseURL": "u",
            "StackId": "s",
            "RequestId": "r",
            "LogicalResourceId": "l",
        },
    ],
)
def test_what_is_not_a_cloudformation_request_cannot_be_answered(event: Any) -> None:
    with pytest.raises(cr.Refused):
        cr.parse(event)


@pytest.mark.parametrize(
    ("status", "error", "cause", "output", "answer", "says"),
    [
        (
            "SUCCEEDED",
            None,
            None,
            '{"toVersion": "7", "fromVersion": "6"}',
            cr.SUCCESS,
            "(version 7, from 6)",
        ),
        (
            "FAILED",
            "DeploymentRolledBack",
            "errors: 12% vs 0.1%",
            None,
            cr.FAILED,
            "failed (DeploymentRolledBack: errors: 12% vs 0.1%)",
        ),
        (
            "FAILED",
            "DeploymentInProgress",
            "orders:live is locked",
            None,
            cr.FAILED,
            "DeploymentInProgress",
        ),
        ("ABORTED", "Stopped", "by hand", None, cr.FAILED, "was stopped (Stopped: by hand)"),
        (
            "FAILED",
            "TargetVersionInvalid",
            json.dumps(
                {
                    "errorMessage": "version 9 not found",
                    "errorType": "T",
                    "stackTrace": ["  File x"],
                }
            ),
            None,
            cr.FAILED,
            "failed (TargetVersionInvalid: version 9 not found)",
        ),
        ("TIMED_OUT", None, None, None, cr.FAILED, "timed out"),
    ],
)
def test_an_executions_end_is_the_answer(
    status: str, error: str | None, cause: str | None, output: str | None, answer: str, says: str
) -> None:
    got, reason = cr.ended(status, error, cause, output)
    assert got == answer
    assert says in reason


def test_the_answer_copies_the_ids_and_stays_within_4096_bytes() -> None:
    req = request("Create")
    body = json.loads(cr.answer_body(req, cr.Answer(cr.FAILED, "x" * 10_000, "pid")))
    assert body["Status"] == cr.FAILED
    assert body["PhysicalResourceId"] == "pid"
    assert (body["StackId"], body["RequestId"], body["LogicalResourceId"]) == (
        req.stack_id,
        req.request_id,
        req.logical_id,
    )
    assert body["Reason"].endswith("...")
    assert len(cr.answer_body(req, cr.Answer(cr.FAILED, "x" * 10_000, "pid"))) <= 4096
    short = json.loads(cr.answer_body(req, cr.Answer(cr.SUCCESS, "ok", "p", {"A": "1"})))
    assert short["Reason"] == "ok"
    assert short["Data"] == {"A": "1"}


def test_a_refused_create_gets_a_physical_id_its_delete_will_carry() -> None:
    req = request("Create")
    assert cr.fallback_physical_id(req) == "OrdersAlias-4b9d-1"
    assert cr.fallback_physical_id(request("Update")) == "orders:live"
