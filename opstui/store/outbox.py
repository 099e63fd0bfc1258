"""The outbox in SQL: hook rules (cached per process, keyed by a revision in ``meta``),
delivery rows written inside the change's transaction, leases and listings.

Engine-neutral SQLAlchemy Core only: the same statements run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, or_, select, update

from ..domain import hooks as dh
from ..domain.models import Delivery, Hook, Item, Lease, Meta, Person, Queue

HOOK = Hook.__table__
OUTBOX = Delivery.__table__
LEASE = Lease.__table__
META = Meta.__table__
ITEM = Item.__table__
QUEUE = Queue.__table__
PERSON = Person.__table__
REV_KEY = "hooks_rev"

_REV = select(META.c.value).where(META.c.key == REV_KEY)
_INSERT = OUTBOX.insert()
_ITEM = (
    select(
        ITEM.c.id,
        ITEM.c.key,
        ITEM.c.title,
        ITEM.c.kind,
        ITEM.c.priority,
        ITEM.c.status,
        ITEM.c.version,
        ITEM.c.due_at,
        QUEUE.c.slug.label("queue"),
        PERSON.c.handle.label("owner"),
    )
    .select_from(ITEM.join(QUEUE, QUEUE.c.id == ITEM.c.queue_id))
    .outerjoin(PERSON, PERSON.c.id == ITEM.c.owner_id)
    .where(ITEM.c.id == bindparam("id"))
)

#: (revision, active rules) for the last revision this process read.
_cache: tuple[str | None, tuple[dh.HookRule, ...]] = ("", ())


@dataclass(frozen=True)
class Recorded:
    """One event of the transaction, as the write context saw it."""

    event_id: int
    field: str
    entity: str
    item_id: int | None
    old: str | None
    new: str | None


def _rule(r: Any) -> dh.HookRule:
    return dh.HookRule(
        id=r.id,
        name=r.name,
        on=r.on,
        queue=r.queue,
        state=r.state,
        priority=r.priority,
        url=r.url,
        command=tuple(r.command) if r.command else None,
        secret=r.secret,
        timeout=float(r.timeout),
        max_attempts=int(r.max_attempts),
    )


def active_rules(conn: Connection) -> tuple[dh.HookRule, ...]:
    """The active hooks; read again only when their revision changed (one key lookup)."""
    global _cache
    rev = conn.execute(_REV).scalar()
    if rev is None:
        return ()
    if _cache[0] != rev:
        rows = conn.execute(select(HOOK).where(HOOK.c.active.is_(True)).order_by(HOOK.c.id))
        _cache = (rev, tuple(_rule(r) for r in rows))
    return _cache[1]


def bump_revision(conn: Connection) -> None:
    """Tell every process its cached hooks are stale (call in the changing transaction)."""
    conn.execute(delete(META).where(META.c.key == REV_KEY))
    conn.execute(META.insert().values(key=REV_KEY, value=uuid.uuid4().hex))


def enqueue(
    conn: Connection,
    events: list[Recorded],
    *,
    now: datetime,
    unix_user: str,
    person_id: int | None,
) -> int:
    """Write the deliveries the transaction's ``events`` call for; returns how many."""
    rules = active_rules(conn)
    if not rules:
        return 0
    rows: list[dict[str, Any]] = []
    items: dict[int, Any] = {}
    actor: dict[str, Any] | None = None
    for ev in events:
        kind = dh.event_of(ev.field, ev.entity)
        if kind is None or ev.item_id is None:
            continue
        hearing = [r for r in rules if r.hears(kind, ev.new)]
        if not hearing:
            continue
        if ev.item_id not in items:
            items[ev.item_id] = conn.execute(_ITEM, {"id": ev.item_id}).first()
        item = items[ev.item_id]
        if item is None:
            continue
        if actor is None:
            actor = {"unix_user": unix_user, "person": _handle(conn, person_id)}
        for rule in hearing:
            if not rule.accepts(item.queue, item.status, item.priority):
                continue
            delivery_id = str(uuid.uuid4())
            payload = dh.body(
                delivery_id=delivery_id,
                event=kind,
                hook=rule.name,
                time=now,
                actor=actor,
                item={
                    "key": item.key,
                    "title": item.title,
                    "kind": item.kind,
                    "queue": item.queue,
                    "state": item.status,
                    "priority": f"P{item.priority}",
                    "owner": item.owner,
                    "due": item.due_at.isoformat() if item.due_at else None,
                    "version": item.version,
                },
                change={"field": ev.field, "old": ev.old, "new": ev.new, "event_id": ev.event_id},
            )
            rows.append(
                {
                    "delivery_id": delivery_id,
                    "hook_id": rule.id,
                    "hook": rule.name,
                    "event": kind,
                    "item_id": item.id,
                    "event_id": ev.event_id,
                    "payload": payload,
                    "status": "pending",
                    "attempts": 0,
                    "created_at": now,
                    "next_at": now,
                }
            )
    if rows:
        conn.execute(_INSERT, rows)
    return len(rows)


def _handle(conn: Connection, person_id: int | None) -> str | None:
    if person_id is None:
        return None
    return conn.execute(select(PERSON.c.handle).where(PERSON.c.id == person_id)).scalar()


# --- hooks ---------------------------------------------------------------------------


def hooks(conn: Connection) -> list[Any]:
    return list(conn.execute(select(HOOK).order_by(HOOK.c.name)))


def hook_by_name(conn: Connection, name: str) -> Any:
    return conn.execute(select(HOOK).where(HOOK.c.name == name)).first()


def hook_by_id(conn: Connection, hook_id: int | None) -> Any:
    if hook_id is None:
        return None
    return conn.execute(select(HOOK).where(HOOK.c.id == hook_id)).first()


def put_hook(conn: Connection, values: dict[str, Any]) -> tuple[int, bool]:
    """Insert or replace the hook named ``values['name']``; returns (id, created)."""
    row = hook_by_name(conn, values["name"])
    if row is None:
        hook_id = int(conn.execute(HOOK.insert().values(**values)).inserted_primary_key[0])
        created = True
    else:
        conn.execute(update(HOOK).where(HOOK.c.id == row.id).values(**values))
        hook_id, created = row.id, False
    bump_revision(conn)
    return hook_id, created


def remove_hook(conn: Connection, hook_id: int, now: datetime) -> int:
    """Delete a hook; its undelivered rows become dead letters.  Returns how many."""
    n = conn.execute(
        update(OUTBOX)
        .where(OUTBOX.c.hook_id == hook_id, OUTBOX.c.status == "pending")
        .values(status="dead", last_error="hook removed", lease_owner=None, lease_until=None)
    ).rowcount
    conn.execute(delete(HOOK).where(HOOK.c.id == hook_id))
    bump_revision(conn)
    return int(n or 0)


# --- deliveries ----------------------------------------------------------------------


def claim_next(conn: Connection, owner: str, now: datetime, lease: timedelta) -> Any:
    """Lease the oldest due pending delivery to ``owner`` (counting the attempt)."""
    row = conn.execute(
        select(OUTBOX.c.id)
        .where(
            OUTBOX.c.status == "pending",
            OUTBOX.c.next_at <= now,
            or_(OUTBOX.c.lease_until.is_(None), OUTBOX.c.lease_until < now),
        )
        .order_by(OUTBOX.c.next_at, OUTBOX.c.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    conn.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == row.id)
        .values(lease_owner=owner, lease_until=now + lease, attempts=OUTBOX.c.attempts + 1)
    )
    return conn.execute(select(OUTBOX).where(OUTBOX.c.id == row.id)).first()


def finish_lease(conn: Connection, row_id: int, owner: str, until: datetime) -> None:
    """Shorten or extend ``owner``'s lease on a row (to its hook's timeout)."""
    conn.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == row_id, OUTBOX.c.lease_owner == owner)
        .values(lease_until=until)
    )


def finish(conn: Connection, row_id: int, owner: str, values: dict[str, Any]) -> bool:
    """Record a send's outcome, only if ``owner`` still holds the row's lease."""
    values = {**values, "lease_owner": None, "lease_until": None}
    result = conn.execute(
        update(OUTBOX).where(OUTBOX.c.id == row_id, OUTBOX.c.lease_owner == owner).values(**values)
    )
    return result.rowcount == 1


def next_due(conn: Connection) -> datetime | None:
    return conn.execute(
        select(func.min(OUTBOX.c.next_at)).where(OUTBOX.c.status == "pending")
    ).scalar()


def deliveries(
    conn: Connection, *, status: str | None = None, hook: str | None = None, limit: int = 50
) -> list[Any]:
    stmt = select(OUTBOX).order_by(OUTBOX.c.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(OUTBOX.c.status == status)
    if hook:
        stmt = stmt.where(OUTBOX.c.hook == hook)
    return list(conn.execute(stmt))


def delivery(conn: Connection, ref: str) -> Any:
    """By row number or by (a unique prefix of) the delivery id."""
    if ref.isdigit():
        row = conn.execute(select(OUTBOX).where(OUTBOX.c.id == int(ref))).first()
        if row is not None:
            return row
    rows = list(conn.execute(select(OUTBOX).where(OUTBOX.c.delivery_id.startswith(ref)).limit(2)))
    return rows[0] if len(rows) == 1 else None


def failing(conn: Connection) -> list[Any]:
    """Deliveries that have failed at least once and are not delivered: pending retries
    and dead letters, oldest failure first."""
    return list(
        conn.execute(
            select(OUTBOX)
            .where(OUTBOX.c.status != "delivered", OUTBOX.c.failing_since.is_not(None))
            .order_by(OUTBOX.c.failing_since)
        )
    )


def retry(conn: Connection, ids: list[int], now: datetime) -> int:
    if not ids:
        return 0
    return int(
        conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id.in_(ids), OUTBOX.c.status != "delivered")
            .values(status="pending", next_at=now, attempts=0, lease_owner=None, lease_until=None)
        ).rowcount
        or 0
    )


def purge(conn: Connection, *, before: datetime, statuses: tuple[str, ...]) -> int:
    return int(
        conn.execute(
            delete(OUTBOX).where(OUTBOX.c.status.in_(statuses), OUTBOX.c.created_at < before)
        ).rowcount
        or 0
    )


def counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(OUTBOX.c.status, func.count()).group_by(OUTBOX.c.status))
    return {r[0]: int(r[1]) for r in rows}


# --- leases --------------------------------------------------------------------------


def take_lease(conn: Connection, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
    """Hold ``name`` until now + ttl if it is free, expired or already ours."""
    result = conn.execute(
        update(LEASE)
        .where(LEASE.c.name == name, or_(LEASE.c.owner == owner, LEASE.c.until < now))
        .values(owner=owner, until=now + ttl)
    )
    if result.rowcount == 1:
        return True
    if conn.execute(select(LEASE.c.owner).where(LEASE.c.name == name)).first() is not None:
        return False
    conn.execute(LEASE.insert().values(name=name, owner=owner, until=now + ttl))
    return True


def drop_lease(conn: Connection, name: str, owner: str) -> None:
    conn.execute(delete(LEASE).where(and_(LEASE.c.name == name, LEASE.c.owner == owner)))


def lease_holder(conn: Connection, name: str, now: datetime) -> str | None:
    row = conn.execute(select(LEASE).where(LEASE.c.name == name, LEASE.c.until >= now)).first()
    return row.owner if row is not None else None
