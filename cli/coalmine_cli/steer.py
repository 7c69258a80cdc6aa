"""The verbs that steer a running deployment (docs/operating.md): `coalmine abort`, `coalmine
promote --now`, `coalmine pause`, `coalmine resume`. Each appends
the operator's request to the alias's lock through adapters/operator_requests.py, the code path
a rehearsal's operator events use too; the deployment acts on it at its next analysis tick."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from coalmine_cli.deploy import ToolError

LOCKS_OUTPUT = "DeploymentLocksTableName"


class Refused(Exception):
    """Nothing to act on (unknown function, no running deployment, ...): nothing was written."""


ABORT_EPILOG = """examples:
  coalmine abort brand-api:prod --reason "checkout errors in the canary's region"
  coalmine abort brand-api --reason "wrong build" --lock-table coalmine-DeploymentLocksTable-X

The deployment rolls back at its next analysis tick (within analysis.intervalSeconds): the alias
wholly back on the old version, the lock freed, the execution FAILED with DeploymentAborted and
the cause "aborted by <your ARN>: <reason>".

exit codes:
  0    requested (`coalmine status` follows it)
  2    bad input: unknown function, no deployment of it running, an empty reason: nothing changed
  3    an AWS or tool error (credentials, permissions, stack not found, ...): one line
"""


PROMOTE_EPILOG = """examples:
  coalmine promote brand-api:prod --now --reason "verified by hand; the launch is at 10:00"

At its next analysis tick the deployment skips its remaining bakes and the Promote state puts the
alias wholly on the new version (lifecycle hooks included). The watch after the cutover
(analysis.watchSeconds) still runs and can still roll back; a second promote --now during it ends
the watch. The deployment's reason reads "promoted now by <your ARN>: <reason>".

exit codes:
  0    requested (`coalmine status` follows it)
  2    bad input: no --now, unknown function, no deployment of it running, an empty reason:
       nothing changed
  3    an AWS or tool error (credentials, permissions, stack not found, ...): one line
"""


PAUSE_EPILOG = """examples:
  coalmine pause brand-api:prod --reason "waiting for the partner's confirmation"
  coalmine resume brand-api:prod --reason "confirmed"

A pause takes effect at the next analysis tick: the weight is held and the bake clock stops, but
every tick still analyses and a FAIL still rolls back; a pause longer than
analysis.maxPauseSeconds (default 86400) rolls back. `resume` lets the bake go on from where it
stopped. Pausing a paused deployment, or resuming one that is not paused, changes nothing.

exit codes:
  0    requested
  2    bad input: unknown function, no deployment of it running, an empty reason: nothing changed
  3    an AWS or tool error (credentials, permissions, stack not found, ...): one line
"""


APPROVE_EPILOG = """examples:
  coalmine approve brand-api:prod --reason "checked the canary's dashboards with the partner"
  coalmine reject brand-api:prod --reason "the partner sees wrong prices"

A deployment waiting at a human gate (a steps plan's {"approval": ...} item, or
strategy.approveBeforePromotion; docs/approvals.md) holds its weight until then. approve lets it go
on (the next step, or promotion); reject rolls it back, the reason naming you. The CLI finds the
wait's task token in the alias's lock and wakes it: the deployment acts at once.

exit codes:
  0    requested
  2    bad input: unknown function, no deployment of it running, nothing waiting for an approval,
       the approval already answered, an empty reason: nothing changed
  3    an AWS or tool error (credentials, permissions, stack not found, ...): one line
"""


def request(
    session: Any,
    endpoint: dict[str, str],
    table: str,
    action: str,
    function: str,
    alias: str,
    reason: str,
) -> str:
    """Write the request (Refused: nothing written); the line to print."""
    try:  # (the adapters log with Powertools: not part of a `pip install coalmine` for deploy)
        from coalmine.adapters import operator_requests
        from coalmine.adapters.locks_table import LockTable
    except ImportError as error:
        raise ToolError(
            f"coalmine {action} needs {error.name or 'a package'}: "
            "pip install 'coalmine[sandbox]' (it brings aws-lambda-powertools)"
        ) from error
    try:
        held, asked = operator_requests.request(
            action,
            function,
            alias,
            reason,
            locks=LockTable(table, session.client("dynamodb", **endpoint)),
            lambda_client=session.client("lambda", **endpoint),
            sts=session.client("sts", **endpoint),
            now=datetime.now(UTC),
            sfn=session.client("stepfunctions", **endpoint),
        )
    except operator_requests.OperatorRequestRefused as error:  # (the class the adapter raises)
        raise Refused(str(error)) from error
    when = (
        "it takes effect now (the deployment was waiting: its wait is woken)"
        if held.approval is not None
        else "it takes effect at the deployment's next analysis tick"
    )
    return (
        f"{action} requested on {function}:{alias} ({held.describe()}) by {asked.principal}; {when}"
    )
