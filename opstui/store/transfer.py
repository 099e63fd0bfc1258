"""Copying a whole store from one engine to another (``opstui migrate``), with proof.

Every table is copied in foreign-key order, ids included, inside one write transaction on
the target; PostgreSQL's id sequences are then moved past the copied ids.  Both sides are
then read back and compared table by table: the row count and a SHA-256 over the rows in
primary-key order, each value in one canonical text form, so a file and a server database
holding the same data give the same checksum.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table, func, select

from ..domain import models
from ..errors import StoreError
from . import dialect
from .engine import Database

#: Rows per INSERT batch and per read page.
BATCH = 2000
#: Meta keys that describe the store itself (its engine's header), not the team's data.
HEADER_KEYS = frozenset({"application_id", "schema_version"})


@dataclass(frozen=True)
class TableCheck:
    table: str
    source_rows: int
    target_rows: int
    source_sha256: str
    target_sha256: str

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows and self.source_sha256 == self.target_sha256

    def as_json(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "rows": self.source_rows,
            "target_rows": self.target_rows,
            "sha256": self.source_sha256,
            "target_sha256": self.target_sha256,
            "ok": self.ok,
        }


def tables() -> list[Table]:
    return list(models.metadata.sorted_tables)


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _rows(conn: Connection, table: Table) -> Iterator[tuple[Any, ...]]:
    stmt = select(table).order_by(*table.primary_key.columns)
    if table.name == "meta":
        stmt = stmt.where(table.c.key.not_in(HEADER_KEYS))
    result = conn.execution_options(yield_per=BATCH).execute(stmt)
    for row in result:
        yield tuple(row)


def table_digest(conn: Connection, table: Table) -> tuple[int, str]:
    """(row count, SHA-256) of one table's rows in primary-key order."""
    h = hashlib.sha256()
    n = 0
    for row in _rows(conn, table):
        line = json.dumps([_canonical(v) for v in row], sort_keys=True, default=str)
        h.update(line.encode("utf-8"))
        h.update(b"\n")
        n += 1
    return n, h.hexdigest()


def data_rows(conn: Connection) -> int:
    """Rows a team has written (people, queues, items, events...): 0 for a new store."""
    keep = {"meta", "workflow", "workflow_state", "workflow_transition"}
    total = 0
    for table in tables():
        if table.name not in keep:
            total += int(conn.execute(select(func.count()).select_from(table)).scalar_one())
    return total


def copy_store(
    source: Database,
    target: Database,
    *,
    replace: bool = False,
    progress: Callable[[str, int], object] | None = None,
) -> list[TableCheck]:
    """Copy everything in ``source`` into ``target`` and verify it.  Raises StoreError.

    ``target`` must hold no team data (only what ``init`` writes) unless ``replace``.
    """
    with target.read() as conn:
        existing = data_rows(conn)
    if existing and not replace:
        raise StoreError(
            f"{target.name} already holds data ({existing} rows): nothing was copied "
            "(--replace overwrites it)"
        )
    with source.read() as src, target.write() as dst:
        for table in reversed(tables()):
            dst.execute(table.delete())
        for table in tables():
            n = 0
            batch: list[dict[str, Any]] = []
            names = [c.name for c in table.columns]
            for row in _rows(src, table):
                batch.append(dict(zip(names, row, strict=True)))
                if len(batch) >= BATCH:
                    dst.execute(table.insert(), batch)
                    n += len(batch)
                    batch = []
            if batch:
                dst.execute(table.insert(), batch)
                n += len(batch)
            if progress is not None:
                progress(table.name, n)
        _restore_header(target, dst)
        dialect.reset_sequences(dst, tables())
    return verify(source, target)


def _restore_header(target: Database, conn: Connection) -> None:
    from .schema import SCHEMA_VERSION, _set_header

    _set_header(conn, SCHEMA_VERSION)


def verify(source: Database, target: Database) -> list[TableCheck]:
    """Counts and checksums of every table on both sides."""
    out: list[TableCheck] = []
    with source.read() as src, target.read() as dst:
        for table in tables():
            sn, sh = table_digest(src, table)
            tn, th = table_digest(dst, table)
            out.append(TableCheck(table.name, sn, tn, sh, th))
    return out
