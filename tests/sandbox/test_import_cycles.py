"""No import cycle anywhere in the project, module by module, TYPE_CHECKING imports included.

`lint-imports` (pyproject.toml) checks the sandbox's layers, who may import moto, and that no two
sibling packages or modules import each other; this also catches a cycle through a package's own
`__init__` (e.g. a module importing its package's re-exports), which no sibling check sees.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parents[2]
ROOT_PACKAGES = (
    "coalmine",
    "coalmine_sandbox",
    "coalmine_cli",
    "brand_api",
    "brand_api_smoke",
    "asset_processor",
    "sample_faults",
    "bench",
)


def strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """The import cycles: every strongly connected set of two or more modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_module_imports_itself_back() -> None:
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))  # bench/ is a package at the repository's root
    graph = grimp.build_graph(*ROOT_PACKAGES, exclude_type_checking_imports=False, cache_dir=None)
    assert strongly_connected(graph) == []


def test_a_cycle_through_a_package_init_is_found() -> None:
    # Given a package whose __init__ imports a module that imports the package back
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "other"):
        graph.add_module(module)
    graph.add_import(importer="pkg", imported="pkg.a")
    graph.add_import(importer="pkg.a", imported="pkg")
    graph.add_import(importer="pkg.b", imported="other")
    # Then that cycle, and only it, is reported
    assert strongly_connected(graph) == [["pkg", "pkg.a"]]
