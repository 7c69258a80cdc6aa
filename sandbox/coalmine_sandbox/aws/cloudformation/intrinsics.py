"""CloudFormation intrinsic functions for the subset coalmine's template uses -- pure.

Ref, Fn::GetAtt, Fn::Sub (string or [string, vars]; `${!Literal}`), Fn::Join, Fn::Select,
Fn::Split, Fn::If / Fn::Equals / Fn::And / Fn::Or / Fn::Not / Condition, pseudo parameters.
A `Resolver` is given `ref(logical_id)` and `get_att(logical_id, attribute)` callbacks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

NO_VALUE = object()  # AWS::NoValue: the key is dropped
_SUB = re.compile(r"\$\{([^}]+)\}")


class UnsupportedIntrinsic(ValueError):
    pass


def references(value: Any) -> set[str]:
    """Logical ids (and parameter names) `value` refers to, for dependency ordering."""
    found: set[str] = set()
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                name = arg[0] if isinstance(arg, list) else str(arg).split(".", 1)[0]
                found.add(name)
            elif key == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) else arg
                local = set(arg[1]) if isinstance(arg, list) and len(arg) > 1 else set()
                for name in _SUB.findall(text):
                    if not name.startswith("!") and name.split(".", 1)[0] not in local:
                        found.add(name.split(".", 1)[0])
        for item in value.values():
            found |= references(item)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return {name for name in found if not name.startswith("AWS::")}


@dataclass
class Resolver:
    ref: Callable[[str], Any]
    get_att: Callable[[str, str], Any]
    pseudo: Mapping[str, Any]
    parameters: Mapping[str, Any]
    conditions: Mapping[str, Any] = field(default_factory=dict)
    _evaluated: dict[str, bool] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(item) for item in value) if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                return self._intrinsic(key, arg)
        out = {}
        for key, item in value.items():
            resolved = self.resolve(item)
            if resolved is not NO_VALUE:
                out[key] = resolved
        return out

    def condition(self, name: str) -> bool:
        if name not in self._evaluated:
            self._evaluated[name] = bool(self.resolve(self.conditions[name]))
        return self._evaluated[name]

    def _lookup(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.ref(name)

    def _intrinsic(self, key: str, arg: Any) -> Any:
        if key == "Ref":
            return self._lookup(arg)
        if key == "Condition":
            return self.condition(arg)
        if key == "Fn::GetAtt":
            name, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
            return self.get_att(name, self.resolve(attribute))
        if key == "Fn::Sub":
            return self._sub(arg)
        if key == "Fn::Join":
            sep, items = arg
            return str(self.resolve(sep)).join(str(i) for i in self.resolve(items))
        if key == "Fn::Select":
            index, items = self.resolve(arg)
            return items[int(index)]
        if key == "Fn::Split":
            sep, text = self.resolve(arg)
            return str(text).split(sep)
        if key == "Fn::If":
            name, yes, no = arg
            return self.resolve(yes if self.condition(name) else no)
        if key == "Fn::Equals":
            left, right = self.resolve(arg)
            return str(left) == str(right)
        if key == "Fn::And":
            return all(self.resolve(arg))
        if key == "Fn::Or":
            return any(self.resolve(arg))
        if key == "Fn::Not":
            return not self.resolve(arg)[0]
        raise UnsupportedIntrinsic(f"{key} is not supported by the sandbox")

    def _sub(self, arg: Any) -> str:
        text, local = (arg[0], self.resolve(arg[1])) if isinstance(arg, list) else (arg, {})

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in local:
                return str(local[name])
            if "." in name and name not in self.pseudo:
                logical, attribute = name.split(".", 1)
                return str(self.get_att(logical, attribute))
            return str(self._lookup(name))

        return _SUB.sub(replace, text)
