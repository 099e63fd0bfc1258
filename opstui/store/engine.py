"""Engine factory and the one way to read or write.

Every SQLite connection gets WAL, a busy timeout, foreign keys and ``synchronous=NORMAL``.
Writes begin with ``BEGIN IMMEDIATE`` (SQLAlchemy's documented pysqlite recipe: take
transaction control away from the driver and emit BEGIN ourselves), so two writers never
deadlock on a lock upgrade.  Reads use a short deferred transaction (one consistent
snapshot) that is closed as soon as the block ends.

A ``postgresql://`` URL opens the same store on a PostgreSQL server (psycopg 3): writes take
one transaction-scoped advisory lock first (the same serialisation as ``BEGIN IMMEDIATE``) and
a trigger on the event log announces them with ``pg_notify`` in the same transaction; reads are REPEATABLE READ
snapshots.  What differs between the engines lives in :mod:`opstui.store.dialect`.
"""

from __future__ import annotations

import getpass
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from ..domain.clock import Clock
from ..errors import ReadOnlyError, StoreError
from . import dialect

BUSY_TIMEOUT_MS = 30_000


def _sqlite_url(path: Path, readonly: bool) -> str:
    if readonly:
        return f"sqlite:///file:{path}?mode=ro&uri=true"
    return f"sqlite:///{path}"


def make_engine(
    target: str | os.PathLike[str], *, readonly: bool = False, pooled: bool = True
) -> Engine:
    """An engine for a file path or a SQLAlchemy URL.  Nothing is created at import time."""
    text = os.fspath(target)
    if dialect.is_postgres(text):
        return dialect.make_pg_engine(text, readonly=readonly, pooled=pooled)
    if "://" in text:
        return create_engine(text)
    path = Path(text).expanduser().resolve()
    engine = create_engine(
        _sqlite_url(path, readonly),
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        poolclass=None if pooled else NullPool,
    )
    _install_sqlite_settings(engine, readonly)
    return engine


def _install_sqlite_settings(engine: Engine, readonly: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        if not readonly:
            mode = cur.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("opstui_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def translate_error(exc: BaseException, where: str | None = None) -> StoreError | None:
    """Map failures a user can act on to a one-line error."""
    orig = getattr(exc, "orig", exc)
    if type(orig).__module__.startswith("psycopg"):
        return dialect.translate_pg_error(exc, where or "the database")
    text = str(orig).lower()
    if "readonly" in text or "read-only" in text:
        return ReadOnlyError("the database is read-only for you: nothing was changed")
    if "disk is full" in text or "database or disk is full" in text:
        return StoreError("the disk is full: the change was not saved, nothing committed was lost")
    if "malformed" in text or "not a database" in text:
        return StoreError("the database file is corrupt: run 'opstui doctor' on it")
    if "unable to open" in text:
        return StoreError("cannot open the database file (check the directory's permissions)")
    if "database is locked" in text:
        return StoreError("the database stayed locked by another writer for 30 s; try again")
    return None


class Database:
    """A database opened for this process: engine, clock and who is acting.

    Use :func:`opstui.store.schema.open_database` to open one with schema checks.
    """

    def __init__(
        self,
        target: str | os.PathLike[str],
        *,
        clock: Clock | None = None,
        unix_user: str | None = None,
        readonly: bool = False,
        me: str | None = None,
    ):
        text = os.fspath(target)
        #: "sqlite" or "postgresql".
        self.dialect = "postgresql" if dialect.is_postgres(text) else "sqlite"
        self._path: Path | None = None
        if self.dialect == "sqlite":
            self._path = Path(text).expanduser().resolve()
            #: What reopens this database: the file path or the server URL.
            self.target = str(self._path)
        else:
            self.target = text
        #: Short name for titles and status lines (file name, or ``db@host``).
        self.name = dialect.display_name(self.target)
        self.clock = clock or Clock()
        self.unix_user = unix_user or _current_user()
        #: Person handle this user acts as (config "me"), else mapped from the Unix login.
        self.me = me
        self.readonly = readonly
        #: Why nothing can be changed, said by every refused write (an as-of view says when).
        self.readonly_note: str | None = None
        #: What the status bar says instead of "read-only" (``AS OF Mon 30 Nov 09:00 · ...``).
        self.readonly_badge: str | None = None
        self.engine = make_engine(self.target, readonly=readonly)
        self._person_id: int | None | bool = False  # False = not looked up yet

    def __repr__(self) -> str:
        return f"Database({dialect.mask_url(self.target)!r}, readonly={self.readonly})"

    @property
    def path(self) -> Path:
        """The database file (SQLite only: a server database has no path)."""
        if self._path is None:
            raise StoreError(f"{self.name} is a database on a server, not a file")
        return self._path

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def read(self, *, one_statement: bool = False) -> Iterator[Connection]:
        """A short read snapshot.  Never held across user think time.

        ``one_statement``: the block runs a single statement, which is its own snapshot; on
        PostgreSQL that saves the BEGIN and COMMIT round trips (the change feed's hot read).
        """
        try:
            with self.engine.connect() as conn:
                if one_statement and self.dialect == "postgresql":
                    conn.execution_options(opstui_begin="STATEMENT")
                with conn.begin():
                    yield conn
        except (OperationalError, DBAPIError) as exc:
            mapped = translate_error(exc, self.name)
            if mapped is None:
                raise
            raise mapped from exc

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction, begun IMMEDIATE: all or nothing."""
        if self.readonly:
            raise ReadOnlyError(
                self.readonly_note or "the database is open read-only: nothing was changed"
            )
        try:
            with self.engine.connect() as conn:
                conn.execution_options(opstui_begin="IMMEDIATE")
                with conn.begin():
                    yield conn
        except (OperationalError, DBAPIError) as exc:
            mapped = translate_error(exc, self.name)
            if mapped is None:
                raise
            raise mapped from exc

    def person_id(self, conn: Connection | None = None) -> int | None:
        """The Person this terminal's user is (config ``me``, login, or handle)."""
        if self._person_id is False:
            from .queries import person_id_for_login

            if conn is None:
                with self.read() as c:
                    self._person_id = person_id_for_login(c, self.unix_user, self.me)
            else:
                self._person_id = person_id_for_login(conn, self.unix_user, self.me)
        return self._person_id  # type: ignore[return-value]

    def forget_person(self) -> None:
        self._person_id = False

    def dispose(self) -> None:
        self.engine.dispose()


def _current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers): fall back to the uid
        return f"uid{os.getuid()}"
