"""A read-only database: reads work, every write command refuses with one line, the file
is unchanged.  Both ``--read-only`` and a file the user truly cannot write (root ignores
file modes, so the permission test runs without the DAC-override capabilities, or as
``nobody`` when Python is reachable for that user)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import assert_one_line_error, files_state, invoke, make_db, run_cli

READS = [
    ("ls",),
    ("ls", "--json"),
    ("show", "OPS-1"),
    ("show", "OPS-1", "--json"),
    ("events",),
    ("people", "ls"),
    ("queues", "ls"),
]

WRITES = [
    ("add", "-q", "ops", "-t", "new work"),
    ("mv", "OPS-2", "in_progress"),
    ("assign", "OPS-2", "ben"),
    ("assign", "OPS-2", "--none"),
    ("comment", "OPS-2", "hello"),
    ("edit", "OPS-2", "--title", "renamed"),
    ("block", "OPS-2", "OPS-3"),
    ("people", "add", "cy", "--name", "Cy"),
    ("people", "edit", "ana", "--name", "Ana B"),
    ("queues", "add", "desk", "--name", "Desk"),
]


def _load_file(tmp: Path) -> Path:
    f = tmp / "more.toml"
    f.write_text('[[people]]\nhandle = "dee"\nname = "Dee"\n')
    return f


def test_read_only_flag(tmp_path: Path) -> None:
    db = make_db(tmp_path / "ro.db")
    before = files_state(db)
    for n, args in enumerate(READS):
        res = (
            run_cli(db, *args, extra=["--read-only"])
            if n == 0
            else invoke(db, *args, extra=["--read-only"])
        )
        assert res.code == 0, (args, res.stderr)
        assert "OPS-1" in res.stdout or args[0] in ("people", "queues", "events"), args
    writes = [*WRITES, ("load", str(_load_file(tmp_path)))]
    for n, args in enumerate(writes):
        res = (
            run_cli(db, *args, extra=["--read-only"])
            if n == 0
            else invoke(db, *args, extra=["--read-only"])
        )
        assert_one_line_error(res, "read-only")
    assert files_state(db)["db"] == before["db"]
    res = invoke(db, "show", "OPS-2", "--json")
    assert '"title": "item 1"' in res.stdout and '"owner": "ana"' in res.stdout  # unchanged


def _python_for(prefix: list[str]) -> bool:
    try:
        proc = subprocess.run(
            [*prefix, sys.executable, "-c", "import sqlalchemy"], capture_output=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def _unprivileged_prefix(probe: Path) -> tuple[list[str], str]:
    """How to run the CLI so that file modes apply, or skip saying why."""
    if os.geteuid() != 0:
        return [], "already unprivileged"
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip(
            "running as root and setpriv is missing: cannot drop the right to ignore file modes"
        )
    nobody = [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    if _python_for(nobody) and _python_for([*nobody, "test", "-r", str(probe)]):
        return nobody, "as nobody"
    # Python lives under /root here (not reachable for nobody): stay uid 0 but drop the
    # capabilities that let root ignore file modes; the kernel then checks them for real.
    dropped = [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner"]
    check = subprocess.run(
        [*dropped, sys.executable, "-c", f"open({str(probe)!r}, 'a')"],
        capture_output=True,
        timeout=60,
    )
    if check.returncode != 0 and b"PermissionError" in check.stderr:
        return dropped, "as root without CAP_DAC_OVERRIDE"
    pytest.skip(
        "cannot run Python unprivileged here (nobody cannot reach it, capabilities cannot be dropped)"
    )


def _keep_open(db: Path) -> subprocess.Popen[bytes]:
    """Another terminal with the database open (as on a live shared server): its -wal and
    -shm exist while it runs."""
    code = (
        "import sqlite3, sys, time\n"
        f"c = sqlite3.connect({str(db)!r}); c.execute('SELECT count(*) FROM item').fetchone()\n"
        "print('open', flush=True); sys.stdin.read()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"open"
    return proc


def test_file_without_write_permission(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    db = make_db(shared / "team.db")
    holder = _keep_open(db)
    os.chmod(db, 0o444)
    for suffix in ("-wal", "-shm"):
        os.chmod(Path(str(db) + suffix), 0o444)
    os.chmod(shared, 0o555)
    try:
        prefix, how = _unprivileged_prefix(db)
        before = files_state(db)
        for args in [("show", "OPS-1")]:
            res = run_cli(db, *args, prefix=prefix)
            assert res.code == 0, (how, args, res.stderr)
            assert "OPS-1" in res.stdout
        for args in [WRITES[0], WRITES[4]]:
            res = run_cli(db, *args, prefix=prefix)
            assert_one_line_error(res, "read-only")
        assert files_state(db)["db"] == before["db"], how
        # Nobody has it open any more: the side files are gone and the reader cannot make
        # them in a directory it cannot write.  One clear line that says what to do.
        holder.communicate(b"")
        os.chmod(shared, 0o755)
        for suffix in ("-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        os.chmod(shared, 0o555)
        before = files_state(db)
        res = run_cli(db, "ls", prefix=prefix)
        assert_one_line_error(res, "directory is not writable")
        assert files_state(db) == before
    finally:
        if holder.poll() is None:
            holder.kill()
        os.chmod(shared, 0o755)
        os.chmod(db, stat.S_IRUSR | stat.S_IWUSR)
