"""What differs between SQLite and PostgreSQL, in one place.

Everything above ``store/`` (and ``sync/``) is engine-agnostic: services build statements with
SQLAlchemy and call the helpers here for the few things the two engines spell differently
(insert-or-ignore, upsert, change notification).  PostgreSQL is reached with psycopg 3; the
URL, libpq's environment (``PGHOST``, ``PGUSER``...) and ``~/.pgpass`` supply credentials,
which opstui never writes anywhere.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.pool import NullPool

from ..domain import models
from ..errors import ReadOnlyError, StoreError

#: The channel every change is announced on (empty payload: it only says "look").
CHANNEL = "opstui_change"
#: Key of the transaction-scoped advisory lock every PostgreSQL write takes first: the
#: equivalent of SQLite's ``BEGIN IMMEDIATE``.  Writers queue on it, so event ids are
#: committed in id order and a reader's cursor never steps over a later-committing event.
WRITE_LOCK_KEY = 0x4F505354  # "OPST"
CONNECT_TIMEOUT_S = 5
_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def is_postgres(target: str | os.PathLike[str]) -> bool:
    return os.fspath(target).startswith(_SCHEMES)


def is_url(target: str | os.PathLike[str]) -> bool:
    return "://" in os.fspath(target)


def sqlalchemy_url(url: str) -> str:
    """``postgresql://`` (libpq's spelling) -> SQLAlchemy's psycopg 3 driver URL."""
    for scheme in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def libpq_url(url: str) -> str:
    """The same URL as libpq (and ``psql``) takes it."""
    for scheme in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql://" + url[len(scheme) :]
    return url


def mask_url(target: str | os.PathLike[str]) -> str:
    """A URL with its password replaced by ``***`` (safe to print)."""
    text_ = os.fspath(target)
    if not is_url(text_):
        return text_
    parts = urlsplit(text_)
    if parts.password is None:
        return re.sub(r"password=[^&]*", "password=***", text_)
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return re.sub(r"password=[^&]*", "password=***", urlunsplit(parts._replace(netloc=netloc)))


def display_name(target: str | os.PathLike[str]) -> str:
    """Short name for titles: ``ops@db1`` for a server database, the file name otherwise."""
    text_ = os.fspath(target)
    if not is_url(text_):
        return os.path.basename(text_)
    parts = urlsplit(text_)
    name = parts.path.lstrip("/") or os.environ.get("PGDATABASE", "") or "postgres"
    host = parts.hostname or os.environ.get("PGHOST", "") or "localhost"
    return f"{name}@{host}"


def make_pg_engine(url: str, *, readonly: bool = False, pooled: bool = True) -> Engine:
    """A psycopg 3 engine that begins its own transactions (as the SQLite engine does).

    The driver runs in autocommit and opstui emits ``BEGIN`` itself, so a write's BEGIN and
    its advisory lock travel in one round trip; ``commit()`` still sends COMMIT because the
    session is inside a transaction.
    """
    options = "-c default_transaction_read_only=on" if readonly else ""
    connect_args: dict[str, Any] = {
        "connect_timeout": CONNECT_TIMEOUT_S,
        "application_name": "opstui",
    }
    if options:
        connect_args["options"] = options
    models.add_postgresql_options()  # the partial indexes' WHERE (kept off SQLite's path)
    engine = create_engine(
        sqlalchemy_url(url),
        connect_args=connect_args,
        poolclass=None if pooled else NullPool,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.autocommit = True  # we emit BEGIN ourselves

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("opstui_begin", "DEFERRED")
        if mode == "STATEMENT":  # one statement: its own snapshot, no BEGIN/COMMIT trips
            return
        conn.exec_driver_sql(_BEGIN_WRITE if mode == "IMMEDIATE" else _BEGIN_READ)

    return engine


_BEGIN_WRITE = (
    f"BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})"
)
_BEGIN_READ = "BEGIN ISOLATION LEVEL REPEATABLE READ"


def translate_pg_error(exc: BaseException, where: str) -> StoreError | None:
    """One line for PostgreSQL failures a user can act on."""
    orig = getattr(exc, "orig", exc)
    msg = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
    low = msg.lower()
    sqlstate = getattr(getattr(orig, "diag", None), "sqlstate", None) or getattr(
        orig, "sqlstate", None
    )
    if sqlstate == "3D000" or ("database" in low and "does not exist" in low):
        return StoreError(
            f"the database {where} does not exist on the server "
            "(create it with 'createdb', then run 'opstui init')"
        )
    if sqlstate == "28P01" or "password authentication failed" in low:
        return StoreError(f"the server refused the login for {where}: {msg}")
    if (
        sqlstate == "28000"
        or "no pg_hba.conf entry" in low
        or "role" in low
        and "does not exist" in low
    ):
        return StoreError(f"the server refused the connection to {where}: {msg}")
    if sqlstate == "25006" or "read-only transaction" in low:
        return ReadOnlyError("the database is read-only for you: nothing was changed")
    if sqlstate == "42501" or "permission denied" in low or "must be owner" in low:
        return StoreError(f"your role lacks rights on {where}: {msg}")
    if sqlstate == "53100" or "no space left" in low or "could not extend file" in low:
        return StoreError("the server's disk is full: the change was not saved")
    if (
        "connection refused" in low
        or "could not connect" in low
        or "connection failed" in low
        or "timeout expired" in low
        or "server closed the connection" in low
        or "terminating connection" in low
        or "connection is closed" in low
        or "the connection is lost" in low
        or "no route to host" in low
        or "could not translate host name" in low
        or "name or service not known" in low
        or sqlstate in ("08000", "08001", "08003", "08004", "08006", "57P01", "57P02", "57P03")
    ):
        return StoreError(f"cannot reach the PostgreSQL server for {where}: {msg}")
    return None


def _insert(conn: Connection, table: Table) -> Any:
    """The engine's own INSERT construct (it knows ON CONFLICT); imported on first use so a
    SQLite terminal never loads the PostgreSQL dialect."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def insert_ignore(conn: Connection, table: Table, conflict: list[str] | None = None) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` for this connection's engine.

    The race-free way to make something exactly once across processes and machines: the
    row's unique key decides, and the loser's insert affects 0 rows (no error, the
    transaction goes on; on PostgreSQL a failed INSERT would abort the whole transaction).
    """
    return _insert(conn, table).on_conflict_do_nothing(index_elements=conflict)


def upsert(conn: Connection, table: Table, keys: list[str], values: dict[str, Any]) -> None:
    """Insert a row or overwrite the non-key columns of the existing one."""
    stmt = _insert(conn, table).values(**values)
    rest = {k: stmt.excluded[k] for k in values if k not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=rest))


#: Server-side objects of a PostgreSQL store: every statement that appends to the event log
#: announces it on CHANNEL, inside the writing transaction (so a notification is delivered
#: only if the change commits, and costs the writer no extra round trip).  The payload is
#: empty: the event cursor, not the notification, says what changed, and PostgreSQL folds
#: identical notifications of one transaction into one.
_SERVER_OBJECTS = (
    f"""CREATE OR REPLACE FUNCTION opstui_announce() RETURNS trigger
    LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END $$""",
    "DROP TRIGGER IF EXISTS opstui_announce ON event",
    """CREATE TRIGGER opstui_announce AFTER INSERT ON event
    FOR EACH STATEMENT EXECUTE FUNCTION opstui_announce()""",
)


def install_server_objects(conn: Connection) -> None:
    """Create (or refresh) the change announcement on a PostgreSQL store; no-op on SQLite."""
    if conn.dialect.name == "postgresql":
        for sql in _SERVER_OBJECTS:
            conn.exec_driver_sql(sql)


def has_server_objects(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return True
    return bool(
        conn.exec_driver_sql(
            "SELECT 1 FROM pg_trigger WHERE tgname = 'opstui_announce' AND NOT tgisinternal"
        ).first()
    )


def to_driver_sql(conn: Connection, sql: str) -> str:
    """A literal ``?``-placeholder statement in the driver's own paramstyle."""
    if conn.dialect.paramstyle == "qmark":
        return sql
    return sql.replace("%", "%%").replace("?", "%s")


_RAW_AS_TEXT = ("json", "jsonb", "timestamp", "timestamptz", "date")


def driver_rows(conn: Connection, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """Rows of a literal ``?`` statement straight from the driver, shaped as SQLite gives
    them: JSON and times as text (callers parse them once, the same way on both engines)."""
    if conn.dialect.name == "sqlite":
        return [tuple(r) for r in conn.exec_driver_sql(sql, params).fetchall()]
    from psycopg.types.string import TextLoader

    raw = conn.connection.driver_connection
    driver_sql = to_driver_sql(conn, sql)
    try:
        with raw.cursor() as cur:  # type: ignore[union-attr]
            for name in _RAW_AS_TEXT:
                cur.adapters.register_loader(name, TextLoader)
            cur.execute(driver_sql, params)
            return cur.fetchall()
    except Exception as exc:
        from sqlalchemy.exc import DBAPIError

        raise DBAPIError.instance(driver_sql, params, exc, Exception) from exc


def index_names(conn: Connection) -> set[str]:
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
        )
    else:
        rows = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='index'")
    return {r[0] for r in rows}


def table_names(conn: Connection) -> set[str]:
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        )
    else:
        rows = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'")
    return {r[0] for r in rows}


def column_names(conn: Connection, table: str) -> set[str]:
    from sqlalchemy import inspect

    return {c["name"] for c in inspect(conn).get_columns(table)}


def reset_sequences(conn: Connection, tables: list[Table]) -> None:
    """Move PostgreSQL's id sequences past ids that were inserted explicitly (a copy)."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not pk[0].autoincrement or pk[0].type.python_type is not int:
            continue
        col = pk[0].name
        seq = conn.exec_driver_sql(
            "SELECT pg_get_serial_sequence(%(t)s, %(c)s)", {"t": table.name, "c": col}
        ).scalar()
        if seq:
            conn.exec_driver_sql(
                f'SELECT setval(%(s)s, COALESCE((SELECT MAX("{col}") FROM "{table.name}"), 0) + 1,'
                " false)",
                {"s": seq},
            )


def datetime_type(conn: Connection) -> str:
    """The column type of a timestamp in DDL (``DATETIME`` on SQLite)."""
    from sqlalchemy import DateTime

    return str(DateTime().compile(dialect=conn.dialect))
