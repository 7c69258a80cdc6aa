"""The part of CloudWatch metric math a metric-math alarm needs, per timestamp, in pure Python.

An alarm with `Metrics` (PutMetricAlarm's MetricDataQuery list) has MetricStat queries and one
expression with `ReturnData: true`. CloudWatch evaluates the expression over the queries' time
series, timestamp by timestamp for the functions supported here, so the alarm's datapoint for a
period is the expression computed from each query's statistic for that period:

- numbers, query ids (lower-case first letter, as CloudWatch requires), parentheses;
- arithmetic `+ - * / ^` and unary minus;
- comparisons `== != < <= > >=` (1 or 0) and logical `AND`/`&&`, `OR`/`||`, `NOT`;
- `IF(condition, trueValue[, falseValue])`: without falseValue a false condition gives no
  datapoint, as CloudWatch documents;
- `FILL(id, value)`: a missing datapoint replaced by a number.

A missing operand gives no datapoint at that timestamp (CloudWatch combines series on their
common timestamps); so does a division by zero. Functions over the whole series (SUM(m1) of one
series, RATE, DIFF, ANOMALY_DETECTION_BAND, METRICS(), SEARCH, INSIGHT_RULE_METRIC...) are not
emulated: `parse` raises `Unsupported` and the alarm is left as it is (alarms.py logs it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

Value = float | None
Node = Callable[[Mapping[str, Value]], Value]


class Unsupported(ValueError):
    """The expression uses metric math the sandbox does not evaluate (or is not valid)."""


_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>&&|\|\||==|!=|<=|>=|[-+*/^(),<>]))"
)
_KEYWORDS = {"AND": "&&", "OR": "||", "NOT": "NOT"}
_FUNCTIONS = {"IF", "FILL"}


@dataclass
class _Parser:
    tokens: list[tuple[str, str]]
    ids: frozenset[str]
    pos: int = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, text: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (text is not None and token[1] != text):
            raise Unsupported(f"expected {text or 'more'} at token {self.pos + 1}")
        self.pos += 1
        return token

    def at(self, *texts: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "op" and token[1] in texts

    # precedence, lowest first: OR, AND, comparison, + -, * /, ^, unary
    def expression(self) -> Node:
        return self._binary(0)

    _LEVELS: tuple[tuple[str, ...], ...] = (
        ("||",),
        ("&&",),
        ("==", "!=", "<", "<=", ">", ">="),
        ("+", "-"),
        ("*", "/"),
    )

    def _binary(self, level: int) -> Node:
        if level == len(self._LEVELS):
            return self._power()
        left = self._binary(level + 1)
        while self.at(*self._LEVELS[level]):
            op = self.take()[1]
            right = self._binary(level + 1)
            left = _combine(op, left, right)
        return left

    def _power(self) -> Node:
        base = self._unary()
        if self.at("^"):
            self.take()
            exponent = self._power()  # right-associative
            return _combine("^", base, exponent)
        return base

    def _unary(self) -> Node:
        if self.at("-"):
            self.take()
            inner = self._unary()
            return lambda env: None if (v := inner(env)) is None else -v
        token = self.peek()
        if token is not None and token == ("op", "NOT"):
            self.take()
            inner = self._unary()
            return lambda env: None if (v := inner(env)) is None else float(v == 0)
        return self._atom()

    def _atom(self) -> Node:
        kind, text = self.take()
        if kind == "num":
            number = float(text)
            return lambda env: number
        if kind == "op" and text == "(":
            inner = self.expression()
            self.take(")")
            return inner
        if kind == "name" and self.at("("):
            return self._call(text.upper())
        if kind == "name":
            if text not in self.ids:
                raise Unsupported(f"unknown id {text!r}")
            return lambda env: env.get(text)
        raise Unsupported(f"unexpected {text!r}")

    def _call(self, name: str) -> Node:
        if name not in _FUNCTIONS:
            raise Unsupported(f"function {name} is not emulated by the sandbox")
        self.take("(")
        args = [self.expression()]
        while self.at(","):
            self.take()
            args.append(self.expression())
        self.take(")")
        if name == "FILL":
            if len(args) != 2:
                raise Unsupported("FILL takes (series, value)")
            series, fill = args
            return lambda env: v if (v := series(env)) is not None else fill(env)
        if len(args) not in (2, 3):
            raise Unsupported("IF takes (condition, trueValue[, falseValue])")
        cond, yes = args[0], args[1]
        no = args[2] if len(args) == 3 else (lambda env: None)

        def if_(env: Mapping[str, Value]) -> Value:
            c = cond(env)
            if c is None:
                return None
            return yes(env) if c != 0 else no(env)

        return if_


def _combine(op: str, left: Node, right: Node) -> Node:
    def apply(a: float, b: float) -> Value:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return None if b == 0 else a / b
        if op == "^":
            try:
                result = a**b
            except (OverflowError, ZeroDivisionError):
                return None
            return result if isinstance(result, float | int) and math.isfinite(result) else None
        if op == "&&":
            return float(a != 0 and b != 0)
        if op == "||":
            return float(a != 0 or b != 0)
        return float(
            {
                "==": a == b,
                "!=": a != b,
                "<": a < b,
                "<=": a <= b,
                ">": a > b,
                ">=": a >= b,
            }[op]
        )

    def node(env: Mapping[str, Value]) -> Value:
        a, b = left(env), right(env)
        if a is None or b is None:
            return None
        return apply(a, b)

    return node


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise Unsupported(f"cannot read {text[pos:]!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "name" and value.upper() in _KEYWORDS and value.isupper():
            kind, value = "op", _KEYWORDS[value.upper()]
        tokens.append((kind, value))
    return tokens


def parse(expression: str, ids: frozenset[str]) -> Node:
    """A function from the ids' values at one timestamp to the expression's value there."""
    parser = _Parser(tokenize(expression), ids)
    node = parser.expression()
    extra = parser.peek()
    if extra is not None:
        raise Unsupported(f"unexpected {extra[1]!r} after the expression")
    return node
