"""A dashboard whose terminal goes away exits within seconds and never spins (issue 17).

Real processes on real terminals: the reproduction from the issue in tmux (SIGHUP ignored,
the session killed), and a pseudo-terminal that is closed without any hang-up signal (the
dashboard only sees end of input / EIO).  Textual's own input thread spins at 100% of a
core in both cases.
"""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
OPSTUI = [sys.executable, "-m", "opstui"]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")  # a zombie has exited; its parent has not reaped it


def _wait_gone(pid: int, within: float) -> tuple[float | None, float]:
    """(seconds until the process was gone or None if still there after ``within``, the CPU
    seconds it used meanwhile, as far as it could still be read)."""
    start = time.monotonic()
    cpu_before = cpu = _cpu_seconds(pid)
    while time.monotonic() - start < within:
        try:
            cpu = _cpu_seconds(pid)
        except FileNotFoundError:  # reaped
            pass
        if not _alive(pid):
            return time.monotonic() - start, cpu - cpu_before
        time.sleep(0.05)
    return None, cpu - cpu_before


def _has_open(pid: int, path: Path) -> bool:
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == str(path):
                return True
        except FileNotFoundError:  # closed meanwhile
            pass
    return False


def _wait_started(pid: int, db: Path, drain: Any = None, timeout: float = 60) -> None:
    """Until the dashboard is running (it has opened the database's WAL file) and has had
    a second for its first paint; ``drain`` keeps a pty's output flowing meanwhile."""
    wal = Path(f"{db}-wal").resolve()
    deadline = time.monotonic() + timeout
    started_at: float | None = None
    while time.monotonic() < deadline:
        assert _alive(pid), "the dashboard exited during start-up"
        if drain is not None:
            drain()
        if started_at is None and _has_open(pid, wal):
            started_at = time.monotonic()
        if started_at is not None and time.monotonic() - started_at > 1.0:
            return
        time.sleep(0.05)
    raise AssertionError("the dashboard did not start")


def _assert_exits_quietly(pid: int, db: Path) -> None:
    took, spent = _wait_gone(pid, within=5.0)
    if took is None:
        os.kill(pid, 9)
        raise AssertionError(f"still running 5 s after its terminal went away ({spent:.1f} s CPU)")
    assert spent < 1.0, f"used {spent:.1f} s of CPU while exiting"
    # the process exited on its own; what it had committed is intact
    out = subprocess.run(
        [*OPSTUI, "--db", str(db), "ls", "--open", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert took < 3.0, f"exited only after {took:.1f} s"


@pytest.fixture
def demo_db(sample_db_file: Path, tmp_path: Path) -> Path:
    db = tmp_path / "orphan.db"
    shutil.copyfile(sample_db_file, db)
    return db


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")
def test_dashboard_exits_when_its_tmux_session_is_killed_with_hangup_ignored(
    demo_db: Path,
) -> None:
    socket = f"opstui-orphan-{uuid.uuid4().hex[:8]}"
    pidfile = demo_db.with_suffix(".pid")
    inner = f"echo $$ > {pidfile}; trap '' HUP; exec {' '.join(OPSTUI)} --db {demo_db}"
    tmux = ["tmux", "-L", socket, "-f", "/dev/null"]
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", "t", "-x", "100", "-y", "30", "bash", "-c", inner],
        check=True,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 10
        while not pidfile.exists() or not pidfile.read_text().strip():
            assert time.monotonic() < deadline, "tmux did not start the shell"
            time.sleep(0.05)
        pid = int(pidfile.read_text())
        _wait_started(pid, demo_db)
        subprocess.run([*tmux, "kill-session", "-t", "t"], check=False)
        _assert_exits_quietly(pid, demo_db)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


def test_dashboard_exits_on_end_of_input_without_a_hangup(demo_db: Path) -> None:
    """The pseudo-terminal is not the process's controlling terminal, so closing it sends
    no SIGHUP: the dashboard must notice from its input alone."""
    master, slave = pty.openpty()
    os.set_inheritable(slave, True)
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    proc = subprocess.Popen(
        [*OPSTUI, "--db", str(demo_db)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=ROOT,
        env=env,
        start_new_session=True,  # no controlling terminal at all
    )
    os.close(slave)
    os.set_blocking(master, False)

    def drain() -> None:  # a full pty buffer would block the dashboard's output
        try:
            while os.read(master, 65536):
                pass
        except OSError:
            pass

    try:
        _wait_started(proc.pid, demo_db, drain)
        os.close(master)
        master = -1
        _assert_exits_quietly(proc.pid, demo_db)
        assert proc.wait(timeout=5) == 129  # the terminal-gone exit status (128 + SIGHUP)
    finally:
        if master >= 0:
            os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
