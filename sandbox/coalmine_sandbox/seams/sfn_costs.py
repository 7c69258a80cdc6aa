"""Work moto 5.2.5's Step Functions repeats, done at C speed or once (same results).

- The copies of the data a state carries: the interpreter deep-copies a state's input, result and
  output about ten times per state (and every history event's details) with `copy.deepcopy`,
  whose cost per node made a large execution document the main cost of each transition. These
  modules' `copy` becomes one whose `deepcopy` round-trips the value through `marshal` (which,
  like `deepcopy`, builds new containers and keeps an object referenced twice shared, and takes
  only exact built-in types: dicts, lists, strings, numbers, booleans, None ...), about ten
  times faster; a value marshal refuses (any other object inside) goes through `copy.deepcopy`.
- CreateStateMachine / UpdateStateMachine parse the definition only to validate it (each
  execution parses it again to run it): a definition that parsed once is valid for the process.
"""

from __future__ import annotations

import copy
import marshal
from collections.abc import Callable
from typing import Any

_VALID: set[str] = set()  # definitions that parsed (process-wide, like the parser itself)


def deep_copy(value: Any) -> Any:
    """`copy.deepcopy(value)` for plain data, without its per-node bookkeeping."""
    try:
        return marshal.loads(marshal.dumps(value))
    except ValueError:  # an object marshal does not take (a subclass, an instance ...)
        return copy.deepcopy(value)


class _Copy:
    """The `copy` module, but for `deepcopy` without a memo."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        return deep_copy(value) if memo is None else self._real.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _validated_once(original: Any) -> Any:
    def validate(definition: str) -> None:
        if definition not in _VALID:
            original(definition)  # raises InvalidDefinition for a bad one
            _VALID.add(definition)

    return validate


FACTORIES: dict[str, Callable[[Any], Any]] = {
    "copy": _Copy,
    "StepFunctionsParserBackend._validate_definition": _validated_once,
}
