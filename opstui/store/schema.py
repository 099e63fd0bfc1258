"""Opening a database file safely: new files get the schema, older ones are upgraded after a
backup, and files that are newer, foreign or corrupt are refused untouched.

The file's identity lives in the SQLite header: ``PRAGMA application_id`` marks an opstui
database and ``PRAGMA user_version`` holds its schema version.  On PostgreSQL the same two
facts are rows of the ``meta`` table (``application_id``, ``schema_version``), and an upgrade
needs no backup copy: its DDL runs in one transaction that commits whole or not at all.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Index, text
from sqlalchemy.exc import SQLAlchemyError

from ..domain import models
from ..domain.clock import Clock
from ..errors import StoreError
from . import dialect
from .defaults import install_default_workflow
from .engine import Database, translate_error
from .lite import APPLICATION_ID, SCHEMA_VERSION  # the file's identity (read by lite too)

SQLITE_MAGIC = b"SQLite format 3\x00"


def _migrate_1_to_2(conn: Connection) -> None:
    """v2 added approvals, recorded weekly reviews and the (field, ts) event index."""
    models.metadata.create_all(conn, tables=[models.Approval.__table__, models.Review.__table__])
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_event_field_ts ON event (field, ts)")


def _migrate_2_to_3(conn: Connection) -> None:
    """v3 added SLA warning points, the resolution clock start and the crossing check time.

    Existing items get them on their next write, or all at once with ``opstui sla --recompute``.
    """
    have = dialect.column_names(conn, "item")
    for column in ("sla_fr_warn", "sla_res_warn", "sla_res_start", "sla_check_at"):
        if column not in have:
            conn.exec_driver_sql(
                f"ALTER TABLE item ADD COLUMN {column} {dialect.datetime_type(conn)}"
            )
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_item_sla_check ON item (sla_check_at)")


def _migrate_3_to_4(conn: Connection) -> None:
    """v4 added time logging (the worklog table) and the outbox (hooks, deliveries and the
    deliverer's lease)."""
    models.metadata.create_all(
        conn,
        tables=[
            models.WorkLog.__table__,
            models.Hook.__table__,
            models.Delivery.__table__,
            models.Lease.__table__,
        ],
    )


def _migrate_4_to_5(conn: Connection) -> None:
    """v5 added the imported item's external key and the SLA clock start of a transfer."""
    have = dialect.column_names(conn, "item")
    if "external_key" not in have:
        conn.exec_driver_sql("ALTER TABLE item ADD COLUMN external_key TEXT")
    if "sla_start" not in have:
        conn.exec_driver_sql(f"ALTER TABLE item ADD COLUMN sla_start {dialect.datetime_type(conn)}")
    # ALTER TABLE cannot add a UNIQUE column: the unique index gives the same guarantee.
    conn.exec_driver_sql(
        "CREATE UNIQUE INDEX IF NOT EXISTS ix_item_external_key ON item (external_key)"
    )


def _migrate_5_to_6(conn: Connection) -> None:
    """v6 added how a process catches up on missed occurrences (``process.catch_up``)."""
    have = dialect.column_names(conn, "process")
    if "catch_up" not in have:
        conn.exec_driver_sql(
            "ALTER TABLE process ADD COLUMN catch_up VARCHAR NOT NULL DEFAULT 'latest'"
        )


#: from-version -> step that upgrades it by one.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    1: _migrate_1_to_2,
    2: _migrate_2_to_3,
    3: _migrate_3_to_4,
    4: _migrate_4_to_5,
    5: _migrate_5_to_6,
}


def open_database(
    path: str | os.PathLike[str],
    *,
    create: bool = True,
    clock: Clock | None = None,
    unix_user: str | None = None,
    me: str | None = None,
    readonly: bool = False,
) -> Database:
    """Open (and if needed create or upgrade) an opstui database.  Raises StoreError.

    ``path`` is a file, or a ``postgresql://`` URL for a database on a server.
    """
    if dialect.is_postgres(path):
        return _open_server(
            os.fspath(path),
            create=create,
            clock=clock,
            unix_user=unix_user,
            me=me,
            readonly=readonly,
        )
    p = Path(path).expanduser()
    if p.is_dir():
        raise StoreError(f"{p} is a directory, not a database file")
    exists = p.exists() and p.stat().st_size > 0
    if not exists:
        if not create:
            raise StoreError(f"no database at {p} (create one with 'opstui --db {p} init')")
        if readonly:
            raise StoreError(f"no database at {p} to open read-only")
        parent = p.parent if str(p.parent) else Path(".")
        if not parent.is_dir():
            raise StoreError(f"cannot create {p}: directory {parent} does not exist")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise StoreError(f"cannot create {p}: directory {parent} is not writable")
        db = Database(p, clock=clock, unix_user=unix_user, me=me)
        try:
            _initialise(db)
        except sqlite3.Error as exc:
            db.dispose()
            raise StoreError(f"cannot create {p}: {exc}") from exc
        return db

    version = inspect_file(p)
    if not readonly and not _writable(p):
        readonly = True
    if version < SCHEMA_VERSION:
        if readonly:
            raise StoreError(
                f"{p} has schema v{version} and needs an upgrade to v{SCHEMA_VERSION}, "
                "but it is read-only for you"
            )
        backup = backup_file(p, f"v{version}")
        db = Database(p, clock=clock, unix_user=unix_user, me=me)
        _upgrade(db, version, backup)
        ensure_indexes(db)
        return db
    db = Database(p, clock=clock, unix_user=unix_user, me=me, readonly=readonly)
    if not readonly:
        ensure_indexes(db)
    return db


def missing_indexes(conn: Connection) -> list[Index]:
    """Indexes this opstui declares that the file lacks (added by a newer build)."""
    have = dialect.index_names(conn)
    return [
        idx
        for table in models.metadata.sorted_tables
        for idx in sorted(table.indexes, key=lambda i: str(i.name))
        if idx.name not in have
    ]


def ensure_indexes(db: Database) -> None:
    """Create declared indexes an existing file lacks (performance only: same schema
    version).  A cheap read when nothing is missing; never fails the open."""
    try:
        with db.read() as conn:
            if not missing_indexes(conn):
                return
        with db.write() as conn:
            for idx in missing_indexes(conn):
                idx.create(conn, checkfirst=True)
    except (StoreError, sqlite3.Error, SQLAlchemyError):
        pass  # read-only for us, or busy: the file works without them, only slower


def _writable(p: Path) -> bool:
    if not os.access(p, os.W_OK):
        return False
    # WAL needs to create -wal/-shm next to the file unless they exist and are writable.
    for suffix in ("-wal", "-shm"):
        side = p.with_name(p.name + suffix)
        if side.exists() and not os.access(side, os.W_OK):
            return False
    if not os.access(p.parent, os.W_OK | os.X_OK):
        return all(p.with_name(p.name + s).exists() for s in ("-wal", "-shm"))
    return True


def inspect_file(p: Path) -> int:
    """Check that ``p`` is an intact opstui database we understand; return its version.

    Never writes to the file.
    """
    try:
        with open(p, "rb") as fh:
            header = fh.read(100)
    except PermissionError as exc:
        raise StoreError(f"cannot read {p}: permission denied") from exc
    except OSError as exc:
        raise StoreError(f"cannot read {p}: {exc.strerror or exc}") from exc
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise StoreError(f"{p} is not an opstui database (not an SQLite file)")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    change = int.from_bytes(header[24:28], "big")
    valid_for = int.from_bytes(header[92:96], "big")
    size = p.stat().st_size
    if page_size < 512 or page_size & (page_size - 1):
        raise StoreError(f"{p} is corrupt (bad page size in its header); run 'opstui doctor'")
    wal = p.with_name(p.name + "-wal")
    wal_pending = wal.exists() and wal.stat().st_size > 0
    # With frames still in the -wal, a checkpoint that was cut short (a full disk, a kill)
    # can leave page 1 saying more pages than the file holds yet: the rest are in the WAL
    # and SQLite reads them from there.  Only a file without a WAL is truly truncated.
    if valid_for == change and pages and size < pages * page_size and not wal_pending:
        raise StoreError(
            f"{p} is corrupt: the file is truncated ({size} of {pages * page_size} bytes); "
            "restore it from a backup"
        )
    try:
        raw = sqlite3.connect(f"file:{p}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {p}: {exc}") from exc
    try:
        app_id = raw.execute("PRAGMA application_id").fetchone()[0]
        version = raw.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        msg = str(exc)
        if "unable to open" in msg or "readonly database" in msg:
            # WAL needs -shm next to the file: a reader who cannot create it is stuck
            # until someone who can write the directory has the database open.
            raise StoreError(
                f"cannot open {p}: its directory is not writable for you and it has no "
                "-wal/-shm files yet (make the directory group-writable: 'opstui init --shared')"
            ) from exc
        raise StoreError(f"{p} is corrupt ({msg}); run 'opstui doctor'") from exc
    finally:
        raw.close()
    if app_id != APPLICATION_ID:
        if not tables and version == 0:
            raise StoreError(f"{p} is an empty SQLite database, not an opstui database")
        raise StoreError(f"{p} is not an opstui database (it is some other SQLite file)")
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{p} was made by a newer opstui (schema v{version}; this opstui reads up to "
            f"v{SCHEMA_VERSION}): upgrade opstui"
        )
    if version < 1:
        raise StoreError(f"{p} has an unknown schema version {version}")
    return version


def backup_file(p: Path, label: str) -> Path:
    """Copy ``p`` with SQLite's online backup API to ``p.bak-<label>-<time>``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    dest = p.with_name(f"{p.name}.bak-{label}-{stamp}")
    src = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    return dest


def _set_header(conn: Connection, version: int) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.exec_driver_sql(f"PRAGMA user_version = {int(version)}")
        return
    _set_meta(conn, "application_id", str(APPLICATION_ID))
    _set_meta(conn, "schema_version", str(int(version)))


def _set_meta(conn: Connection, key: str, value: str) -> None:
    dialect.upsert(conn, models.Meta.__table__, ["key"], {"key": key, "value": value})


def _schema_version(conn: Connection) -> int:
    if conn.dialect.name == "sqlite":
        return int(conn.exec_driver_sql("PRAGMA user_version").scalar_one())
    row = conn.execute(
        text("SELECT value FROM meta WHERE key = 'schema_version'")
    ).scalar_one_or_none()
    return int(row or 0)


def _initialise(db: Database) -> None:
    with db.write() as conn:
        _initialise_in(db, conn)


def _initialise_in(db: Database, conn: Connection) -> None:
    models.metadata.create_all(conn)
    dialect.install_server_objects(conn)
    _set_header(conn, SCHEMA_VERSION)
    now = db.clock.now().isoformat()
    conn.execute(
        models.Meta.__table__.insert(),
        [
            {"key": "created_at", "value": now},
            {"key": "created_by", "value": db.unix_user},
            {"key": f"schema_v{SCHEMA_VERSION}_at", "value": now},
        ],
    )
    install_default_workflow(conn)


def _upgrade(db: Database, version: int, backup: Path | None) -> None:
    with db.write() as conn:
        current = _schema_version(conn)
        while current < SCHEMA_VERSION:
            MIGRATIONS[current](conn)
            current += 1
            _set_meta(conn, f"schema_v{current}_at", db.clock.now().isoformat())
        if backup is not None:
            _set_meta(conn, f"backup_before_v{SCHEMA_VERSION}", backup.name)
        dialect.install_server_objects(conn)
        _set_header(conn, SCHEMA_VERSION)


def _open_server(
    url: str,
    *,
    create: bool,
    clock: Clock | None,
    unix_user: str | None,
    me: str | None,
    readonly: bool,
) -> Database:
    """Open a database on a PostgreSQL server: the same checks as for a file."""
    db = Database(url, clock=clock, unix_user=unix_user, me=me, readonly=readonly)
    try:
        version = _server_version(db)
        if version is None:
            if not create:
                raise StoreError(
                    f"{db.name} has no opstui schema yet "
                    f"(create it with 'opstui --db {dialect.mask_url(url)} init')"
                )
            if readonly:
                raise StoreError(f"{db.name} has no opstui schema to open read-only")
            with db.write() as conn:  # the write lock: two terminals initialising at once
                if not dialect.table_names(conn) & {"meta"}:
                    _initialise_in(db, conn)
            return db
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{db.name} was made by a newer opstui (schema v{version}; this opstui reads "
                f"up to v{SCHEMA_VERSION}): upgrade opstui"
            )
        if version < SCHEMA_VERSION:
            if readonly:
                raise StoreError(
                    f"{db.name} has schema v{version} and needs an upgrade to "
                    f"v{SCHEMA_VERSION}, but it is open read-only"
                )
            _upgrade(db, version, None)
        if not readonly:
            ensure_indexes(db)
        return db
    except StoreError:
        db.dispose()
        raise
    except SQLAlchemyError as exc:
        db.dispose()
        mapped = translate_error(exc, db.name)
        if mapped is not None:
            raise mapped from exc
        raise StoreError(f"cannot open {db.name}: {exc}") from exc


def _server_version(db: Database) -> int | None:
    """The schema version of a server database; None when it holds no tables at all."""
    with db.read() as conn:
        tables = dialect.table_names(conn)
        if not tables:
            return None
        if "meta" not in tables:
            raise StoreError(f"{db.name} is not an opstui database (it holds other tables)")
        rows = dict(
            conn.execute(
                text(
                    "SELECT key, value FROM meta WHERE key IN ('application_id', 'schema_version')"
                )
            ).all()
        )
    if rows.get("application_id") != str(APPLICATION_ID):
        raise StoreError(f"{db.name} is not an opstui database (it holds other tables)")
    try:
        version = int(rows.get("schema_version", ""))
    except ValueError:
        raise StoreError(f"{db.name} has an unknown schema version") from None
    if version < 1:
        raise StoreError(f"{db.name} has an unknown schema version {version}")
    return version
