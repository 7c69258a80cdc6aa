"""Every moto internal the sandbox hooks or reads still exists (moto is pinned: 5.2.5).

If this fails after a moto upgrade, a seam moved: fix coalmine_sandbox/seams/ before anything else.
"""

from __future__ import annotations

from importlib.metadata import version

import pytest

from coalmine_sandbox.seams import registry
from coalmine_sandbox.seams.internals import resolve
from coalmine_sandbox.seams.registry import HOOKS, READS


def test_moto_is_the_pinned_version() -> None:
    assert version("moto") == "5.2.5"


@pytest.mark.parametrize(("module", "name"), HOOKS + READS, ids=lambda v: str(v))
def test_hooked_name_exists(module: str, name: str) -> None:
    _owner, _attr, value = resolve(module, name)
    assert value is not None


def test_every_hook_has_a_replacement() -> None:
    assert {name for _, name in HOOKS} - {"time"} == set(registry.FACTORIES)


def test_hooks_are_removed_on_exit() -> None:
    from coalmine_sandbox import Sandbox

    # Given the originals
    before = {name: resolve(module, name)[2] for module, name in HOOKS}
    # When a sandbox is entered then left
    with Sandbox(template=None):
        during = {name: resolve(module, name)[2] for module, name in HOOKS}
    after = {name: resolve(module, name)[2] for module, name in HOOKS}
    # Then every hook was replaced inside and restored outside
    assert all(during[name] is not before[name] for name in before)
    assert after == before
