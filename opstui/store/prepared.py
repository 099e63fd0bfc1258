"""A select bounded by a set of ids, compiled once and run on the DBAPI cursor.

A dashboard applies every change by re-reading the items it touched (sync.delta).  Building
that select (about thirty columns and the *drifting* subquery) and its cache key cost
more than the read itself, ~1 ms of CPU a change (benchmarks/change_cost.py).  On SQLite
:class:`IdsSelect` compiles the statement once with the ids as one JSON array parameter
(``IN (SELECT value FROM json_each(?))``, so any number of ids is one statement) and runs
it on the connection's DBAPI cursor with the columns' result processors, in the caller's
transaction.  Other engines, and any driver error, go through SQLAlchemy with an expanding
``IN`` (so callers see the usual wrapped exceptions).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Collection
from typing import Any

from sqlalchemy import Connection, bindparam, literal_column, select, text

#: Ids per expanding ``IN`` list on the SQLAlchemy path (old SQLite builds: 999 parameters).
ID_CHUNK = 900


class SqliteStatement:
    """A select compiled once for SQLite and run on a DBAPI connection or cursor: the SQL
    text and the columns' result processors SQLAlchemy would use, without its pool,
    BEGIN/COMMIT and result objects.  ``placeholders`` stand in for bound parameters that
    have no value yet (every run gives them one)."""

    def __init__(
        self, stmt: Any, dialect: Any, *, placeholders: dict[str, Any] | None = None
    ) -> None:
        compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        self.sql: str = compiled.string
        #: The positional parameters' names, in order.
        self.names: list[str] = list(compiled.positiontup or ())
        self._defaults = compiled.construct_params(placeholders)
        self._processors = [c.type.result_processor(dialect, None) for c in stmt.selected_columns]

    def rows(self, dbapi: Any, values: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Run with ``values`` (the others as compiled) on a DBAPI connection or cursor."""
        args = [values[n] if n in values else self._defaults[n] for n in self.names]
        raw = dbapi.execute(self.sql, args).fetchall()
        processors = self._processors
        return [
            tuple(v if p is None or v is None else p(v) for v, p in zip(r, processors, strict=True))
            for r in raw
        ]


class IdsSelect:
    """``build()`` is the select without the id bound; ``id_column`` the column bounded."""

    def __init__(self, build: Callable[[], Any], id_column: Any) -> None:
        self._build = build
        self._id_column = id_column
        self._lock = threading.Lock()
        self._generic: Any = None
        self._sqlite: SqliteStatement | None = None

    def rows(self, conn: Connection, ids: Collection[int]) -> list[tuple[Any, ...]]:
        """The rows for ``ids`` (each id at most once), in no particular order."""
        wanted = sorted(set(ids))
        if not wanted:
            return []
        if conn.dialect.name == "sqlite":
            try:
                return self._sqlite_rows(conn, wanted)
            except Exception:  # SQLAlchemy below raises its usual wrapped error
                pass
        stmt = self._generic_stmt()
        out: list[tuple[Any, ...]] = []
        for i in range(0, len(wanted), ID_CHUNK):
            out += [tuple(r) for r in conn.execute(stmt, {"ids": wanted[i : i + ID_CHUNK]})]
        return out

    def _generic_stmt(self) -> Any:
        with self._lock:
            if self._generic is None:
                self._generic = self._build().where(
                    self._id_column.in_(bindparam("ids", expanding=True))
                )
            return self._generic

    def _prepare_sqlite(self, conn: Connection) -> SqliteStatement:
        with self._lock:
            if self._sqlite is None:
                ids = select(literal_column("value")).select_from(
                    text("json_each(:ids_json)").bindparams(ids_json="[]")
                )
                stmt = self._build().where(self._id_column.in_(ids))
                self._sqlite = SqliteStatement(stmt, conn.dialect)
            return self._sqlite

    def _sqlite_rows(self, conn: Connection, wanted: list[int]) -> list[tuple[Any, ...]]:
        statement = self._prepare_sqlite(conn)
        cursor = conn.connection.cursor()
        try:
            return statement.rows(cursor, {"ids_json": json.dumps(wanted)})
        finally:
            cursor.close()
