"""The process environment an invocation runs in: its variables set in os.environ (and the
process environment, as os.environ does) for the call and put back after it. The swap works on
os.environ's encoded form of the names and values invocations set (a few hundred strings),
without its per-key Python overhead."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, cast

_KEYS: dict[str, bytes] = {}
_VALUES: dict[str, bytes] = {}


def _encoded(text: str, encode: Callable[[str], bytes], cache: dict[str, bytes]) -> bytes:
    found = cache.get(text)
    if found is None:
        if len(cache) > 10_000:
            cache.clear()
        found = cache[text] = encode(text)
    return found


def swap_environ(values: Mapping[str, str]) -> dict[bytes, bytes | None]:
    """Set `values` in os.environ; returns what `restore_environ` needs to put back the keys
    that changed."""
    environ: Any = os.environ
    data, encode_key, encode_value = environ._data, environ.encodekey, environ.encodevalue
    saved: dict[bytes, bytes | None] = {}
    for key, value in values.items():
        raw_key = _encoded(key, encode_key, _KEYS)
        raw_value = _encoded(value, encode_value, _VALUES)
        old = data.get(raw_key)
        if old != raw_value:
            saved[raw_key] = old
            os.putenv(raw_key, raw_value)
            data[raw_key] = raw_value
    return saved


def restore_environ(saved: Mapping[bytes, bytes | None]) -> None:
    data = cast(Any, os.environ)._data
    for raw_key, old in saved.items():
        if old is None:
            os.unsetenv(raw_key)
            data.pop(raw_key, None)
        else:
            os.putenv(raw_key, old)
            data[raw_key] = old
