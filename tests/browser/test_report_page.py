"""`coalmine report`'s page in a real headless Chromium: it loads with no console message (it runs
no script, so any message is an error), the expected labels are in the DOM, and its screenshot
is a picture (not blank: the lines' colours are there)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from page_helpers import png_pixels

from coalmine_cli import browser, report, report_html
from coalmine_cli.main import main

LABELS = ("Traffic weight", "Error rate", "Latency", "Verdicts", "Gates' evidence")


def _page(tmp_path: Path, tl: dict[str, Any]) -> Path:
    page = tmp_path / "report.html"
    page.write_text(report_html.render(tl))
    return page


def test_the_page_loads_without_console_messages_and_shows_its_labels(
    chromium: str, tmp_path: Path, faulty_timeline: dict[str, Any]
) -> None:
    dom, messages = browser.dump_dom(_page(tmp_path, faulty_timeline))
    assert messages == []
    for label in LABELS:
        assert label in dom
    assert "Decision: ROLLED_BACK at t+120 s" in dom
    assert "new version's error rate 20.35% is above" in dom  # the reason
    assert dom.count('class="tick ') == 2  # one mark per tick
    assert dom.count('class="tick FAIL"') == 1
    assert 'id="evidence"' in dom
    assert "newErrorRate=0.2035" in dom  # the gates' evidence table
    assert "http" not in dom.replace('xmlns="http://www.w3.org/2000/svg"', "")  # no network


def test_a_console_error_is_caught(chromium: str, tmp_path: Path) -> None:
    # the check above can fail: a page whose script throws logs a console message
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html><body><script>undefinedThing();</script></body></html>")
    _, messages = browser.dump_dom(page)
    assert [m.text for m in messages] == ["Uncaught ReferenceError: undefinedThing is not defined"]


def test_the_screenshot_is_a_picture_of_the_deployment(
    chromium: str, tmp_path: Path, faulty_timeline: dict[str, Any]
) -> None:
    page = _page(tmp_path, faulty_timeline)
    png = tmp_path / "report.png"
    assert browser.screenshot(page, png, report.PNG_WIDTH, report.PNG_HEIGHT) == []
    width, height, pixels = png_pixels(png)
    assert (width, height) == (report.PNG_WIDTH, report.PNG_HEIGHT)
    white = sum(1 for p in pixels if min(p) >= 250)
    assert 0.02 < 1 - white / len(pixels) < 0.6  # drawn on, not a black or a blank page

    def near(rgb: tuple[int, int, int]) -> int:
        return sum(1 for p in pixels if all(abs(a - b) <= 24 for a, b in zip(p, rgb, strict=True)))

    assert near((0x1F, 0x6F, 0xB4)) > 200  # the old version's lines
    assert near((0xE8, 0x74, 0x1B)) > 200  # the new version's lines
    assert near((0xD6, 0x27, 0x28)) > 200  # the decision line, the FAIL mark, the badge


def test_report_of_a_result_json_writes_the_page_and_the_png(
    chromium: str, tmp_path: Path, faulty_timeline: dict[str, Any], capsys: pytest.CaptureFixture
) -> None:
    result = tmp_path / "result.json"
    result.write_text(json.dumps({"outcome": "ROLLED_BACK", "timeline": faulty_timeline}))
    out = tmp_path / "out" / "r.html"
    code = main(
        ["report", str(result), "-o", str(out), "--png", "--json", str(tmp_path / "t.json")]
    )
    assert code == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert png_pixels(out.with_suffix(".png"))[0] == report.PNG_WIDTH
    assert json.loads((tmp_path / "t.json").read_text()) == faulty_timeline
    assert capsys.readouterr().out.count("wrote ") == 3
