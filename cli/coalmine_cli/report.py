"""`coalmine report (EXECUTION_ARN | RESULT.json) -o report.html [--png] [--json OUT.json]`: a
deployment's timeline (from a rehearsal's result JSON, or rebuilt from AWS: sources.py) drawn as
one self-contained HTML page (report_html.py) and, with ``--png``, the same as a PNG (headless
Chromium: browser.py). docs/report.md documents the timeline and the page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from coalmine_cli import browser, report_html

#: The PNG's window: the page's width, and enough height for the chart and the table's top.
PNG_WIDTH, PNG_HEIGHT = 1180, 1100


class ReportError(Exception):
    """The source cannot be drawn (the message is the one line; the CLI exits 2)."""


def timeline_of_result(path: Path) -> dict[str, Any]:
    """The ``timeline`` of a rehearsal's result JSON (or a timeline JSON itself)."""
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise ReportError(f"cannot read {path}: {error.strerror}") from error
    except ValueError as error:
        raise ReportError(f"{path} is not valid JSON: {error}") from error
    if isinstance(data, dict) and isinstance(data.get("timeline"), dict):
        return data["timeline"]
    if isinstance(data, dict) and "minutes" in data and "decision" in data:
        return data
    raise ReportError(f"{path} holds no timeline (a rehearsal result JSON, or --json's output)")


def write(
    tl: dict[str, Any], html_out: Path, png: bool = False, json_out: Path | None = None
) -> list[Path]:
    """Write the page (and the PNG next to it, the timeline JSON); the paths written."""
    html_out.parent.mkdir(parents=True, exist_ok=True)
    html_out.write_text(report_html.render(tl))
    written = [html_out]
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(tl, indent=2) + "\n")
        written.append(json_out)
    if png:
        image = html_out.with_suffix(".png")
        browser.screenshot(html_out, image, PNG_WIDTH, PNG_HEIGHT)
        written.append(image)
    return written
