"""The CLI's light read path: ``ls``, ``show`` without importing SQLAlchemy.

Importing SQLAlchemy costs ~150 ms of CPU on the project's machines, more than the whole
budget of a read command (150 ms, benchmarks/cli_latency.py).  The hot read commands
therefore read through :func:`reader`, which serves a current-version SQLite file straight
from the ``sqlite3`` driver with the same SQL the Core queries in :mod:`.queries` generate
(tests/test_cli_lite.py compares the two on the sample data, filter by filter) and returns
the same records.  Anything else (a server URL, a file that needs an upgrade, is newer,
foreign or damaged, a filter on a figure such as an SLA state) goes through :class:`CoreReader`, the full store with its upgrades and
one-line errors, so the light path never has its own error handling to get wrong.

SQLite-specific on purpose and kept inside ``store/``; a PostgreSQL URL takes the Core path.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from .records import CommentRecord, EventRecord, ItemFilter, ItemRecord, TransitionRecord

#: ``PRAGMA application_id`` of an opstui database ("OPST").
APPLICATION_ID = 0x4F505354
#: ``PRAGMA user_version``: the schema version this build reads and writes.
SCHEMA_VERSION = 6
BUSY_TIMEOUT_S = 30.0


class Reader(Protocol):
    """What the hot read commands need; both readers below provide it."""

    def list_items(
        self, flt: ItemFilter, *, limit: int | None, now: datetime
    ) -> list[ItemRecord]: ...

    def get_item(self, key: str) -> ItemRecord | None: ...

    def item_comments(self, item_id: int) -> list[CommentRecord]: ...

    def recent_events(self, limit: int, item_id: int) -> list[EventRecord]: ...

    def next_states_for_item(self, key: str) -> list[TransitionRecord]: ...

    def logged_seconds(self, item_id: int) -> int: ...


# --- the item select, column for column as queries.ITEM_COLUMNS --------------------------

_JOINED = {
    "queue": "queue.slug",
    "queue_name": "queue.name",
    "owner": "owner.handle",
    "owner_name": "owner.name",
}
_ITEM_FIELDS = [f.name for f in fields(ItemRecord)]
_ITEM_SQL = (
    "SELECT "
    + ", ".join(_JOINED.get(name, f"item.{name}") for name in _ITEM_FIELDS)
    + " FROM item JOIN queue ON queue.id = item.queue_id"
    " LEFT OUTER JOIN person AS owner ON owner.id = item.owner_id"
)
_DATETIME_AT = [
    i for i, f in enumerate(fields(ItemRecord)) if "datetime" in str(f.type) and f.name != "data"
]
_DATA_AT = _ITEM_FIELDS.index("data")


def _instant(value: Any) -> datetime | None:
    """Stored naive UTC text (types.UTCDateTime) to an aware datetime."""
    if value is None:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _item(row: tuple[Any, ...]) -> ItemRecord:
    values = list(row)
    for i in _DATETIME_AT:
        values[i] = _instant(values[i])
    data = values[_DATA_AT]
    values[_DATA_AT] = json.loads(data) if data else {}
    return ItemRecord(*values)


class Unsupported(Exception):
    """The light path does not answer this read; the caller uses the full store."""


def _where(flt: ItemFilter, now: datetime | None) -> tuple[list[str], list[Any]]:
    """queries._apply_filter in SQL text, for the plain column filters only.  Filters on a
    figure (SLA state, drifting) have one SQL definition, ``store.figures_sql``: those
    reads go through the full store (:class:`Unsupported`)."""
    if (flt.sla_state and now is not None) or flt.drifting:
        raise Unsupported("figure filters are defined in store.figures_sql")
    where: list[str] = []
    args: list[Any] = []
    if flt.queue:
        where.append("queue.slug = ?")
        args.append(flt.queue)
    if flt.owner == "-":
        where.append("item.owner_id IS NULL")
    elif flt.owner:
        where.append("owner.handle = ?")
        args.append(flt.owner)
    if flt.status:
        where.append("item.status = ?")
        args.append(flt.status)
    if flt.priority:
        where.append("item.priority = ?")
        args.append(flt.priority)
    if flt.kind:
        where.append("item.kind = ?")
        args.append(flt.kind)
    if flt.open_only:
        where.append("item.category != 'done'")
    if flt.text:
        escaped = flt.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        needle = f"%{escaped}%"
        where.append(
            "(lower(item.title) LIKE lower(?) ESCAPE '\\'"
            " OR lower(item.key) LIKE lower(?) ESCAPE '\\'"
            " OR lower(item.external_key) LIKE lower(?) ESCAPE '\\')"
        )
        args += [needle, needle, needle]
    return where, args


class LiteReader:
    """Reads on one ``sqlite3`` connection inside one deferred (snapshot) transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def list_items(
        self, flt: ItemFilter, *, limit: int | None = None, now: datetime | None = None
    ) -> list[ItemRecord]:
        where, args = _where(flt, now)
        sql = _ITEM_SQL
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY item.id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        return [_item(r) for r in self.conn.execute(sql, args)]

    def get_item(self, key: str) -> ItemRecord | None:
        """queries.get_item: our key, or else the key in the system it was imported from."""
        key = key.strip()
        for column, value in (
            ("key", key.upper()),
            ("external_key", key),
            ("external_key", key.upper()),
        ):
            row = self.conn.execute(_ITEM_SQL + f" WHERE item.{column} = ?", (value,)).fetchone()
            if row:
                return _item(row)
        return None

    def item_comments(self, item_id: int) -> list[CommentRecord]:
        rows = self.conn.execute(
            "SELECT comment.id, person.handle, comment.unix_user, comment.body,"
            " comment.created_at FROM comment"
            " LEFT OUTER JOIN person ON person.id = comment.author_id"
            " WHERE comment.item_id = ? ORDER BY comment.id",
            (item_id,),
        )
        return [CommentRecord(i, a, u, b, _instant(t)) for i, a, u, b, t in rows]  # type: ignore[arg-type]

    def recent_events(self, limit: int, item_id: int) -> list[EventRecord]:
        rows = self.conn.execute(
            "SELECT event.id, event.ts, event.unix_user, person.handle, event.entity,"
            " event.entity_id, event.item_id, item.key, event.field, event.old, event.new,"
            " event.item_version FROM event"
            " LEFT OUTER JOIN person ON person.id = event.person_id"
            " LEFT OUTER JOIN item ON item.id = event.item_id"
            " WHERE event.item_id = ? ORDER BY event.id DESC LIMIT ?",
            (item_id, int(limit)),
        ).fetchall()
        out = [EventRecord(r[0], _instant(r[1]), *r[2:]) for r in rows]  # type: ignore[arg-type]
        return list(reversed(out))

    def logged_seconds(self, item_id: int) -> int:
        """worklog.logged_seconds: time logged on the item."""
        row = self.conn.execute(
            "SELECT coalesce(sum(seconds), 0) FROM worklog WHERE item_id = ?", (item_id,)
        ).fetchone()
        return int(row[0])

    def next_states_for_item(self, key: str) -> list[TransitionRecord]:
        row = self.conn.execute(
            "SELECT workflow_id, status FROM item WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return []
        rows = self.conn.execute(
            "SELECT id, from_state, to_state, name, requires_approval, actions"
            " FROM workflow_transition WHERE workflow_id = ?"
            " AND (from_state = ? OR from_state = '*') AND to_state != ? ORDER BY id",
            (row[0], row[1], row[1]),
        )
        seen: set[str] = set()
        out = []
        for tid, src, dst, name, approval, actions in rows:  # a specific from-state wins over '*'
            if dst in seen:
                continue
            seen.add(dst)
            out.append(
                TransitionRecord(
                    id=tid,
                    from_state=src,
                    to_state=dst,
                    name=name,
                    requires_approval=bool(approval),
                    actions=tuple(json.loads(actions) if actions else ()),
                )
            )
        return out


class CoreReader:
    """The same reads through the full store (SQLAlchemy Core, :mod:`.queries`)."""

    def __init__(self, conn: Any) -> None:
        from . import queries

        self.conn = conn
        self.q = queries

    def list_items(
        self, flt: ItemFilter, *, limit: int | None = None, now: datetime | None = None
    ) -> list[ItemRecord]:
        return self.q.list_items(self.conn, flt, limit=limit, now=now)

    def get_item(self, key: str) -> ItemRecord | None:
        return self.q.get_item(self.conn, key)

    def item_comments(self, item_id: int) -> list[CommentRecord]:
        return self.q.item_comments(self.conn, item_id)

    def recent_events(self, limit: int, item_id: int) -> list[EventRecord]:
        return self.q.recent_events(self.conn, limit, item_id)

    def next_states_for_item(self, key: str) -> list[TransitionRecord]:
        return self.q.next_states_for_item(self.conn, key)

    def logged_seconds(self, item_id: int) -> int:
        from .worklog import logged_seconds

        return logged_seconds(self.conn, item_id)


def open_lite(path: str | os.PathLike[str], *, readonly: bool = False) -> sqlite3.Connection | None:
    """A connection for :class:`LiteReader` if ``path`` is an existing opstui file of this
    schema version that opens cleanly; None for anything the full store should handle."""
    text = os.fspath(path)
    if "://" in text:
        return None
    p = Path(text).expanduser()
    try:
        if not p.is_file() or p.stat().st_size == 0:
            return None
        uri = f"{p.resolve().as_uri()}?mode=ro" if readonly else None
        conn = (
            sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            if uri
            else sqlite3.connect(p, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        )
    except (OSError, sqlite3.Error):
        return None
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if app_id == APPLICATION_ID and version == SCHEMA_VERSION:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            return conn
    except sqlite3.Error:
        pass
    conn.close()
    return None


@contextmanager
def lite_snapshot(conn: sqlite3.Connection) -> Iterator[LiteReader]:
    """One consistent read (a deferred transaction), closed at the end of the block."""
    try:
        conn.execute("BEGIN")
        try:
            yield LiteReader(conn)
        finally:
            conn.execute("ROLLBACK")  # nothing was written; ends the snapshot
    finally:
        conn.close()
