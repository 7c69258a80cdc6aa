"""`coalmine rollback --to-previous FUNCTION[:ALIAS] --reason R`: blue/green's instant rollback
after a deployment has ended: the alias wholly back on the version the ``previous`` alias holds.

A blue/green deployment's Promote points ``previous`` (the strategy's ``previousAlias``) at the
old version before it cuts the alias over (coalmine/handlers/promote.py, ``keep_previous``), so
after a promotion ``previous`` names the version to go back to. This verb reads it (GetAlias),
reads the alias (GetAlias: its version, weights and RevisionId), and makes one UpdateAlias: the
previous version, no additional weights, conditional on that RevisionId (a change made in between
is someone else's and stands: refused). Refused too (exit 2, nothing changed): an empty reason,
an unknown function or alias, no ``previous`` alias (only blue/green keeps one), and a deployment
holding the alias's lock (DeploymentLocksTable: `coalmine abort` rolls a running one back).
A deployment that starts between the lock's read and the update finds the alias changed under it
and aborts without touching it (coalmine/ownership.py): the rollback is never overwritten."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from coalmine.lock import lock_id
from coalmine_cli import executions
from coalmine_cli.deploy import Refused

LOCKS_OUTPUT = "DeploymentLocksTableName"

EPILOG = """examples:
  coalmine rollback --to-previous brand-api:prod --reason "prices wrong since the cutover"
  coalmine rollback --to-previous brand-api --previous-alias blue --reason "..." \\
      --lock-table coalmine-DeploymentLocksTable-X

One UpdateAlias: the alias wholly on the version the `previous` alias holds (a blue/green
deployment's Promote sets it to the old version before the cutover), conditional on the
alias's RevisionId. For a deployment still running, use `coalmine abort`.

exit codes:
  0    rolled back (or the alias was already wholly on that version: nothing changed)
  2    bad input: no --to-previous, an empty reason, unknown function or alias, no `previous`
       alias, a deployment holding the alias, the alias changed meanwhile: nothing changed
  3    an AWS or tool error (credentials, permissions, stack not found, ...): one line
"""


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _alias(lam: Any, function: str, alias: str, missing: str) -> dict[str, Any]:
    try:
        return dict(lam.get_alias(FunctionName=function, Name=alias))
    except ClientError as error:
        if _code(error) == "ResourceNotFoundException":
            raise Refused(missing) from error
        raise


def parse(target: str, reason: str, previous_alias: str) -> tuple[str, str]:
    """(function, alias) of the command line, checked before any AWS call; Refused otherwise."""
    try:
        function, named = executions.parse_target(target)
    except ValueError as error:
        raise Refused(str(error)) from error
    alias = named or "prod"
    if not reason.strip():
        raise Refused("--reason must say why")
    if alias == previous_alias:
        raise Refused(f"{function}:{alias} is the previous alias itself")
    return function, alias


def to_previous_with(
    session: Any,
    endpoint: dict[str, str],
    table: str,
    target: tuple[str, str],
    previous_alias: str,
    reason: str,
) -> str:
    """``to_previous`` with the session's clients (an operator's verb, under their own identity:
    not one a pipeline runs, so not in the CI role, tests/unit/test_ci.py's NOT_CI)."""
    return to_previous(
        session.client("lambda", **endpoint),
        session.client("dynamodb", **endpoint),
        session.client("sts", **endpoint),
        table,
        target,
        previous_alias,
        reason,
    )


def to_previous(
    lam: Any,
    dynamodb: Any,
    sts: Any,
    table: str,
    target: tuple[str, str],
    previous_alias: str,
    reason: str,
) -> str:
    """Make the rollback of ``target`` (function, alias) (Refused: nothing changed); the line
    to print."""
    function, alias = target
    try:
        lam.get_function(FunctionName=function)
    except ClientError as error:
        if _code(error) == "ResourceNotFoundException":
            raise Refused(f"function {function} does not exist") from error
        raise
    held = dynamodb.get_item(
        TableName=table, Key={"lockId": {"S": lock_id(function, alias)}}, ConsistentRead=True
    ).get("Item")
    if held:
        holder = (held.get("executionArn") or {}).get("S") or (held.get("deploymentId") or {}).get(
            "S"
        )
        raise Refused(
            f"a deployment of {function}:{alias} holds the alias ({holder}): "
            "`coalmine abort` rolls a running deployment back"
        )
    previous = _alias(
        lam,
        function,
        previous_alias,
        f"{function} has no alias {previous_alias!r} (a blue/green deployment's promotion keeps "
        "the old version there; --previous-alias names another)",
    )
    current = _alias(lam, function, alias, f"alias {function}:{alias} does not exist")
    version = str(previous["FunctionVersion"])
    weights = (current.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    was = f"v{current['FunctionVersion']}" + "".join(
        f" + v{v} {w * 100:g}%" for v, w in weights.items()
    )
    if str(current["FunctionVersion"]) == version and not weights:
        return f"{function}:{alias} is already wholly on v{version} ({previous_alias!r}): no change"
    principal = sts.get_caller_identity()["Arn"]
    try:
        updated = lam.update_alias(
            FunctionName=function,
            Name=alias,
            FunctionVersion=version,
            RoutingConfig={"AdditionalVersionWeights": {}},
            RevisionId=current["RevisionId"],
        )
    except ClientError as error:
        if _code(error) == "PreconditionFailedException":
            raise Refused(
                f"{function}:{alias} changed while it was read (someone else's change stands): "
                "nothing changed; look at it and run the command again"
            ) from error
        raise
    return (
        f"rolled back {function}:{alias}: {was} -> v{version} (the {previous_alias!r} alias), "
        f"revision {updated.get('RevisionId')}, by {principal}: {reason.strip()}"
    )


def add_parser(sub: Any, aws_options: Any, formatter: Any) -> Any:
    parser = sub.add_parser(
        "rollback",
        help="with --to-previous: put an alias wholly back on its `previous` version (blue/green)",
        description="With --to-previous: put FUNCTION[:ALIAS] (alias default prod) wholly back "
        "on the version the `previous` alias holds (a blue/green promotion keeps the old "
        "version there), with one UpdateAlias conditional on the alias's RevisionId. Refused "
        "while a deployment holds the alias.",
        epilog=EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument("target", metavar="FUNCTION[:ALIAS]")
    parser.add_argument(
        "--to-previous", action="store_true", help="the version the previous alias holds"
    )
    parser.add_argument("--previous-alias", default="previous", help="default: previous")
    parser.add_argument("--reason", required=True, help="why (printed with the rollback)")
    parser.add_argument("--lock-table", help="the DeploymentLocks table (default: stack's)")
    aws_options(parser)
    return parser
