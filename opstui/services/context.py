"""The write context handed to every service step inside one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..domain.models import Event
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
    ) -> int:
        result = self.conn.execute(
            _EVENT_INSERT,  # built once: constructing .values() per event cost ~1 ms
            {
                "ts": self.now,
                "unix_user": self.unix_user,
                "person_id": self.person_id,
                "entity": entity,
                "entity_id": entity_id if entity_id is not None else item_id,
                "item_id": item_id,
                "field": field_name,
                "old": display(old),
                "new": display(new),
                "item_version": item_version,
            },
        )
        return int(result.inserted_primary_key[0])


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
