"""Store settings and schema handling on real files."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from opstui.domain.clock import Clock
from opstui.errors import ReadOnlyError, StoreError
from opstui.store import schema
from opstui.store.schema import SCHEMA_VERSION, open_database


def test_every_connection_has_the_settings(db) -> None:
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_header_marks_an_opstui_database(db, db_path: Path) -> None:
    raw = sqlite3.connect(db_path)
    assert raw.execute("PRAGMA application_id").fetchone()[0] == schema.APPLICATION_ID
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    raw.close()


def test_write_begins_immediate(db, db_path: Path) -> None:
    """Inside db.write() the RESERVED lock is held from the start: another writer cannot begin."""
    other = sqlite3.connect(db_path, timeout=0, isolation_level=None)
    with db.write() as conn:
        conn.exec_driver_sql("SELECT 1")  # no write yet: only BEGIN IMMEDIATE can hold the lock
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")
    other.execute("ROLLBACK")
    other.close()


@pytest.mark.both_engines
def test_reads_do_not_block_writes(db) -> None:
    """A reader in the middle of a snapshot never stops a writer (WAL)."""
    from opstui.services import people

    done = threading.Event()
    with db.read() as conn:
        conn.exec_driver_sql("SELECT count(*) FROM item").scalar()

        def write() -> None:
            people.add_person(db, handle="zed", name="Zed")
            done.set()

        t = threading.Thread(target=write)
        t.start()
        t.join(10)
    assert done.is_set()


def test_no_read_transaction_left_open(db, db_path: Path) -> None:
    with db.read() as conn:
        conn.exec_driver_sql("SELECT 1")
    # a checkpoint that needs every reader gone succeeds
    raw = sqlite3.connect(db_path, isolation_level=None)
    busy, _log, _ckpt = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    raw.close()
    assert busy == 0


@pytest.mark.both_engines
def test_foreign_keys_and_valid_states_are_enforced(team_db) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        with team_db.write() as conn:
            conn.exec_driver_sql("UPDATE item SET owner_id = 999")  # no rows: fine
            conn.exec_driver_sql(
                "INSERT INTO item (key, title, body, kind, priority, queue_id, workflow_id, status, "
                "category, requester, created_at, updated_at, approval, version, data) "
                "VALUES ('X-1', 't', '', 'task', 3, 1, 1, 'no_such_state', 'active', '', "
                "'2026-01-01', '2026-01-01', 'none', 1, '{}')"
            )


def _make_v1(path: Path) -> None:
    """A schema-v1 file: what opstui wrote before approvals and reviews existed."""
    database = open_database(path, clock=Clock())
    database.dispose()
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("DROP TABLE approval")
    raw.execute("DROP TABLE review")
    raw.execute("DROP INDEX ix_event_field_ts")
    raw.execute("PRAGMA user_version = 1")
    raw.close()


def test_older_file_is_upgraded_after_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _make_v1(path)
    database = open_database(path)
    database.dispose()
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"approval", "review"} <= tables
    raw.close()
    backups = list(tmp_path.glob("old.db.bak-v1-*"))
    assert len(backups) == 1
    bak = sqlite3.connect(backups[0])
    assert bak.execute("PRAGMA user_version").fetchone()[0] == 1
    assert bak.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    bak.close()


def _bytes(path: Path) -> bytes:
    return path.read_bytes()


def test_newer_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    open_database(path).dispose()
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    before = _bytes(path)
    with pytest.raises(StoreError, match="newer opstui"):
        open_database(path)
    assert _bytes(path) == before


def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE t (x)")
    raw.commit()
    raw.close()
    before = _bytes(path)
    with pytest.raises(StoreError, match="not an opstui database"):
        open_database(path)
    assert _bytes(path) == before


@pytest.mark.parametrize("damage", ["garbage", "truncated", "bad_page"])
def test_corrupt_files_are_refused_untouched(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "bad.db"
    if damage == "garbage":
        path.write_bytes(b"this is not a database\n" * 500)
    else:
        database = open_database(path)
        from opstui.services import people

        for i in range(200):
            people.add_person(database, handle=f"p{i}", name="x" * 200)
        database.dispose()
        raw = sqlite3.connect(path, isolation_level=None)
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw.close()
        data = path.read_bytes()
        if damage == "truncated":
            path.write_bytes(data[: len(data) // 2])
        else:
            path.write_bytes(data[:4096] + b"\xde\xad\xbe\xef" * 2048 + data[4096 + 8192 :])
    before = _bytes(path)
    with pytest.raises(StoreError) as err:
        db = open_database(path)
        with db.read() as conn:  # damage deep in the file shows when its pages are read
            for table in ("person", "person_skill", "event", "meta", "workflow_state"):
                conn.exec_driver_sql(f"SELECT * FROM {table}").all()
    assert "\n" not in str(err.value)
    assert _bytes(path) == before


def test_missing_directory_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        open_database(tmp_path / "nope" / "x.db")
    with pytest.raises(StoreError, match="no database"):
        open_database(tmp_path / "x.db", create=False)
    with pytest.raises(StoreError, match="directory"):
        open_database(tmp_path)


def test_read_only_open_refuses_writes(db_path: Path, team_db) -> None:
    from opstui.services import items

    items.create_item(team_db, queue="support", title="one")
    ro = open_database(db_path, readonly=True)
    with ro.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM item").scalar() == 1
    with pytest.raises(ReadOnlyError):
        items.create_item(ro, queue="support", title="two")
    ro.dispose()
