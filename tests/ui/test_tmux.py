"""The real ``opstui`` in tmux: keys in, screen read back with capture-pane."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from opstui.domain.clock import Clock
from opstui.store import queries as q
from opstui.store.schema import open_database

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


class Tmux:
    def __init__(self, command: str, cols: int = 80, rows: int = 24) -> None:
        self.name = f"opstui-test-{uuid.uuid4().hex[:8]}"
        subprocess.run(
            [
                "tmux",
                "new-session",
                "-d",
                "-s",
                self.name,
                "-x",
                str(cols),
                "-y",
                str(rows),
                command,
            ],
            check=True,
        )

    def screen(self) -> str:
        out = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True
        )
        return out.stdout

    def send(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} did not appear; screen was:\n{screen}")

    def alive(self) -> bool:
        return (
            subprocess.run(["tmux", "has-session", "-t", self.name], capture_output=True).returncode
            == 0
        )

    def kill(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def test_triage_in_tmux(tmp_path: Path) -> None:
    from ui_helpers import ANCHOR, build_shop

    path = tmp_path / "tmux.db"
    db = open_database(path, clock=Clock.frozen(ANCHOR), unix_user="tester")
    build_shop(db)
    db.dispose()
    env = (
        f"PYTHONPATH={shlex.quote(str(ROOT))} OPSTUI_CONFIG={shlex.quote(str(tmp_path / 'c.toml'))} "
        f"OPSTUI_STATE={shlex.quote(str(tmp_path / 's.toml'))} TERM=xterm-256color"
    )
    command = (
        f"cd {shlex.quote(str(ROOT))} && env {env} {shlex.quote(sys.executable)} -m opstui "
        f"--db {shlex.quote(str(path))} --now {ANCHOR.isoformat()}; echo EXITED $?; sleep 30"
    )
    tmux = Tmux(command)
    try:
        screen = tmux.wait_for("Capacity", timeout=60)
        assert "Queues" in screen and "SLA" in screen and "Owners" in screen
        tmux.wait_for("(unowned)")
        tmux.send("Enter")  # the support queue
        tmux.wait_for("Filter: queue=support")
        # The rows arrive from a worker after the filter line (the list says "loading…"
        # meanwhile): wait for the count the complete id list brings, then for the rows.
        screen = tmux.wait_for("items)", timeout=60)
        assert "no items match" not in screen
        tmux.wait_for("SUP-6", timeout=60)
        tmux.send("g")  # first row: SUP-1, the most urgent
        tmux.send("a")
        tmux.wait_for("enter assigns")
        tmux.send("a", "l", "Enter")  # typed as fast as tmux sends: narrows to alice
        tmux.wait_for("SUP-1 assigned to alice")
        tmux.send("m")
        tmux.wait_for("enter moves to")
        tmux.send("Enter")
        tmux.wait_for("SUP-1 moved to in_progress")
        tmux.send("Escape")
        screen = tmux.wait_for("Capacity")
        tmux.send("q")
        screen = tmux.wait_for("EXITED 0")
        assert "Traceback" not in screen
    finally:
        tmux.kill()
    db = open_database(path, create=False, clock=Clock.frozen(ANCHOR))
    with db.read() as conn:
        it = q.get_item(conn, "SUP-1")
    db.dispose()
    assert (it.owner, it.status) == ("alice", "in_progress")
    assert os.path.exists(path)
