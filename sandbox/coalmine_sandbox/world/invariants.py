"""The safety invariant every deployment must end with (the fault matrix and the soak check it
after each deployment into a DeploymentTarget).

After an execution ends (and what its ending triggers has played out):
1. the alias is wholly on one version (no AdditionalVersionWeights);
2. SUCCEEDED only if promoted: if the execution SUCCEEDED (outcome PROMOTED) the alias is on
   the new version; otherwise it is on the stable version (or on the new one if the Promote
   state had completed before a stop or a timeout), or on what someone else set if they
   changed it out of band (never overwritten);
3. the deployment's record is final: the execution is not RUNNING;
4. the alias lock is free (DeploymentLocksTable, when the stack has one).
"""

from __future__ import annotations

import json
from typing import Any

from ..sandbox import TERMINAL, Sandbox
from .target import DeploymentTarget


def violations(
    target: DeploymentTarget, described: dict[str, Any], tampered_to: str | None = None
) -> list[str]:
    """What is wrong after this execution ended ([] = the invariant holds)."""
    found: list[str] = []
    status = described["status"]
    version, weights = target.routing()
    where = f"{described.get('name', '?')} ({status} {described.get('error') or ''})"
    if status not in TERMINAL:
        found.append(f"{where}: the execution is still {status}")
    if weights:
        found.append(f"{where}: alias left weighted: v{version} + {weights}")
    output = json.loads(described.get("output") or "null") or {}
    promoted = status == "SUCCEEDED" and output.get("outcome") == "PROMOTED"
    if status == "SUCCEEDED" and not promoted:
        found.append(f"{where}: SUCCEEDED with outcome {output.get('outcome')!r}")
    new = str(output.get("toVersion") or target.candidate)
    if promoted and version != new:
        found.append(f"{where}: PROMOTED but the alias is on v{version}, not v{new}")
    if not promoted:
        allowed = {target.baseline}
        if promotion_completed(target.sb, described["executionArn"]):  # then stopped/timed out
            allowed.add(new)
        if tampered_to:  # someone else's change is never overwritten
            allowed = {tampered_to}
        if version not in allowed:
            found.append(
                f"{where}: not promoted, but the alias is on v{version} "
                f"(expected v{' or v'.join(sorted(allowed))})"
            )
    holder = target.lock_holder()
    if holder is not None:
        found.append(f"{where}: the alias lock is still held by {holder}")
    return found


def promotion_completed(sb: Sandbox, arn: str) -> bool:
    """Whether the execution's Promote state had completed (its history says so)."""
    sfn = sb.client("stepfunctions")
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    return any(
        e["type"] == "TaskStateExited" and e["stateExitedEventDetails"]["name"] == "Promote"
        for e in events
    )
