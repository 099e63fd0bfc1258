"""A full disk: the write that does not fit fails with one line, everything committed
before it is still there, and writing works again once there is room."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import assert_one_line_error, invoke, make_db, run_cli


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs (needs root / CAP_SYS_ADMIN; otherwise skipped with the reason)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command: the size-limited database test covers full writes")
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(
            f"cannot mount a tiny tmpfs here ({proc.stderr.strip()}); "
            "the size-limited database test covers full writes"
        )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _keys(db: Path) -> set[str]:
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return {k for (k,) in con.execute("SELECT key FROM item")}
    finally:
        con.close()


def test_full_tmpfs(tiny_disk: Path) -> None:
    from opstui.errors import StoreError
    from opstui.services import items as svc
    from opstui.store.schema import open_database

    db = make_db(tiny_disk / "full.db")
    ballast = tiny_disk / "ballast"  # someone else's file on the same disk
    ballast.write_bytes(b"\0" * 1_000_000)
    store = open_database(db, create=False)
    acknowledged: list[str] = []
    body = "x" * 60_000
    with pytest.raises(StoreError, match="disk is full"):
        for i in range(1000):
            acknowledged.append(
                svc.create_item(store, queue="ops", title=f"fill {i}", body=body).key
            )
    store.dispose()
    assert len(acknowledged) > 5  # the disk filled up through real commits
    keys = _keys(db)
    assert set(acknowledged) <= keys  # nothing committed was lost
    # the CLI says so in one line; the failed item is not there
    res = run_cli(db, "add", "-q", "ops", "-t", "one more", "-b", "-", stdin=b"y" * 60_000)
    assert_one_line_error(res, "disk is full")
    assert _keys(db) == keys
    # reads still work on the full disk
    res = invoke(db, "ls", "--json")
    assert res.code == 0 and len(json.loads(res.stdout)) == len(keys)
    # room again: writing works, everything is still there
    ballast.unlink()
    res = invoke(db, "add", "-q", "ops", "-t", "after cleanup")
    assert res.code == 0, res.stderr
    assert keys < _keys(db)


def test_size_limited_database(tmp_path: Path) -> None:
    """The same with SQLite's own limit (no mount needed): max_page_count on every
    connection makes the file "full" at a fixed size."""
    from sqlalchemy import event

    from opstui.errors import StoreError
    from opstui.services import items as svc
    from opstui.store.engine import Database

    db = make_db(tmp_path / "limited.db")
    pages = sqlite3.connect(db).execute("PRAGMA page_count").fetchone()[0]
    store = Database(db)

    @event.listens_for(store.engine, "connect")
    def _limit(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages + 40}")

    acknowledged = []
    with pytest.raises(StoreError, match="disk is full"):
        for i in range(1000):
            acknowledged.append(
                svc.create_item(store, queue="ops", title=f"fill {i}", body="z" * 8000).key
            )
    store.dispose()
    assert len(acknowledged) > 3
    assert set(acknowledged) <= _keys(db)
    res = invoke(db, "show", acknowledged[-1])
    assert res.code == 0 and acknowledged[-1] in res.stdout
