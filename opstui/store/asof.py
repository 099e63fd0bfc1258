"""The board as it stood at a past moment, rebuilt from the event log.

Every change to an item is an event (field, old, new, ts).  An item's value of a field at
time ``T`` is the ``old`` of the first event of that field after ``T`` or, when the field
has not changed since, its value today.  Items created after ``T`` did not exist.

:func:`first_values_after` is that rule as one query (SQLite and PostgreSQL);
:func:`board_at` reads the as-of board through it.  :func:`rewind_copy` materialises the
past as a private SQLite copy of the database (``snapshot``) in which items, events,
comments and work logs after ``T`` are gone and every item row holds its as-of values, so
that every read the app and the CLI already do (panes, figures, the review) answers as
of ``T`` through the same definitions, with nothing written to the real database.  The
SLA columns of the items whose SLA inputs changed after ``T`` are recomputed by
``services.asof`` (the SLA engine lives in services).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    select,
)

from ..domain import models

ITEM = models.Item.__table__
EVENT = models.Event.__table__
PERSON = models.Person.__table__
QUEUE = models.Queue.__table__
STATE = models.WorkflowState.__table__

#: The item fields the event log carries with their old value, as event field names.
REWOUND_FIELDS = ("status", "owner", "queue", "priority", "title", "kind", "estimate", "approval")
#: Changes after T of these fields (and SLA crossings after T) make the item's cached SLA
#: columns stale at T.
SLA_INPUT_FIELDS = ("status", "queue", "priority", "kind", "first_response")

_AT = bindparam("at", type_=ITEM.c.created_at.type)


def first_values_after() -> Any:
    """(item_id, field, old) of each item's first event after ``:at`` per rewound field:
    the value the field had at ``:at`` (bind ``at``)."""
    first = (
        select(func.min(EVENT.c.id).label("id"))
        .where(
            EVENT.c.ts > _AT,
            EVENT.c.item_id.is_not(None),
            EVENT.c.field.in_(REWOUND_FIELDS),
        )
        .group_by(EVENT.c.item_id, EVENT.c.field)
        .subquery("first_after")
    )
    return select(EVENT.c.item_id, EVENT.c.field, EVENT.c.old).join(first, first.c.id == EVENT.c.id)


@dataclass(frozen=True)
class BoardRow:
    """One item as it stood at the moment asked."""

    id: int
    key: str
    queue: str
    status: str
    owner: str | None
    priority: int


def board_at(conn: Connection, at: datetime) -> list[BoardRow]:
    """Every item that existed at ``at`` with its queue, state, owner and priority then
    (SQLite and PostgreSQL)."""
    firsts: dict[int, dict[str, str | None]] = {}
    for item_id, field, old in conn.execute(first_values_after(), {"at": at}):
        firsts.setdefault(item_id, {})[field] = old
    handles = dict(conn.execute(select(PERSON.c.id, PERSON.c.handle)).all())
    slugs = dict(conn.execute(select(QUEUE.c.id, QUEUE.c.slug)).all())
    rows = conn.execute(
        select(
            ITEM.c.id, ITEM.c.key, ITEM.c.queue_id, ITEM.c.status, ITEM.c.owner_id, ITEM.c.priority
        )
        .where(ITEM.c.created_at <= _AT)
        .order_by(ITEM.c.id),
        {"at": at},
    )
    out = []
    for r in rows:
        f = firsts.get(r.id, {})
        owner = f["owner"] if "owner" in f else handles.get(r.owner_id)
        prio = f.get("priority")
        out.append(
            BoardRow(
                id=r.id,
                key=r.key,
                queue=f["queue"] if f.get("queue") else slugs[r.queue_id],
                status=f["status"] if f.get("status") else r.status,
                owner=owner or None,
                priority=int(prio[1:]) if prio else r.priority,
            )
        )
    return out


# --- the private copy ------------------------------------------------------------------


def _naive(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


_SCRATCH = MetaData()
_FIRST = Table(
    "asof_first",
    _SCRATCH,
    Column("item_id", Integer),
    Column("field", String),
    Column("old", String),
    prefixes=["TEMPORARY"],
)


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of the SQLite file ``source`` (WAL included) at ``target``."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=-1)
        finally:
            dst.close()
    finally:
        src.close()


def rewind_copy(path: Path, at: datetime) -> list[int]:
    """Rewind the SQLite file ``path`` (a private copy) to ``at`` in place.

    Returns the ids of the items that existed at ``at`` whose SLA inputs (state, queue,
    priority, kind, first response) changed after it: their SLA columns need computing
    again as of ``at``.  Foreign keys are not enforced here: deleting what came later
    is done table by table.
    """
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _settings(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA foreign_keys=OFF")
        dbapi_conn.execute("PRAGMA journal_mode=DELETE")
        dbapi_conn.execute("PRAGMA synchronous=OFF")

    params = {"at": at}
    t = _naive(at).isoformat(sep=" ")
    try:
        with engine.begin() as conn:
            raw = conn.exec_driver_sql
            _FIRST.create(conn)
            conn.execute(
                insert(_FIRST).from_select(["item_id", "field", "old"], first_values_after()),
                params,
            )
            raw("CREATE INDEX asof_first_ix ON asof_first (field, item_id)")
            raw(
                "CREATE TEMPORARY TABLE asof_stale AS SELECT DISTINCT item_id FROM event"
                " WHERE ts > ? AND item_id IS NOT NULL AND (field IN ({}) OR field LIKE 'sla%')".format(
                    ", ".join(f"'{f}'" for f in SLA_INPUT_FIELDS)
                ),
                (t,),
            )
            # what did not exist yet
            raw("DELETE FROM item WHERE created_at > ?", (t,))
            raw("DELETE FROM event WHERE ts > ?", (t,))
            raw(
                "DELETE FROM event WHERE item_id IS NOT NULL"
                " AND item_id NOT IN (SELECT id FROM item)"
            )
            raw("DELETE FROM comment WHERE created_at > ?", (t,))
            raw("DELETE FROM worklog WHERE at > ? OR created_at > ?", (t, t))
            raw(
                "DELETE FROM item_link WHERE src_id NOT IN (SELECT id FROM item)"
                " OR dst_id NOT IN (SELECT id FROM item)"
            )
            raw("DELETE FROM approval WHERE item_id NOT IN (SELECT id FROM item)")
            raw("DELETE FROM outbox")  # nothing is ever delivered from the past
            raw("UPDATE item SET parent_id = NULL WHERE parent_id NOT IN (SELECT id FROM item)")
            # each rewound field takes its value at T
            first = "(SELECT old FROM asof_first f WHERE f.item_id = item.id AND f.field = '{}')"
            has = "id IN (SELECT item_id FROM asof_first WHERE field = '{}')"
            raw(f"UPDATE item SET status = {first.format('status')} WHERE {has.format('status')}")
            raw(
                "UPDATE item SET owner_id = (SELECT p.id FROM person p WHERE p.handle = "
                f"{first.format('owner')}) WHERE {has.format('owner')}"
            )
            raw(
                "UPDATE item SET queue_id = (SELECT q.id FROM queue q WHERE q.slug = "
                f"{first.format('queue')}) WHERE {has.format('queue')}"
                f" AND {first.format('queue')} IN (SELECT slug FROM queue)"
            )
            raw(
                "UPDATE item SET workflow_id = (SELECT q.workflow_id FROM queue q"
                f" WHERE q.id = item.queue_id) WHERE {has.format('queue')}"
            )
            raw(
                f"UPDATE item SET priority = CAST(substr({first.format('priority')}, 2) AS INTEGER)"
                f" WHERE {has.format('priority')} AND {first.format('priority')} LIKE 'P_'"
            )
            raw(
                f"UPDATE item SET title = {first.format('title')} WHERE {has.format('title')}"
                f" AND length({first.format('title')}) > 0"
            )
            raw(
                f"UPDATE item SET kind = {first.format('kind')} WHERE {has.format('kind')}"
                f" AND length({first.format('kind')}) > 0"
            )
            raw(
                f"UPDATE item SET estimate_hours = CAST({first.format('estimate')} AS REAL)"
                f" WHERE {has.format('estimate')}"
            )
            raw(
                "UPDATE item SET category = COALESCE((SELECT s.category FROM workflow_state s"
                " WHERE s.workflow_id = item.workflow_id AND s.name = item.status), category)"
                f" WHERE {has.format('status')} OR {has.format('queue')}"
            )
            # times after T did not happen yet
            raw(
                "UPDATE item SET first_response_at = NULL WHERE first_response_at > ?",
                (t,),
            )
            raw(
                "UPDATE item SET resolved_at = NULL WHERE category != 'done'"
                " AND resolved_at IS NOT NULL"
            )
            raw(
                "UPDATE item SET resolved_at = COALESCE((SELECT max(e.ts) FROM event e"
                " WHERE e.item_id = item.id AND e.field = 'status'), created_at)"
                " WHERE category = 'done' AND (resolved_at IS NULL OR resolved_at > ?)",
                (t,),
            )
            raw("UPDATE item SET sla_start = NULL WHERE sla_start > ?", (t,))
            raw(
                "UPDATE item SET"
                " updated_at = COALESCE((SELECT max(e.ts) FROM event e"
                " WHERE e.item_id = item.id), created_at),"
                " version = COALESCE((SELECT max(e.item_version) FROM event e"
                " WHERE e.item_id = item.id), 1)"
                " WHERE updated_at > ?",
                (t,),
            )
            # crossings recorded after T were not known at T
            raw(
                f"UPDATE item SET approval = {first.format('approval')}"
                f" WHERE {has.format('approval')}"
                f" AND {first.format('approval')} IN ('none', 'pending', 'approved', 'rejected')"
            )
            # crossings recorded after T were not known at T: the last one before stands
            for col, target in (
                ("sla_fr_state", "first_response"),
                ("sla_res_state", "resolution"),
            ):
                raw(
                    f"UPDATE item SET {col} = (SELECT substr(e.field, 5) FROM event e"
                    " WHERE e.item_id = item.id AND e.field IN ('sla_warning', 'sla_breached')"
                    f" AND e.new LIKE '{target}%' ORDER BY e.id DESC LIMIT 1)"
                    " WHERE id IN (SELECT item_id FROM asof_stale)"
                )
            _FIRST.drop(conn)
            raw("INSERT OR REPLACE INTO meta (key, value) VALUES ('as_of', ?)", (at.isoformat(),))
            stale = [
                r[0]
                for r in raw(
                    "SELECT item_id FROM asof_stale WHERE item_id IN (SELECT id FROM item)"
                    " ORDER BY item_id"
                )
            ]
            raw("DROP TABLE asof_stale")
    finally:
        engine.dispose()
    return stale


def latest_change(conn: Connection) -> datetime | None:
    """When the latest event happened (``None``: an empty log)."""
    return conn.execute(select(func.max(EVENT.c.ts))).scalar()


def item_count_at(conn: Connection, at: datetime) -> int:
    """Items that existed at ``at``."""
    return int(
        conn.execute(
            select(func.count()).select_from(ITEM).where(and_(ITEM.c.created_at <= _AT)),
            {"at": at},
        ).scalar()
        or 0
    )
