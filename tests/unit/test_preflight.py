"""Pre-flight checks (coalmine/preflight.py) over an in-memory Lambda: what Prepare and
PublishVersion refuse before any traffic moves, and which field or error says so."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial

import pytest

from coalmine import preflight
from coalmine.exceptions import InvalidInput, ResourceNotFound, TargetVersionInvalid
from coalmine.models import AliasState, ExecutionInput, FunctionState
from coalmine.provisioned_concurrency import ProvisionedConfig

ROLE = "arn:aws:iam::123456789012:role/brand-api-role"
MANAGED = {"coalmine:managed": "true"}
HOOK = {"coalmine:hook": "true"}


def _version(version: str, **changes: object) -> FunctionState:
    state = FunctionState(version, "sha", "Successful", None, "Zip", "Active", ROLE)
    return replace(state, **changes)  # type: ignore[arg-type]


@dataclass
class Lambda:
    """brand-api with versions 1 and 2 and prod -> 1, opted in; a hook brand-api-smoke."""

    functions: dict[tuple[str, str | None], FunctionState] = field(
        default_factory=lambda: {
            ("brand-api", None): _version("$LATEST"),
            ("brand-api", "1"): _version("1"),
            ("brand-api", "2"): _version("2"),
            ("brand-api-smoke", None): _version("$LATEST"),
        }
    )
    tags: dict[str, dict[str, str]] = field(
        default_factory=lambda: {"brand-api": MANAGED, "brand-api-smoke": HOOK}
    )
    alias: AliasState = field(default_factory=lambda: AliasState(function_version="1"))
    reads: list[str] = field(default_factory=list)
    provisioned: ProvisionedConfig | None = None  # the alias's provisioned concurrency
    provisioned_reads: list[str] = field(default_factory=list)

    def get_provisioned_concurrency(
        self, function_name: str, qualifier: str
    ) -> ProvisionedConfig | None:
        self.provisioned_reads.append(f"{function_name}:{qualifier}")
        return self.provisioned

    def get_function(self, function_name: str, qualifier: str | None = None) -> FunctionState:
        self.reads.append(f"{function_name}:{qualifier}")
        try:
            return self.functions[(function_name, qualifier)]
        except KeyError:
            raise ResourceNotFound(function_name, "not found") from None

    def get_alias(self, function_name: str, alias: str) -> AliasState:
        if alias != "prod":
            raise ResourceNotFound(alias, "not found")
        return self.alias

    def list_tags(self, function_name: str) -> dict[str, str]:
        return self.tags.get(function_name, {})


def _alarms(existing: set[str]) -> preflight.AlarmStates:
    return lambda names: {n: "OK" for n in names if n in existing}


def _check(lam: Lambda, existing: frozenset[str] = frozenset(), **request: object) -> AliasState:
    parsed = ExecutionInput.model_validate({"functionName": "brand-api", **request})
    return preflight.check_request(parsed, lam, _alarms(set(existing)))


def test_a_valid_request_answers_the_alias() -> None:
    assert _check(Lambda(), targetVersion="2") == AliasState(function_version="1")


@pytest.mark.parametrize(
    ("request_fields", "field_name", "problem"),
    [
        ({"functionName": "nope"}, "functionName", "no Lambda function named 'nope'"),
        ({"alias": "staging"}, "alias", "has no alias 'staging'"),
        ({"targetVersion": "1"}, "targetVersion", "is the stable version"),
        ({"targetVersion": "9"}, "targetVersion", "no published version 9"),
        ({"analysis": {"alarms": ["missing"]}}, "analysis.alarms", "no CloudWatch alarm named"),
        ({"analysis": {"preTrafficHook": "nope"}}, "analysis.preTrafficHook", "no Lambda"),
    ],
)
def test_bad_input_names_its_field(
    request_fields: dict[str, object], field_name: str, problem: str
) -> None:
    with pytest.raises(InvalidInput, match=problem) as raised:
        _check(Lambda(), **request_fields)
    assert raised.value.field == field_name


def test_a_function_not_opted_in_or_a_hook_without_its_tag_is_refused() -> None:
    lam = Lambda(tags={"brand-api-smoke": HOOK})
    with pytest.raises(InvalidInput, match="not opted in") as raised:
        _check(lam)
    assert raised.value.field == "functionName"
    lam = Lambda(tags={"brand-api": MANAGED})
    with pytest.raises(InvalidInput, match="not tagged as a hook") as raised:
        _check(lam, analysis={"postTrafficHook": "brand-api-smoke"})
    assert raised.value.field == "analysis.postTrafficHook"
    # the deploy opt-in is not a hook's tag
    lam = Lambda(tags={"brand-api": MANAGED, "brand-api-smoke": MANAGED})
    with pytest.raises(InvalidInput, match="coalmine:hook=true") as raised:
        _check(lam, analysis={"preTrafficHook": "brand-api-smoke"})
    assert raised.value.field == "analysis.preTrafficHook"


def test_an_image_function_cannot_take_a_zip() -> None:
    lam = Lambda()
    lam.functions[("brand-api", None)] = _version("$LATEST", package_type="Image")
    with pytest.raises(InvalidInput, match="is a Image function, not a zip"):
        _check(lam, code={"s3Bucket": "bucket", "s3Key": "k.zip"})


def test_an_alias_on_latest_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"points at \$LATEST"):
        _check(Lambda(alias=AliasState(function_version="$LATEST")))


def test_the_target_and_the_stable_version_are_read_once_each_in_order() -> None:
    lam = Lambda()
    _check(lam, targetVersion="2")
    assert lam.reads == ["brand-api:None", "brand-api:2", "brand-api:1"]


def test_a_weighted_alias_is_refused() -> None:
    weighted = AliasState(function_version="1", weights={"2": 0.3})
    with pytest.raises(InvalidInput, match="already routes 30% to version 2"):
        preflight.check_unweighted(weighted, "brand-api:prod")
    preflight.check_unweighted(AliasState(function_version="1"), "brand-api:prod")


def test_publish_version_refuses_with_its_own_error() -> None:
    lam = Lambda()
    with pytest.raises(TargetVersionInvalid, match="no published version 9"):
        preflight.check_target(lam, "brand-api", "9", "1")
    lam.functions[("brand-api", "2")] = _version("2", role="arn:aws:iam::1:role/other")
    with pytest.raises(TargetVersionInvalid, match="same execution role"):
        preflight.check_compatible(lam, "brand-api", lam.get_function("brand-api", "2"), "1")
    with pytest.raises(TargetVersionInvalid, match="identical to the stable version 1"):
        preflight.check_new_code("1", "1")


def test_prepare_refuses_the_same_problem_as_invalid_input() -> None:
    lam = Lambda()
    lam.functions[("brand-api", "2")] = _version("2", state="Pending")
    refuse = partial(InvalidInput, "targetVersion")
    with pytest.raises(InvalidInput, match="is Pending, not Active"):
        preflight.check_compatible(
            lam, "brand-api", lam.get_function("brand-api", "2"), "1", refuse
        )


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"state": "Failed"}, "is Failed, not Active"),
        ({"last_update_status": "Failed"}, "last update is Failed, not Successful (no reason"),
        ({"role": "other"}, "same execution role"),
        ({"dead_letter_target": "arn:sqs:dlq"}, "same DeadLetterConfig"),
    ],
)
def test_version_problems(changes: dict[str, object], problem: str) -> None:
    [found] = preflight.version_problems(_version("1"), _version("2", **changes))
    assert problem in found
    assert preflight.version_problems(_version("1"), _version("2")) == []


@pytest.mark.parametrize(
    ("config", "strategy", "field_name", "problem"),
    [
        (ProvisionedConfig(10, 10, 10, "READY"), "Canary10Percent5Minutes", None, None),
        (ProvisionedConfig(10, 10, 10, "READY"), "AllAtOnce", None, None),
        (ProvisionedConfig(10, 10, 10, "READY"), "Linear5PercentEvery1Minute", "strategy",
         "a step of 5% gives the new version 0.5 of brand-api:prod's 10"),
        (ProvisionedConfig(10, 4, 4, "IN_PROGRESS"), "Canary10Percent5Minutes", "alias",
         "brand-api:prod's provisioned concurrency is IN_PROGRESS (4 of 10 allocated)"),
        (ProvisionedConfig(10, 0, 0, "FAILED", "FUNCTION_ERROR_INIT_FAILURE"), "AllAtOnce",
         "alias", "is FAILED (FUNCTION_ERROR_INIT_FAILURE); fix it before deploying"),
    ],
)  # fmt: skip
def test_provisioned_concurrency_is_checked_against_the_plan(
    config: ProvisionedConfig, strategy: str, field_name: str | None, problem: str | None
) -> None:
    lam = Lambda(provisioned=config)
    if field_name is None:
        assert _check(lam, targetVersion="2", strategy=strategy).function_version == "1"
    else:
        with pytest.raises(InvalidInput) as refused:
            _check(lam, targetVersion="2", strategy=strategy)
        assert (refused.value.field, problem in refused.value.problem) == (field_name, True)
    assert lam.provisioned_reads == ["brand-api:prod"]
