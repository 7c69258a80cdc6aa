"""The report's browser tests: a headless Chromium (Debian's `chromium`, installed here when
missing: `apt-get update && apt-get install -y chromium`, as root, as `make chromium` does) and a
sample timeline (page_helpers.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

import pytest
from page_helpers import faulty_timeline as sample

from coalmine_cli import browser


@pytest.fixture(scope="session")
def chromium() -> str:
    """The browser's path, installing Debian's package first if there is none."""
    try:
        return browser.find()
    except browser.BrowserError:
        pass
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        pytest.fail("no chromium, and apt-get as root is not available to install it")
    for command in ([apt, "update"], [apt, "install", "-y", "chromium"]):
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})  # fmt: skip
        if done.returncode != 0:
            pytest.fail(f"{' '.join(command)} failed: {done.stderr.strip()[-500:]}")
    return browser.find()


@pytest.fixture
def faulty_timeline() -> dict[str, Any]:
    return sample()
