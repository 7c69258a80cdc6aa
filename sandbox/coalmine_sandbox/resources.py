"""Where the sandbox finds what it stands up and rehearses: template.yaml (and through it the
ASL and every function's code), the scenarios and the event fixtures. Read from the repository
checkout this package lives in; the one place to change when they ship as package data."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
SCENARIOS = REPO / "scenarios"
EVENTS = REPO / "events"
