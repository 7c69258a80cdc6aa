"""Pre-flight checks before any traffic moves (pure: the handlers read AWS, these judge).

- the function opts in to being managed: tag ``coalmine:managed = "true"`` (the orchestrator's
  IAM lets it change only functions with that tag, so an untagged one would fail half-way);
- the version to deploy is ready: ``State`` Active and ``LastUpdateStatus`` Successful;
- both versions have the same execution role and the same dead-letter config: AWS refuses a
  weighted alias over versions that differ in either;
- (adapters/lambda_api.py) the published version's CodeSha256 is the one UpdateFunctionCode
  reported for the uploaded zip: PublishVersion(CodeSha256=...) refuses a racing upload, and
  the version it answers with must carry that hash.
"""

from __future__ import annotations

from coalmine.exceptions import InvalidInput
from coalmine.models import FunctionState

MANAGED_TAG = "coalmine:managed"
MANAGED_VALUE = "true"


def check_opted_in(function_name: str, tags: dict[str, str]) -> None:
    if tags.get(MANAGED_TAG, "").lower() != MANAGED_VALUE:
        raise InvalidInput(
            "functionName",
            f"{function_name} is not opted in to coalmine: tag it {MANAGED_TAG}={MANAGED_VALUE} "
            f"(coalmine may change only functions that carry this tag)",
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
