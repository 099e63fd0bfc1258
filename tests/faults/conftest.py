"""Helpers for the fault suite: real files, real processes, the real CLI."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    code: int
    out: bytes
    err: bytes

    @property
    def stdout(self) -> str:
        return self.out.decode("utf-8", "replace")

    @property
    def stderr(self) -> str:
        return self.err.decode("utf-8", "replace")


def cli_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT),
        OPSTUI_CONFIG=str(tmp / "no-config.toml"),
        OPSTUI_STATE=str(tmp / "state"),
        COLUMNS="200",
        LC_ALL="C.UTF-8",
    )
    env.pop("OPSTUI_DB", None)
    env.pop("OPSTUI_DEBUG", None)
    return env


def run_cli(
    db: Path,
    *args: str,
    stdin: bytes | None = None,
    prefix: Sequence[str] = (),
    extra: Sequence[str] = (),
    timeout: float = 60,
    user: str | None = None,
) -> Result:
    """``opstui --db DB [extra] ARGS`` in a fresh process; raw bytes kept.  ``user`` sets
    the login name opstui attributes changes to (LOGNAME/USER)."""
    cmd = [*prefix, sys.executable, "-m", "opstui", "--db", str(db), *extra, *args]
    env = cli_env(db.parent)
    if user:
        env.update(LOGNAME=user, USER=user)
    proc = subprocess.run(
        cmd,
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def invoke(
    db: Path,
    *args: str,
    stdin: bytes | None = None,
    extra: Sequence[str] = (),
    user: str | None = None,
) -> Result:
    """The same CLI in this process (click's runner): ~50x faster than a new interpreter,
    for the many-command checks; each test also runs a real process at least once."""
    from click.testing import CliRunner

    from opstui.cli import main

    runner = CliRunner()
    env = {k: v for k, v in cli_env(db.parent).items() if k.startswith(("OPSTUI", "COLUMNS"))}
    env["OPSTUI_DB"] = ""
    if user:
        env.update(LOGNAME=user, USER=user)
    res = runner.invoke(
        main, ["--db", str(db), *extra, *args], input=stdin, env=env, catch_exceptions=True
    )
    err = res.stderr_bytes or b""
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        import traceback

        err += "".join(traceback.format_exception(res.exception)).encode()
    return Result(res.exit_code, res.stdout_bytes, err)


def assert_one_line_error(res: Result, *needles: str) -> None:
    """Exit 1, one line on stderr starting 'opstui:', no traceback, nothing on stdout."""
    assert res.code == 1, (res.code, res.stdout, res.stderr)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("opstui: "), res.stderr
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr, res.stderr
    for needle in needles:
        assert needle.lower() in lines[0].lower(), (needle, lines[0])


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files_state(db: Path) -> dict[str, str | None]:
    """Digest of the database and its -wal/-shm (None when absent)."""
    out: dict[str, str | None] = {}
    for suffix in ("", "-wal", "-shm"):
        p = Path(str(db) + suffix)
        out[suffix or "db"] = file_digest(p) if p.exists() else None
    return out


def make_db(path: Path | str, n_items: int = 6) -> Path | str:
    """A small database made through the services (people, a queue, items): a file, or a
    ``postgresql://`` URL of an empty database."""
    from opstui.services import items as svc
    from opstui.services import people as people_svc
    from opstui.services import transitions
    from opstui.store.schema import open_database

    db = open_database(path, create=True, unix_user="setup")
    people_svc.add_person(db, handle="ana", name="Ana")
    people_svc.add_person(db, handle="ben", name="Ben")
    people_svc.add_queue(db, slug="ops", name="Ops", prefix="OPS")
    for i in range(n_items):
        item = svc.create_item(db, queue="ops", title=f"item {i}", owner="ana" if i % 2 else None)
        if i % 3 == 0:
            transitions.transition(db, item.key, "in_progress")
    if db.is_sqlite:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


@pytest.fixture
def small_db(tmp_path: Path) -> Path:
    return make_db(tmp_path / "ops.db")
