"""Pure: where a deployment's function is (docs/cross-account.md) -- the input's ``targetRoleArn``
and ``region`` against coalmine's own account and region (the invoked function's ARN).

No target (None): coalmine's own account and region, its own role, the lock ``function:alias``.
A target: every Lambda and CloudWatch call through the role (adapters/target.py), the lock
``account:region:function:alias`` (lock.lock_id). A target naming coalmine's own account and
region is refused, so an alias never has two lock keys (and two deployments at once)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from coalmine.exceptions import InvalidInput
from coalmine.models import Target, TargetFields

ROLE_FIELD, REGION_FIELD = "targetRoleArn", "region"


def own_place(invoked_function_arn: str, fallback_region: str) -> tuple[str | None, str]:
    """(account, region) of coalmine itself, from its function's ARN
    (``arn:aws:lambda:<region>:<account>:function:<name>``)."""
    parts = invoked_function_arn.split(":")
    if len(parts) >= 5 and parts[4].isdigit():
        return parts[4], parts[3] or fallback_region
    return None, fallback_region


def fields_of(raw: Any) -> TargetFields:
    """The input's targetRoleArn and region only (InvalidInput naming either); the rest of the
    input is validated later (validation.parse_request), through the target's role."""
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except ValueError:
            return TargetFields()  # validation.parse_request names the bad JSON
    if not isinstance(raw, dict):
        return TargetFields()
    try:
        return TargetFields.model_validate(raw)
    except ValidationError as error:
        item = error.errors(include_url=False)[0]
        field = str(item["loc"][0]) if item["loc"] else ROLE_FIELD
        value = str(raw.get(field))[:120]
        shape = (
            "an IAM role ARN such as arn:aws:iam::222222222222:role/coalmine-target"
            if field == ROLE_FIELD
            else "an AWS region such as eu-west-1"
        )
        raise InvalidInput(field, f"{value!r} is not {shape}") from None


def resolve(fields: TargetFields, own_account: str | None, own_region: str) -> Target | None:
    """The deployment's target, or None for coalmine's own account and region."""
    if fields.target_role_arn is None:
        if fields.region is not None and fields.region != own_region:
            raise InvalidInput(
                REGION_FIELD,
                f"a function in {fields.region} (coalmine runs in {own_region}) needs "
                "targetRoleArn: a role in its account created with target-account.yaml",
            )
        return None
    target = Target.of(fields.target_role_arn, fields.region or own_region)
    if target.account == own_account and target.region == own_region:
        raise InvalidInput(
            ROLE_FIELD,
            f"names coalmine's own account {own_account} in its own region {own_region}: leave "
            "targetRoleArn (and region) out, coalmine deploys there with its own role",
        )
    return target
