"""An upload's policy: the object's metadata, else the function's tags, else the defaults; the
input's own fields first; alarms only added; a bad value names the field and where it came from."""

from __future__ import annotations

from typing import Any

import pytest

from coalmine.exceptions import InvalidInput
from coalmine.upload_policy import parse_policy_object, with_policy
from coalmine.validation import parse_request

URL = "s3://artifacts/deployments/f/b.zip"
FUNCTION = "f"
BASE: dict[str, Any] = {"functionName": "f", "targetVersion": "2"}


def _policy(
    metadata: dict[str, str], tags: dict[str, str], request: dict[str, Any] | None = None
) -> dict[str, Any]:
    return with_policy(request or BASE, metadata, tags, URL, FUNCTION)


def test_metadata_comes_before_tags_and_the_result_is_a_valid_input() -> None:
    out = _policy(
        {"coalmine-strategy": "Linear10PercentEvery1Minute", "coalmine-alarms": '["a b", "c"]'},
        {"coalmine:strategy": "AllAtOnce", "coalmine:alarms": "c d"},
    )
    assert out["strategy"] == "Linear10PercentEvery1Minute"
    assert out["analysis"]["alarms"] == ["a b", "c", "d"]  # a union: tags' alarms stay
    parse_request(out)


def test_tags_then_defaults() -> None:
    assert _policy({}, {"coalmine:strategy": "AllAtOnce"})["strategy"] == "AllAtOnce"
    assert _policy({}, {}) == BASE  # the defaults: ExecutionInput's


def test_the_inputs_own_strategy_wins_and_its_alarms_are_kept() -> None:
    request = {**BASE, "strategy": "Canary10Percent5Minutes", "analysis": {"alarms": ["x"]}}
    out = _policy({"coalmine-strategy": "AllAtOnce", "coalmine-alarms": "y"}, {}, request)
    assert out["strategy"] == "Canary10Percent5Minutes"
    assert out["analysis"]["alarms"] == ["x", "y"]


def test_a_strategy_object_in_metadata() -> None:
    spec = '{"type": "canary", "percent": 5, "intervalMinutes": 10}'
    out = _policy({"coalmine-strategy": spec}, {})
    assert out["strategy"] == {"type": "canary", "percent": 5, "intervalMinutes": 10}
    parse_request(out)


@pytest.mark.parametrize(
    ("metadata", "tags", "field"),
    [
        ({"coalmine-strategy": "Yolo"}, {}, f"coalmine-strategy (metadata of {URL})"),
        ({"coalmine-strategy": '{"type": "canary"}'}, {}, f"coalmine-strategy (metadata of {URL})"),
        ({"coalmine-strategy": "{nope"}, {}, f"coalmine-strategy (metadata of {URL})"),
        ({"coalmine-alarms": '["a", 3]'}, {}, f"coalmine-alarms (metadata of {URL})"),
        ({"coalmine-alarms": "[oops"}, {}, f"coalmine-alarms (metadata of {URL})"),
        ({}, {"coalmine:strategy": "Fast"}, "coalmine:strategy (tags of function f)"),
        ({}, {"coalmine:alarms": "  "}, "coalmine:alarms (tags of function f)"),
    ],
)
def test_a_bad_policy_names_the_field_and_where_it_came_from(
    metadata: dict[str, str], tags: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        _policy(metadata, tags)
    assert raised.value.field == field


DOC_URL = "s3://artifacts/deployments/f/coalmine.json"


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("{nope", f"coalmine.json ({DOC_URL})", "not JSON"),
        ("", f"coalmine.json ({DOC_URL})", "not JSON"),
        ('["AllAtOnce"]', f"coalmine.json ({DOC_URL})", "must be a JSON object"),
        ('{"functionName": "other"}', f"functionName ({DOC_URL})", "not a policy field"),
        ('{"code": {}}', f"code ({DOC_URL})", "not a policy field"),
        ('{"strategy": "Yolo"}', f"strategy ({DOC_URL})", "unknown strategy"),
        ('{"strategy": 3}', f"strategy ({DOC_URL})", ""),
        ('{"alias": "a b"}', f"alias ({DOC_URL})", ""),
        ('{"analysis": {"minInvocations": -1}}', f"analysis.minInvocations ({DOC_URL})", ""),
        ('{"analysis": {"nope": 1}}', f"analysis.nope ({DOC_URL})", ""),
    ],
    ids=[
        "not JSON", "empty", "an array", "functionName", "code", "unknown strategy",
        "strategy a number", "bad alias", "bad analysis value", "unknown analysis field",
    ],
)  # fmt: skip
def test_a_bad_policy_object_fails_naming_the_field_and_the_object(
    text: str, field: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_policy_object(text, DOC_URL)
    assert raised.value.field == field, raised.value
    assert words in raised.value.problem


def test_a_policy_object_fills_in_what_the_input_does_not_say() -> None:
    document = parse_policy_object(
        '{"strategy": {"type": "canary", "percent": 5, "intervalMinutes": 10},'
        ' "analysis": {"alarms": ["d"], "minInvocations": 50}}',
        DOC_URL,
    )
    request = {**BASE, "analysis": {"minInvocations": 200}}
    out = with_policy(request, {}, {"coalmine:alarms": "t"}, URL, FUNCTION, document, DOC_URL)
    assert out["strategy"] == {"type": "canary", "percent": 5, "intervalMinutes": 10}
    assert out["analysis"] == {"minInvocations": 200, "alarms": ["d", "t"]}
    parse_request(out)
