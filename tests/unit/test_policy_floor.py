"""The floor a function's tags set under every deployment of it (coalmine/policy_floor.py): an
upload's policy may tighten, never loosen; the tags pin strategies and forbid loosening for every
caller; a bake that rounds to 0 s is refused. Each refusal names the field."""

from __future__ import annotations

from typing import Any

import pytest

from coalmine.exceptions import InvalidInput
from coalmine.policy_floor import check
from coalmine.validation import parse_request

BASE: dict[str, Any] = {"functionName": "orders", "targetVersion": "2"}
MANAGED = {"coalmine:managed": "true"}
DRY = {"analysis": {"dryRun": True}}
LOW = {"analysis": {"lowTrafficPolicy": "promote"}}
MIN0 = {"analysis": {"minInvocations": 0}}
NO_ALARM = {"analysis": {"alarms": ["other"]}}
OWN_ALARM = {"coalmine:alarms": "orders-errors"}


def _check(fields: dict[str, Any], tags: dict[str, str], from_upload: bool) -> None:
    check(parse_request({**BASE, **fields}), {**MANAGED, **tags}, from_upload)


# (fields, tags, from an upload, the field named or None: accepted)
CASES: dict[str, tuple[dict[str, Any], dict[str, str], bool, str | None]] = {
    # an upload cannot loosen what the function's tags do not allow
    "upload dry run": (DRY, {}, True, "analysis.dryRun"),
    "upload promote on low traffic": (LOW, {}, True, "analysis.lowTrafficPolicy"),
    "upload minInvocations 0": (MIN0, {}, True, "analysis.minInvocations"),
    "upload drops the function's alarm": (NO_ALARM, OWN_ALARM, True, "analysis.alarms"),
    "upload keeps the function's alarm": (
        {"analysis": {"alarms": ["orders-errors", "x"]}}, OWN_ALARM, True, None
    ),
    "upload tightens": ({"analysis": {"minInvocations": 500}}, {}, True, None),
    # ... unless the tags allow it
    "upload dry run allowed": (DRY, {"coalmine:allow": "dryRun"}, True, None),
    "upload low traffic allowed": (LOW, {"coalmine:allow": "dryRun promoteOnLowTraffic"}, True,
                                   None),
    "upload minInvocations 0 allowed": (MIN0, {"coalmine:allow": "minInvocations0"}, True, None),
    "upload no alarms allowed": (NO_ALARM, {**OWN_ALARM, "coalmine:allow": "noAlarms"}, True,
                                 None),
    "commas accepted": (DRY, {"coalmine:allow": "noAlarms,dryRun"}, True, None),
    "allowed one, not another": (MIN0, {"coalmine:allow": "dryRun"}, True,
                                 "analysis.minInvocations"),
    # a direct caller (console, CI) may, unless the tags say otherwise
    "direct dry run": (DRY, {}, False, None),
    "direct minInvocations 0": (MIN0, {}, False, None),
    "direct without the alarm": (NO_ALARM, OWN_ALARM, False, None),
    "direct dry run forbidden": (DRY, {"coalmine:allow": "none"}, False, "analysis.dryRun"),
    "direct low traffic forbidden": (LOW, {"coalmine:allow": "dryRun"}, False,
                                     "analysis.lowTrafficPolicy"),
    "direct alarm left out, forbidden": (NO_ALARM, {**OWN_ALARM, "coalmine:allow": "none"}, False,
                                         "analysis.alarms"),
    "a typo in coalmine:allow": (DRY, {"coalmine:allow": "dryrun"}, False,
                                 "coalmine:allow (tags of function orders)"),
    # the tags pin the strategies (every caller)
    "strategy pinned, allowed": ({"strategy": "Canary10Percent5Minutes"},
                                 {"coalmine:strategies": "Canary10Percent5Minutes"}, False, None),
    "strategy pinned, default allowed": ({}, {"coalmine:strategies": "Canary10Percent5Minutes"},
                                         True, None),
    "strategy pinned, refused": ({"strategy": "AllAtOnce"},
                                 {"coalmine:strategies": "Canary10Percent5Minutes"}, False,
                                 "strategy"),
    "strategy pinned, refused for an upload": ({"strategy": "AllAtOnce"},
                                               {"coalmine:strategies": "canary linear"}, True,
                                               "strategy"),
    "strategy type allowed (name)": ({"strategy": "Linear10PercentEvery1Minute"},
                                     {"coalmine:strategies": "canary linear"}, False, None),
    "strategy type allowed (object)": (
        {"strategy": {"type": "canary", "percent": 5, "intervalMinutes": 10}},
        {"coalmine:strategies": "canary"}, True, None,
    ),
    "a prefixed name is its plain name": ({"strategy": "CodeDeployDefault.LambdaAllAtOnce"},
                                          {"coalmine:strategies": "AllAtOnce"}, False, None),
    "blue/green refused": ({"strategy": {"type": "blueGreen"}},
                           {"coalmine:strategies": "canary"}, False, "strategy"),
    # a bake that rounds to 0 s (every caller, no tag needed)
    "canary bake rounds to 0 s": ({"strategy": {"type": "canary", "percent": 10,
                                                "intervalMinutes": 0.001}}, {}, False,
                                  "strategy.intervalMinutes"),
    "linear bake rounds to 0 s": ({"strategy": {"type": "linear", "percent": 50,
                                                "intervalMinutes": 0.008}}, {}, True,
                                  "strategy.intervalMinutes"),
    "a 1 s bake is a bake": ({"strategy": {"type": "canary", "percent": 10,
                                           "intervalMinutes": 1 / 60}}, {}, False, None),
}  # fmt: skip


@pytest.mark.parametrize(("fields", "tags", "from_upload", "field"), CASES.values(), ids=CASES)
def test_the_floor(
    fields: dict[str, Any], tags: dict[str, str], from_upload: bool, field: str | None
) -> None:
    if field is None:
        _check(fields, tags, from_upload)
        return
    with pytest.raises(InvalidInput) as raised:
        _check(fields, tags, from_upload)
    assert raised.value.field == field, raised.value


def test_an_uploads_refusal_says_how_to_allow_it() -> None:
    with pytest.raises(InvalidInput) as raised:
        _check(DRY, {}, True)
    assert "never loosen" in raised.value.problem
    assert "coalmine:allow=dryRun" in raised.value.problem


def test_a_pinned_strategy_names_what_the_tag_allows() -> None:
    with pytest.raises(InvalidInput) as raised:
        _check({"strategy": "AllAtOnce"}, {"coalmine:strategies": "canary blueGreen"}, False)
    assert raised.value.problem == (
        "AllAtOnce is not a strategy orders allows: its tag coalmine:strategies lists canary, "
        "blueGreen"
    )
