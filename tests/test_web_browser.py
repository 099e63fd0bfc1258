"""`opstui serve` in a real headless Chromium, driven over the DevTools protocol.

The page loads, the four panes are drawn (read from xterm.js's screen buffer), a change
made with the CLI shows up with nothing pressed, a write is refused in read-only mode, a
wrong token gets 401.  Without chromium the test skips on a developer machine and fails
in CI (CI=true), where .ci/run installs it.

``OPSTUI_DOCS_SHOTS=1`` also writes the screenshots the README shows (docs/).
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests._cdp import Browser, find_chromium
from tests._served import Served
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

TOKEN = "browser-test-token"
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("chromium is not installed, and CI must run the browser test")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path


def _cli(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "opstui", "--db", str(db), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("web") / "demo.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "opstui", "demo", "--path", str(path), "--no-ui"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture
def served(demo_db: Path) -> Iterator[Served]:
    server = Served(demo_db, "--token", TOKEN)
    yield server
    server.stop()


def _events(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM event").fetchone()[0])


def _support_open(screen: str) -> str:
    m = re.search(r"│support\s+(!?\d+(?:/\d+)?)\s", screen)
    assert m, screen
    return m.group(1)


def _save(shot: Path, name: str) -> None:
    if os.environ.get("OPSTUI_DOCS_SHOTS") == "1":
        DOCS.mkdir(exist_ok=True)
        (DOCS / name).write_bytes(shot.read_bytes())


async def test_dashboard_in_chromium(chromium: str, served: Served, demo_db: Path, tmp_path):
    # a wrong or missing token: 401, and no app process is started
    async with aiohttp.ClientSession() as http:
        for query in ("?token=wrong&as=eve", "?as=eve", ""):
            async with http.get(served.url + query) as resp:
                assert resp.status == 401, query
                assert "token" in await resp.text()
        async with http.get(served.url + "ws/not-a-ticket") as resp:
            assert resp.status == 401
    assert " started" not in served.output()

    async with Browser(chromium, tmp_path / "profile") as browser:
        await browser.goto(f"{served.url}?token={TOKEN}&as=wall-test")
        # the four panes, drawn by the app process this tab started
        screen = await browser.wait_for_text(
            "╭─ Queues", "╭─ SLA", "╭─ Owners", "╭─ Capacity", "read-only", "│support "
        )
        assert " started" in served.output()
        before = _support_open(screen)

        # a change made with the CLI appears with nothing pressed, within 2 s
        done = _cli("add", "-q", "support", "-t", "Printer on fire (browser test)", db=demo_db)
        assert done.returncode == 0, done.stderr
        changed_at = time.monotonic()
        while True:
            screen = await browser.screen_text()
            if _support_open(screen) != before:
                break
            assert time.monotonic() - changed_at < 2.0, f"still {before} after 2 s:\n{screen}"
            await asyncio.sleep(0.05)
        shot = tmp_path / "browser-dashboard.png"
        await browser.screenshot(shot)
        assert shot.stat().st_size > 10_000
        _save(shot, "browser-dashboard.png")

        # read-only (the default): a write is refused with a message, nothing is written
        events = _events(demo_db)
        await browser.press("n")
        await browser.wait_for_text("browser view is read-only", timeout=10)
        assert _events(demo_db) == events

        # the wall view in the same browser: large figures and the breached list
        wall = Served(demo_db, "--view", "wall", "--token", TOKEN)
        try:
            await browser.goto(f"{wall.url}?token={TOKEN}&as=wall-test&fontsize=18")
            screen = await browser.wait_for_text(
                "Breached now: ", "Unowned", "─ Queues", "│support "
            )
            # the list and the status bar count the same breached work
            listed = re.search(r"Breached now: (\d+)", screen)
            counted = re.search(r"(\d+) breached", screen)
            assert listed and counted and listed.group(1) == counted.group(1), screen
            await asyncio.sleep(0.5)  # let the big digits settle before the picture
            shot = tmp_path / "browser-wall.png"
            await browser.screenshot(shot)
            _save(shot, "browser-wall.png")
        finally:
            wall.stop()
