"""Where the sandbox finds what it stands up and rehearses: template.yaml (and through it the
ASL and every function's code), the scenarios and the event fixtures.

An installed `coalmine[sandbox]` carries them as package data, `coalmine_sandbox/bundle/` (setup.py
copies them there when the wheel is built); a checkout (an editable install included) reads them
from the repository itself. Either way this is the one place that knows.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _root() -> Path:
    bundle = Path(str(files("coalmine_sandbox"))) / "bundle"
    if (bundle / "template.yaml").is_file():
        return bundle
    return Path(__file__).resolve().parents[2]


REPO = _root()
TEMPLATE = REPO / "template.yaml"
SCENARIOS = REPO / "scenarios"
EVENTS = REPO / "events"


def scenario_path(name_or_path: str) -> Path:
    """A scenario file: the path as given if it exists, else a shipped scenario by its name
    (``healthy-canary`` or ``healthy-canary.json``); the path as given when neither exists (the
    caller reports it)."""
    given = Path(name_or_path)
    if given.exists():
        return given
    for candidate in (SCENARIOS / name_or_path, SCENARIOS / f"{name_or_path}.json"):
        if candidate.is_file():
            return candidate
    return given


def shipped_scenarios() -> list[str]:
    """The names of the shipped scenarios (``coalmine rehearse NAME`` runs one)."""
    return sorted(p.stem for p in SCENARIOS.glob("*.json"))
