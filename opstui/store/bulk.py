"""Many rows in one statement: for bulk imports, where SQLAlchemy's per-row parameter
handling costs more than SQLite's insert itself.

The statement is compiled once per (table, columns, dialect) and run with the DBAPI
cursor's ``executemany`` on the same connection and transaction; each value goes through
its column type's bind processor, as SQLAlchemy would do.  Dialects with named
parameters (PostgreSQL) go through SQLAlchemy's own executemany.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, bindparam

_CACHE: dict[tuple[str, tuple[str, ...], str], tuple[str, tuple[str, ...], list[Any]] | None] = {}


def insert_many(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``."""
    if not rows:
        return
    columns = tuple(rows[0])
    key = (table.name, columns, conn.dialect.name)
    if key not in _CACHE:
        stmt = table.insert().values({c: bindparam(c) for c in columns})
        compiled = stmt.compile(dialect=conn.dialect)
        if not compiled.positional or compiled.positiontup is None:
            _CACHE[key] = None
        else:
            order = tuple(compiled.positiontup)
            procs: list[Callable[[Any], Any] | None] = [
                table.c[name].type.bind_processor(conn.dialect) for name in order
            ]
            _CACHE[key] = (compiled.string, order, procs)
    prepared = _CACHE[key]
    if prepared is None:
        conn.execute(table.insert(), list(rows))
        return
    sql, order, procs = prepared
    pairs = list(zip(order, procs, strict=True))
    params = [
        tuple(row[n] if p is None or row[n] is None else p(row[n]) for n, p in pairs)
        for row in rows
    ]
    cursor = conn.connection.cursor()
    try:
        cursor.executemany(sql, params)
    finally:
        cursor.close()
