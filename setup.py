"""Build hook: the sandbox's package data comes from the repository's own files.

`coalmine rehearse` stands up template.yaml with the real state machine and the real handlers,
so an installed `coalmine[sandbox]` needs them: the wheel carries template.yaml, statemachine/,
functions/, layers/, scenarios/ and events/ under `coalmine_sandbox/bundle/` (read with
importlib.resources), copied here at build time so the repository keeps one copy of each.
Everything else is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
BUNDLE = ("template.yaml", "statemachine", "functions", "layers", "scenarios", "events")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")


class BuildWithBundle(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "coalmine_sandbox" / "bundle"
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for name in BUNDLE:
            source = HERE / name
            if source.is_dir():
                shutil.copytree(source, target / name, ignore=SKIP)
            else:
                shutil.copy2(source, target / name)


setup(cmdclass={"build_py": BuildWithBundle})
