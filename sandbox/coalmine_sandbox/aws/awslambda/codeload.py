"""Handler code for a function version, each code package in its own module namespace.

A code package is a directory (the template's CodeUri, or an uploaded zip extracted to a temp
dir keyed by CodeSha256). Its top-level names (`coalmine`, `brand_api`, ...) are imported from
that directory only, so two versions of the same package coexist: when a package becomes active
its modules are swapped into `sys.modules` (and the previous package's modules taken out); a
meta-path finder maps the top-level names to the active directory. Switching is skipped while
the same package stays active, so an invocation costs a dict lookup. Packages are cached for the
whole process (keyed by code identity): module-level state survives across Sandboxes, like a
warm Lambda execution environment. `restore()` puts back whatever was in `sys.modules` before.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable, Sequence
from io import BytesIO
from pathlib import Path
from types import ModuleType
from typing import Any

Handler = Callable[[Any, Any], Any]

_SKIP_TOPS = {"__pycache__", "bin"}


def top_level_names(root: Path) -> frozenset[str]:
    names = set()
    for entry in root.iterdir():
        if entry.name.startswith(".") or entry.name in _SKIP_TOPS or "-" in entry.name:
            continue
        if entry.is_dir() and not entry.name.endswith((".dist-info", ".egg-info")):
            names.add(entry.name)
        elif entry.suffix == ".py":
            names.add(entry.stem)
    return frozenset(names)


def layer_root(directory: Path) -> Path:
    """Where a layer's Python modules are: ``python/`` in a built layer, else its source
    directory (a ContentUri that holds the package itself, as `sam build` takes it)."""
    return directory / "python" if (directory / "python").is_dir() else directory


class CodePackage:
    def __init__(self, key: str, root: Path, layers: Sequence[Path] = ()) -> None:
        self.key = key
        self.root = root
        self.roots = [str(root), *(str(layer) for layer in layers)]
        self.tops = top_level_names(root).union(*(top_level_names(layer) for layer in layers))
        self.modules: dict[str, ModuleType] = {}
        self.handlers: dict[str, Handler] = {}


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, loader: CodeLoader) -> None:
        self._loader = loader

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        package = self._loader.active.get(fullname)
        if package is None or "." in fullname:
            return None
        return importlib.machinery.PathFinder.find_spec(fullname, package.roots)


class CodeLoader:
    """Process-wide: one per interpreter (module namespaces are process-wide too)."""

    def __init__(self) -> None:
        self.active: dict[str, CodePackage] = {}  # top-level name -> active package
        self._packages: dict[str, CodePackage] = {}
        self._originals: dict[str, dict[str, ModuleType]] = {}
        self._finder = _Finder(self)
        self._lock = threading.RLock()
        self._extract_dir: Path | None = None

    def package_for_dir(self, key: str, root: Path, layers: Sequence[Path] = ()) -> CodePackage:
        with self._lock:
            if key not in self._packages:
                self._packages[key] = CodePackage(key, root, layers)
            return self._packages[key]

    def package_for_zip(self, key: str, code: bytes, layers: Sequence[Path] = ()) -> CodePackage:
        with self._lock:
            if key not in self._packages:
                if self._extract_dir is None:
                    self._extract_dir = Path(tempfile.mkdtemp(prefix="coalmine-code-"))
                root = self._extract_dir / key.replace("/", "_").replace("+", "-").rstrip("=")
                if not root.exists():
                    with zipfile.ZipFile(BytesIO(code)) as archive:
                        archive.extractall(root)
                self._packages[key] = CodePackage(key, root, layers)
            return self._packages[key]

    def handler(self, package: CodePackage, handler: str) -> Handler:
        """The handler function (`module.path.function`), importing it on first use."""
        with self._lock:
            self.activate(package)
            fn = package.handlers.get(handler)
            if fn is None:
                module_name, _, attr = handler.rpartition(".")
                fn = getattr(importlib.import_module(module_name), attr)
                package.handlers[handler] = fn
            return fn

    def activate(self, package: CodePackage) -> None:
        if self._finder not in sys.meta_path:
            sys.meta_path.insert(0, self._finder)
        for top in package.tops:
            current = self.active.get(top)
            if current is package:
                continue
            taken = _take_modules(top)
            if current is None:
                self._originals.setdefault(top, taken)
            else:
                current.modules.update(taken)
            sys.modules.update({k: v for k, v in package.modules.items() if _under(k, top)})
            self.active[top] = package

    def restore(self) -> None:
        """Put back the modules that were imported before any package was activated."""
        with self._lock:
            for top, package in list(self.active.items()):
                package.modules.update(_take_modules(top))
                sys.modules.update(self._originals.pop(top, {}))
            self.active.clear()
            if self._finder in sys.meta_path:
                sys.meta_path.remove(self._finder)


def _under(name: str, top: str) -> bool:
    return name == top or name.startswith(top + ".")


def _take_modules(top: str) -> dict[str, ModuleType]:
    taken = {k: m for k, m in list(sys.modules.items()) if _under(k, top)}
    for name in taken:
        del sys.modules[name]
    return taken


LOADER = CodeLoader()
