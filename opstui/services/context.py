"""The write context handed to every service step inside one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from ..domain.models import Event
from ..store import outbox as ob
from ..store.bulk import insert_many
from ..store.engine import Database

EVENT = Event.__table__
_EVENT_INSERT = EVENT.insert()


def display(value: Any) -> str | None:
    """How a value is written into the event log."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class Ctx:
    db: Database
    conn: Connection
    now: datetime
    unix_user: str
    person_id: int | None
    #: Notifications produced by actions in this transaction (for the caller to show).
    notices: list[str] = field(default_factory=list)
    dry_run: bool = False
    #: Replaying recorded history (loader): no workflow actions, no approval gates.
    replay: bool = False
    #: The events of this transaction: at commit they are matched against the hooks and
    #: the outbox rows are written in the same transaction (issue: connected triggers).
    events: list[ob.Recorded] = field(default_factory=list)

    def record(
        self,
        field_name: str,
        old: Any = None,
        new: Any = None,
        *,
        item_id: int | None = None,
        entity: str = "item",
        entity_id: int | None = None,
        item_version: int | None = None,
        ts: datetime | None = None,
    ) -> int:
        old_text, new_text = display(old), display(new)
        result = self.conn.execute(
            _EVENT_INSERT,  # built once: constructing .values() per event cost ~1 ms
            {
                "ts": ts or self.now,
                "unix_user": self.unix_user,
                "person_id": self.person_id,
                "entity": entity,
                "entity_id": entity_id if entity_id is not None else item_id,
                "item_id": item_id,
                "field": field_name,
                "old": old_text,
                "new": new_text,
                "item_version": item_version,
            },
        )
        event_id = int(result.inserted_primary_key[0])
        self.events.append(ob.Recorded(event_id, field_name, entity, item_id, old_text, new_text))
        return event_id

    def record_many(self, records: list[dict[str, Any]]) -> None:
        """:meth:`record` for each of ``records`` (its keyword arguments), in order, with
        one statement on SQLite (where this transaction holds the only write lock, so the
        new ids are the ones above the largest before it)."""
        if self.conn.dialect.name != "sqlite":
            for r in records:
                self.record(**r)
            return
        if not records:
            return
        rows = []
        for r in records:
            item_id = r.get("item_id")
            entity_id = r.get("entity_id")
            rows.append(
                {
                    "ts": r.get("ts") or self.now,
                    "unix_user": self.unix_user,
                    "person_id": self.person_id,
                    "entity": r.get("entity", "item"),
                    "entity_id": entity_id if entity_id is not None else item_id,
                    "item_id": item_id,
                    "field": r["field_name"],
                    "old": display(r.get("old")),
                    "new": display(r.get("new")),
                    "item_version": r.get("item_version"),
                }
            )
        before = self.conn.execute(select(func.max(EVENT.c.id))).scalar() or 0
        insert_many(self.conn, EVENT, rows)
        ids = self.conn.execute(
            select(EVENT.c.id).where(EVENT.c.id > before).order_by(EVENT.c.id)
        ).scalars()
        for event_id, row in zip(ids, rows, strict=True):
            self.events.append(
                ob.Recorded(
                    event_id, row["field"], row["entity"], row["item_id"], row["old"], row["new"]
                )
            )


@contextmanager
def writing(db: Database, *, dry_run: bool = False) -> Iterator[Ctx]:
    """Open one IMMEDIATE transaction and yield its context.

    With ``dry_run`` the whole transaction is rolled back at the end, so callers can
    show what a change would do without doing it.
    """
    with db.write() as conn:
        ctx = Ctx(
            db=db,
            conn=conn,
            now=db.clock.now(),
            unix_user=db.unix_user,
            person_id=db.person_id(conn),
            dry_run=dry_run,
        )
        yield ctx
        if dry_run:
            conn.rollback()
        elif ctx.events:
            ob.enqueue(
                conn, ctx.events, now=ctx.now, unix_user=ctx.unix_user, person_id=ctx.person_id
            )
