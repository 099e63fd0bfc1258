"""Many rows in one statement: for bulk imports, where SQLAlchemy's per-row parameter
handling costs more than SQLite's insert itself.

The statement is compiled once per (table, columns, dialect), or per statement object and run with the DBAPI
cursor's ``executemany`` on the same connection and transaction; each value goes through
its column type's bind processor, as SQLAlchemy would do.  Dialects with named
parameters (PostgreSQL) go through SQLAlchemy's own executemany.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Executable, Table, bindparam

from ..domain.types import UTCDateTime

_CACHE: dict[tuple[Any, str], Any] = {}


def _sqlite_utc_text(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _processor(type_: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """The column type's bind processor as SQLAlchemy applies it (the dialect's own
    implementation); for our UTC datetimes on SQLite, an equal but faster one, used only
    after checking that it gives the same text."""
    proc = type_.dialect_impl(dialect).bind_processor(dialect)
    if isinstance(type_, UTCDateTime) and dialect.name == "sqlite" and proc is not None:
        probe = [
            datetime(2016, 2, 29, 0, 16, tzinfo=UTC),
            datetime(2026, 7, 1, 23, 59, 58, 123, tzinfo=timezone(timedelta(hours=2))),
        ]
        if all(proc(v) == _sqlite_utc_text(v) for v in probe):
            return _sqlite_utc_text
    return proc


def _compiled(
    conn: Connection, key: Any, make: Callable[[], Executable]
) -> tuple[str, tuple[str, ...], list[Callable[[Any], Any] | None], list[bool]] | None:
    """The statement's SQL, its parameter names in order, their bind processors and which
    of them are our UTC times (None when the dialect's parameters are not positional)."""
    full_key = (key, conn.dialect.name)
    if full_key not in _CACHE:
        compiled = make().compile(dialect=conn.dialect)
        if not compiled.positional or compiled.positiontup is None:
            _CACHE[full_key] = None
        else:
            order = tuple(compiled.positiontup)
            types = [compiled.binds[name].type for name in order]
            _CACHE[full_key] = (
                compiled.string,
                order,
                [_processor(t, conn.dialect) for t in types],
                [isinstance(t, UTCDateTime) for t in types],
            )
    return _CACHE[full_key]


def _run(
    conn: Connection,
    prepared: tuple[str, tuple[str, ...], list[Callable[[Any], Any] | None], list[bool]],
    rows: Sequence[dict[str, Any]],
) -> None:
    sql, order, procs, times = prepared
    # Values are taken out of the dicts in one step per row; the bind processors then run
    # column by column, only on the columns that have one (most have none).
    take = itemgetter(*order)
    params: list[Any] = [list(take(row)) if len(order) > 1 else [take(row)] for row in rows]
    for j, proc in enumerate(procs):
        if proc is None:
            continue
        if not times[j]:
            for values in params:
                if values[j] is not None:
                    values[j] = proc(values[j])
            continue
        # Rows of a batch share many instants (an item's creation is its first event's
        # time): each distinct one is converted once.
        done: dict[datetime, Any] = {}
        for values in params:
            value = values[j]
            if value is not None:
                text = done.get(value)
                if text is None:
                    text = done[value] = proc(value)
                values[j] = text
    cursor = conn.connection.cursor()
    try:
        cursor.executemany(sql, params)
    finally:
        cursor.close()


def insert_many(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``."""
    if not rows:
        return
    columns = tuple(rows[0])
    prepared = _compiled(
        conn,
        (table.name, columns),
        lambda: table.insert().values({c: bindparam(c) for c in columns}),
    )
    if prepared is None:
        conn.execute(table.insert(), list(rows))
        return
    _run(conn, prepared, rows)


def execute_many(conn: Connection, stmt: Executable, rows: Sequence[dict[str, Any]]) -> None:
    """Run ``stmt`` for each of ``rows`` (dicts with a value for every bind parameter).
    ``stmt`` must be built once and reused: its compiled form is kept with it."""
    if not rows:
        return
    prepared = _compiled(conn, stmt, lambda: stmt)
    if prepared is None:
        conn.execute(stmt, list(rows))
        return
    _run(conn, prepared, rows)
