"""Reaching moto's internals by name: the seams import moto's modules when a hook runs (moto's
own service modules are imported lazily by mock_aws too), and find a hooked attribute by its
dotted path."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


def module(name: str) -> ModuleType:
    """A moto module by name (`moto.awslambda.models`), imported on first use."""
    return importlib.import_module(name)


def resolve(module_name: str, dotted: str) -> tuple[Any, str, Any]:
    """(owner, attribute, current value) of `module:dotted`; AttributeError if it moved."""
    owner: Any = module(module_name)
    *path, attr = dotted.split(".")
    for part in path:
        owner = getattr(owner, part)
    return owner, attr, getattr(owner, attr)
