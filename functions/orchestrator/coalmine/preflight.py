"""Pre-flight checks before any traffic moves (Prepare's and PublishVersion's): pure judgements,
and the checks that read AWS through the adapters passed in (no boto3 here).

- the function opts in to being managed: tag ``coalmine:managed = "true"`` (the orchestrator's
  IAM lets it change only functions with that tag, so an untagged one would fail half-way);
  every hook it names carries ``coalmine:hook = "true"`` (coalmine may invoke only those);
- the alias exists and points at a published version, wholly (``check_unweighted``: a weighted
  alias is a deployment in progress or abandoned);
- the version to deploy exists, is not the stable one, and is ready: ``State`` Active and
  ``LastUpdateStatus`` Successful;
- both versions have the same execution role and the same dead-letter config: AWS refuses a
  weighted alias over versions that differ in either;
- every named alarm exists;
- (adapters/lambda_api.py) the published version's CodeSha256 is the one UpdateFunctionCode
  reported for the uploaded zip: PublishVersion(CodeSha256=...) refuses a racing upload, and
  the version it answers with must carry that hash.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Protocol

from coalmine import policy_floor, provisioned_concurrency
from coalmine.exceptions import CoalmineError, InvalidInput, ResourceNotFound, TargetVersionInvalid
from coalmine.models import AliasState, AnalysisConfig, ExecutionInput, FunctionState

MANAGED_TAG = "coalmine:managed"
MANAGED_VALUE = "true"
HOOK_TAG = "coalmine:hook"

#: Turns a problem with the version to deploy into the error its state raises.
Refuse = Callable[[str], CoalmineError]
AlarmStates = Callable[[Sequence[str]], Mapping[str, str]]


class LambdaReads(provisioned_concurrency.ProvisionedReads, Protocol):
    """The Lambda reads the checks need (adapters/lambda_api.LambdaApi)."""

    def get_function(self, function_name: str, qualifier: str | None = None) -> FunctionState: ...
    def get_alias(self, function_name: str, alias: str) -> AliasState: ...
    def list_tags(self, function_name: str) -> dict[str, str]: ...


def check_request(
    request: ExecutionInput,
    lambda_api: LambdaReads,
    alarm_states: AlarmStates,
    from_upload: bool = False,
) -> AliasState:
    """Prepare's checks, in order; the alias as read (its weights are judged once the alias's
    lock is held: ``check_unweighted``). The function's tags set the floor under the request
    (coalmine/policy_floor.py; ``from_upload``: the request came with an upload)."""
    name = request.function_name
    try:
        function = lambda_api.get_function(name)
    except ResourceNotFound:
        raise InvalidInput("functionName", f"no Lambda function named {name!r}") from None
    tags = lambda_api.list_tags(name)
    check_opted_in(name, tags)
    policy_floor.check(request, tags, from_upload)
    if request.code is not None and function.package_type != "Zip":
        raise InvalidInput("code", f"{name} is a {function.package_type} function, not a zip")
    try:
        alias = lambda_api.get_alias(name, request.alias)
    except ResourceNotFound:
        raise InvalidInput("alias", f"function {name} has no alias {request.alias!r}") from None
    if not alias.function_version.isdigit():
        raise InvalidInput(
            "alias",
            f"{name}:{request.alias} points at {alias.function_version}; point it at a published "
            f"version",
        )
    if request.target_version is not None:
        refuse = partial(InvalidInput, "targetVersion")
        target = check_target(
            lambda_api, name, request.target_version, alias.function_version, refuse
        )
        check_compatible(lambda_api, name, target, alias.function_version, refuse)
    check_alarms(alarm_states, request.analysis.alarms)
    check_hooks(lambda_api, request.analysis)
    provisioned_concurrency.check_request(lambda_api, request)  # ready, and no step under one
    return alias


def check_unweighted(alias: AliasState, where: str) -> None:
    if alias.weights:
        routes = ", ".join(f"{w * 100:g}% to version {v}" for v, w in alias.weights.items())
        raise InvalidInput(
            "alias",
            f"{where} already routes {routes} (a deployment in progress or abandoned); "
            f"finish it or point the alias wholly at one version first",
        )


def check_opted_in(function_name: str, tags: Mapping[str, str]) -> None:
    if tags.get(MANAGED_TAG, "").lower() != MANAGED_VALUE:
        raise InvalidInput(
            "functionName",
            f"{function_name} is not opted in to coalmine: tag it {MANAGED_TAG}={MANAGED_VALUE} "
            f"(coalmine may change only functions that carry this tag)",
        )


def check_target(
    lambda_api: LambdaReads,
    name: str,
    target: str,
    stable: str,
    refuse: Refuse = TargetVersionInvalid,
) -> FunctionState:
    """The version to deploy, if it is a published version other than the stable one."""
    if target == stable:
        raise refuse(f"version {target} is the stable version the alias already serves")
    try:
        return lambda_api.get_function(name, target)
    except ResourceNotFound:
        raise refuse(f"{name} has no published version {target}") from None


def check_compatible(
    lambda_api: LambdaReads,
    name: str,
    target: FunctionState,
    stable: str,
    refuse: Refuse = TargetVersionInvalid,
) -> None:
    """``target`` is ready and can share a weighted alias with the ``stable`` version."""
    problems = version_problems(lambda_api.get_function(name, stable), target)
    if problems:
        raise refuse("; ".join(problems))


def check_new_code(version: str, stable: str) -> None:
    """PublishVersion of unchanged code answers with the existing (stable) version."""
    if version == stable:
        raise TargetVersionInvalid(f"code is identical to the stable version {version}")


def check_alarms(alarm_states: AlarmStates, alarms: Sequence[str]) -> None:
    if not alarms:
        return
    missing = sorted(set(alarms) - set(alarm_states(alarms)))
    if missing:
        raise InvalidInput("analysis.alarms", f"no CloudWatch alarm named {', '.join(missing)}")


def check_hooks(lambda_api: LambdaReads, analysis: AnalysisConfig) -> None:
    """A named hook must exist and carry the hook tag ``coalmine:hook = "true"`` (coalmine may
    invoke only functions tagged so; the deploy opt-in is not a hook's), so a typo fails here,
    not after a whole bake when the post-traffic hook is finally due."""
    for field, hook in (
        ("analysis.preTrafficHook", analysis.pre_traffic_hook),
        ("analysis.postTrafficHook", analysis.post_traffic_hook),
    ):
        if hook is None:
            continue
        name, _, qualifier = hook.partition(":")
        try:
            lambda_api.get_function(name, qualifier or None)
        except ResourceNotFound:
            raise InvalidInput(field, f"no Lambda function {hook!r}") from None
        if lambda_api.list_tags(name).get(HOOK_TAG, "").lower() != MANAGED_VALUE:
            raise InvalidInput(
                field,
                f"{name} is not tagged as a hook: tag it {HOOK_TAG}={MANAGED_VALUE} (coalmine may "
                f"invoke only functions that carry this tag)",
            )


def version_problems(stable: FunctionState, target: FunctionState) -> list[str]:
    """Why ``target`` cannot share a weighted alias with ``stable`` (empty: it can)."""
    problems: list[str] = []
    if target.state not in (None, "Active"):
        problems.append(f"version {target.version} is {target.state}, not Active")
    if target.last_update_status not in (None, "Successful"):
        problems.append(
            f"version {target.version}'s last update is {target.last_update_status}, "
            f"not Successful ({target.last_update_status_reason or 'no reason given'})"
        )
    if target.role != stable.role:
        problems.append(
            f"version {target.version} runs as role {target.role or '(none)'} but the stable "
            f"version {stable.version} as {stable.role or '(none)'}; a weighted alias needs "
            f"both versions on the same execution role"
        )
    if target.dead_letter_target != stable.dead_letter_target:
        mine, theirs = target.dead_letter_target or "(none)", stable.dead_letter_target or "(none)"
        problems.append(
            f"version {target.version} has dead-letter target {mine} but the stable version "
            f"{stable.version} {theirs}; a weighted alias needs both versions with the same "
            f"DeadLetterConfig"
        )
    return problems
