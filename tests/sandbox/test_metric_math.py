"""The metric math the sandbox's alarms evaluate (aws/cloudwatch/metric_math.py), per timestamp."""

from __future__ import annotations

import pytest

from coalmine_sandbox.aws.cloudwatch.metric_math import Unsupported, parse

IDS = frozenset({"m1", "m2", "errors", "requests"})
ENV = {"m1": 6.0, "m2": 3.0, "errors": 5.0, "requests": 100.0}


@pytest.mark.parametrize(
    ("expression", "env", "value"),
    [
        ("m1 / m2", ENV, 2.0),
        ("m1 + m2 * 2", ENV, 12.0),
        ("(m1 + m2) * 2", ENV, 18.0),
        ("m1 - m2 - 1", ENV, 2.0),  # left-associative
        ("2 ^ 3 ^ 2", ENV, 512.0),  # right-associative
        ("-m1 + 10", ENV, 4.0),
        ("100 * errors / requests", ENV, 5.0),
        ("IF(requests >= 60, errors / requests, 0)", ENV, 0.05),
        ("IF(requests >= 600, errors / requests, 0)", ENV, 0.0),
        ("IF(requests >= 600, errors / requests)", ENV, None),  # no falseValue: no datapoint
        ("m1 > m2 AND m2 > 1", ENV, 1.0),
        ("m1 > m2 && m2 > 3", ENV, 0.0),
        ("m1 < m2 OR m2 == 3", ENV, 1.0),
        ("m1 != 6 || NOT m2", ENV, 0.0),
        ("m1 <= 6", ENV, 1.0),
        ("m1 / m2", {"m1": 1.0, "m2": None}, None),  # a missing operand: no datapoint
        ("m1 / m2", {"m1": 1.0, "m2": 0.0}, None),  # division by zero: no datapoint
        ("FILL(m2, 0) + m1", {"m1": 1.0, "m2": None}, 1.0),
        ("fill(m2, 7)", {"m1": 1.0, "m2": 2.0}, 2.0),  # function names in any case
        ("IF(m2, 1, 2)", {"m1": 1.0, "m2": None}, None),
        (".5 * 2e1", ENV, 10.0),
    ],
)
def test_expressions(expression: str, env: dict[str, float | None], value: float | None) -> None:
    result = parse(expression, IDS)(env)
    assert result == (pytest.approx(value) if value is not None else None)


@pytest.mark.parametrize(
    "expression",
    [
        "RATE(m1)",  # functions over the whole series are not emulated
        "SUM(METRICS())",
        "m3 + 1",  # not a query id
        "m1 +",
        "(m1",
        "m1 m2",
        "IF(m1)",
        "FILL(m1)",
        "m1 $ 2",
    ],
)
def test_what_is_not_emulated_or_not_valid_is_refused(expression: str) -> None:
    with pytest.raises(Unsupported):
        parse(expression, IDS)
