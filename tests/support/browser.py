"""A real browser: Playwright driving Debian's Chromium (``/usr/bin/chromium``, headless, ``--no-sandbox``; never a
downloaded browser). Under CI a browser that is still missing fails the run, never skips it."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"


def chromium() -> str:
    """Debian's Chromium, installed when missing (apt-get as root); under CI a missing browser fails."""
    if not Path(CHROMIUM).exists() and shutil.which("apt-get") and os.geteuid() == 0:
        install = ["apt-get", "install", "-y", "-q", "chromium", "fonts-wqy-zenhei"]
        if subprocess.run(install, check=False, capture_output=True, timeout=900).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], check=False, capture_output=True, timeout=900)
            subprocess.run(install, check=False, capture_output=True, timeout=900)
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing and CI=true: apt-get install -y chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module, closed at its end: Playwright's sync API runs its event loop on the main
    thread, and left open across modules (tests/e2e/test_crawl.py uses this fixture too) it broke the next module's
    pages ("Sync API inside the asyncio loop")."""
    from playwright.sync_api import sync_playwright

    executable = chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()
