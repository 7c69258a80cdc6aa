"""What the integration tests share besides fixtures (a module of its own: `from conftest import`
resolves to whichever conftest.py pytest imported first, the sandbox's when both are collected)."""

from __future__ import annotations

import io
import zipfile

#: The alias's RevisionId before any coalmine write (events/publish-version.json, shift-traffic);
#: after the first shift: ``SHIFTED_REVISION`` (analyze, promote, rollback).
FIXTURE_REVISION = "6f1a2b3c-0000-4000-8000-000000000001"
SHIFTED_REVISION = "6f1a2b3c-0000-4000-8000-000000000002"


def zip_of(source: str) -> bytes:
    """A deployment package with one `app.py`, byte-identical for the same source."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("app.py", date_time=(2024, 1, 1, 0, 0, 0)), source)
    return buffer.getvalue()
