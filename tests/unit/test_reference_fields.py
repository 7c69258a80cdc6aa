"""docs/reference.md documents every execution-input field the analysis accepts, and nothing it
refuses."""

from __future__ import annotations

import re
from pathlib import Path

from coalmine.models import AnalysisConfig

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference.md"


def test_every_analysis_field_has_a_row_and_every_row_a_field() -> None:
    documented = set(re.findall(r"^\| `analysis\.([A-Za-z]+)` \|", REFERENCE.read_text(), re.M))
    accepted = {field.alias for field in AnalysisConfig.model_fields.values()}
    assert documented == accepted
