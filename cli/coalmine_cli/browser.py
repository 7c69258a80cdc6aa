"""Headless Chromium (Debian's `chromium`) for `coalmine report --png` and the report's browser
tests: a screenshot, the DOM after load, and the console messages, all from the command line
(``--screenshot``, ``--dump-dom``, ``--enable-logging=stderr``): no DevTools client needed."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
)
TIMEOUT_SECONDS = 120.0
# Chromium's log line for a page's console message, `...:INFO:CONSOLE:12] "text", source: ...`
# (older builds: `CONSOLE(12)`); the level is INFO whatever the message's, so every console
# message counts (the report runs no script: any message is an error, e.g. an uncaught one)
_CONSOLE = re.compile(r":(?P<level>[A-Z]+):CONSOLE(?::\d+|\(\d+\))\] \"(?P<text>.*)\", source: ")


class BrowserError(Exception):
    """No Chromium, or it failed (the message says which)."""


@dataclass(frozen=True)
class Console:
    level: str  # as Chromium logged it (INFO for every level in current builds)
    text: str


def find() -> str:
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserError(
        "no headless Chromium found (install Debian's `chromium`: apt-get install -y chromium)"
    )


def _run(page: Path, extra: list[str], width: int, height: int) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="coalmine-chromium-") as profile:
        command = [
            find(),
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            *extra,
            page.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
            )
        except subprocess.TimeoutExpired as error:
            raise BrowserError(f"chromium did not finish in {TIMEOUT_SECONDS:g} s") from error
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise BrowserError(f"chromium exited {done.returncode}: {last}")
    return done


def screenshot(page: Path, png: Path, width: int, height: int) -> list[Console]:
    """Load ``page`` and write what it shows in a ``width`` x ``height`` window to ``png``; the
    console messages it logged."""
    png.parent.mkdir(parents=True, exist_ok=True)
    done = _run(page, [f"--screenshot={png.resolve()}"], width, height)
    if not png.exists():
        raise BrowserError(f"chromium wrote no screenshot to {png}")
    return console(done.stderr)


def dump_dom(page: Path, width: int = 1200, height: int = 900) -> tuple[str, list[Console]]:
    """The DOM after ``page`` loaded (serialised), and the console messages it logged."""
    done = _run(page, ["--dump-dom"], width, height)
    return done.stdout, console(done.stderr)


def console(stderr: str) -> list[Console]:
    return [
        Console(found.group("level"), found.group("text"))
        for found in map(_CONSOLE.search, stderr.splitlines())
        if found
    ]
