"""Time logged on items, and the rows the forecast reads (SQLAlchemy Core)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select

from ..domain import models

ITEM = models.Item.__table__
PERSON = models.Person.__table__
QUEUE = models.Queue.__table__
WORKLOG = models.WorkLog.__table__

_INSERT = insert(WORKLOG)


@dataclass(frozen=True)
class WorkLogRecord:
    id: int
    item_key: str
    person: str | None
    unix_user: str
    seconds: int
    note: str
    at: datetime


@dataclass(frozen=True)
class OpenWork:
    """One open item as the forecast needs it."""

    id: int
    key: str
    title: str
    kind: str
    data: dict
    owner: str | None
    queue: str
    priority: int
    estimate_hours: float | None
    logged_seconds: int
    created_at: datetime
    due_at: datetime | None
    sla_fr_due: datetime | None
    sla_res_due: datetime | None
    sla_fr_state: str | None
    sla_res_state: str | None


@dataclass(frozen=True)
class FinishedWork:
    """A finished item with an estimate: the basis of estimate accuracy."""

    key: str
    kind: str
    owner: str | None
    estimate_hours: float
    logged_seconds: int
    resolved_at: datetime


def insert_worklog(
    conn: Connection,
    *,
    item_id: int,
    person_id: int | None,
    unix_user: str,
    seconds: int,
    note: str,
    at: datetime,
    created_at: datetime,
    source: str | None = None,
) -> int:
    result = conn.execute(
        _INSERT,
        {
            "item_id": item_id,
            "person_id": person_id,
            "unix_user": unix_user,
            "seconds": seconds,
            "note": note,
            "at": at,
            "created_at": created_at,
            "source": source,
        },
    )
    return int(result.inserted_primary_key[0])


def worklog_source_exists(conn: Connection, source: str) -> bool:
    return conn.execute(select(WORKLOG.c.id).where(WORKLOG.c.source == source)).first() is not None


def logged_seconds(conn: Connection, item_id: int) -> int:
    total = conn.execute(
        select(func.coalesce(func.sum(WORKLOG.c.seconds), 0)).where(WORKLOG.c.item_id == item_id)
    ).scalar_one()
    return int(total)


def worklogs_for(conn: Connection, item_id: int) -> list[WorkLogRecord]:
    rows = conn.execute(
        select(
            WORKLOG.c.id,
            ITEM.c.key,
            PERSON.c.handle,
            WORKLOG.c.unix_user,
            WORKLOG.c.seconds,
            WORKLOG.c.note,
            WORKLOG.c.at,
        )
        .select_from(
            WORKLOG.join(ITEM, ITEM.c.id == WORKLOG.c.item_id).outerjoin(
                PERSON, PERSON.c.id == WORKLOG.c.person_id
            )
        )
        .where(WORKLOG.c.item_id == item_id)
        .order_by(WORKLOG.c.at, WORKLOG.c.id)
    )
    return [WorkLogRecord(*r) for r in rows]


def logged_by_person(conn: Connection, start: datetime, end: datetime) -> dict[str, float]:
    """Hours logged per person handle with ``start <= at < end``."""
    rows = conn.execute(
        select(PERSON.c.handle, func.sum(WORKLOG.c.seconds))
        .select_from(WORKLOG.join(PERSON, PERSON.c.id == WORKLOG.c.person_id))
        .where(WORKLOG.c.at >= start, WORKLOG.c.at < end)
        .group_by(PERSON.c.handle)
    )
    return {handle: float(total or 0) / 3600 for handle, total in rows}


def _logged_subquery() -> object:
    return (
        select(WORKLOG.c.item_id, func.sum(WORKLOG.c.seconds).label("logged"))
        .group_by(WORKLOG.c.item_id)
        .subquery("wl")
    )


def open_work(conn: Connection, owners: Iterable[str] | None = None) -> list[OpenWork]:
    """Open items (category not ``done``) with owner, queue, estimate and time logged."""
    wl = _logged_subquery()
    owner = PERSON.alias("o")
    stmt = (
        select(
            ITEM.c.id,
            ITEM.c.key,
            ITEM.c.title,
            ITEM.c.kind,
            ITEM.c.data,
            owner.c.handle,
            QUEUE.c.slug,
            ITEM.c.priority,
            ITEM.c.estimate_hours,
            func.coalesce(wl.c.logged, 0),
            ITEM.c.created_at,
            ITEM.c.due_at,
            ITEM.c.sla_fr_due,
            ITEM.c.sla_res_due,
            ITEM.c.sla_fr_state,
            ITEM.c.sla_res_state,
        )
        .select_from(
            ITEM.join(QUEUE, QUEUE.c.id == ITEM.c.queue_id)
            .outerjoin(owner, owner.c.id == ITEM.c.owner_id)
            .outerjoin(wl, wl.c.item_id == ITEM.c.id)
        )
        .where(ITEM.c.category != "done")
        .order_by(ITEM.c.id)
    )
    if owners is not None:
        stmt = stmt.where(owner.c.handle.in_(list(owners)))
    return [OpenWork(*r) for r in conn.execute(stmt)]


def triage_owners(conn: Connection) -> dict[str, str]:
    """Queue slug -> its triage owner's handle (queues without one are left out)."""
    rows = conn.execute(
        select(QUEUE.c.slug, PERSON.c.handle).select_from(
            QUEUE.join(PERSON, PERSON.c.id == QUEUE.c.triage_owner_id)
        )
    )
    return dict(rows.all())


def finished_work(conn: Connection, since: datetime, until: datetime) -> list[FinishedWork]:
    """Items resolved in ``[since, until)`` that had an estimate, with their time logged."""
    wl = _logged_subquery()
    owner = PERSON.alias("o")
    rows = conn.execute(
        select(
            ITEM.c.key,
            ITEM.c.kind,
            owner.c.handle,
            ITEM.c.estimate_hours,
            func.coalesce(wl.c.logged, 0),
            ITEM.c.resolved_at,
        )
        .select_from(
            ITEM.outerjoin(owner, owner.c.id == ITEM.c.owner_id).outerjoin(
                wl, wl.c.item_id == ITEM.c.id
            )
        )
        .where(
            ITEM.c.resolved_at >= since,
            ITEM.c.resolved_at < until,
            ITEM.c.estimate_hours.is_not(None),
            ITEM.c.estimate_hours > 0,
        )
        .order_by(ITEM.c.resolved_at)
    )
    return [FinishedWork(*r) for r in rows]


@dataclass(frozen=True)
class PastItem:
    """An item as the backtest needs it: what it is now, plus when it lived."""

    id: int
    key: str
    owner: str | None
    queue: str
    priority: int
    estimate_hours: float | None
    created_at: datetime
    resolved_at: datetime | None
    due_at: datetime | None
    sla_res_due: datetime | None


def past_items(conn: Connection, since: datetime) -> list[PastItem]:
    """Items that existed at some moment after ``since``: not resolved before it."""
    owner = PERSON.alias("o")
    rows = conn.execute(
        select(
            ITEM.c.id,
            ITEM.c.key,
            owner.c.handle,
            QUEUE.c.slug,
            ITEM.c.priority,
            ITEM.c.estimate_hours,
            ITEM.c.created_at,
            ITEM.c.resolved_at,
            ITEM.c.due_at,
            ITEM.c.sla_res_due,
        )
        .select_from(
            ITEM.join(QUEUE, QUEUE.c.id == ITEM.c.queue_id).outerjoin(
                owner, owner.c.id == ITEM.c.owner_id
            )
        )
        .where((ITEM.c.resolved_at.is_(None)) | (ITEM.c.resolved_at >= since))
        .order_by(ITEM.c.id)
    )
    return [PastItem(*r) for r in rows]


def owner_changes(
    conn: Connection, item_ids: Iterable[int]
) -> dict[int, list[tuple[datetime, str | None, str | None]]]:
    """item id -> [(when, old owner, new owner)] in time order, from the event log."""
    EVENT = models.Event.__table__
    ids = list(item_ids)
    out: dict[int, list[tuple[datetime, str | None, str | None]]] = {}
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            select(EVENT.c.item_id, EVENT.c.ts, EVENT.c.old, EVENT.c.new)
            .where(EVENT.c.field == "owner", EVENT.c.item_id.in_(ids[start : start + 500]))
            .order_by(EVENT.c.ts, EVENT.c.id)
        )
        for item_id, ts, old, new in rows:
            out.setdefault(item_id, []).append((ts, old or None, new or None))
    return out


@dataclass(frozen=True)
class LoggedEntry:
    item_id: int
    person: str | None
    at: datetime
    seconds: int


def logged_entries(conn: Connection) -> list[LoggedEntry]:
    """Every worklog by ``at`` (the work's time), oldest first: what the backtest replays
    (one read for all its cases)."""
    rows = conn.execute(
        select(WORKLOG.c.item_id, PERSON.c.handle, WORKLOG.c.at, WORKLOG.c.seconds)
        .select_from(WORKLOG.outerjoin(PERSON, PERSON.c.id == WORKLOG.c.person_id))
        .order_by(WORKLOG.c.at, WORKLOG.c.id)
    )
    return [LoggedEntry(*r) for r in rows]


def drift_marks(conn: Connection, item_id: int | None = None) -> dict[int, bool]:
    """Open item id -> whether its latest ``drifting`` event says it drifts (items never
    looked at are left out); only ``item_id``'s when given (the detail screen)."""
    from .figures_sql import EVENT, is_open, latest_drift_event

    stmt = (
        select(ITEM.c.id, EVENT.c.new)
        .select_from(ITEM.join(EVENT, EVENT.c.id == latest_drift_event()))
        .where(is_open())
    )
    if item_id is not None:
        stmt = stmt.where(ITEM.c.id == item_id)
    return {i: bool(new) for i, new in conn.execute(stmt)}


def imported_worklogs(conn: Connection, item_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """item id -> {source: seconds} of its imported worklogs (rows with a ``source``)."""
    ids = list(item_ids)
    out: dict[int, dict[str, int]] = {}
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            select(WORKLOG.c.item_id, WORKLOG.c.source, WORKLOG.c.seconds).where(
                WORKLOG.c.item_id.in_(ids[start : start + 500]), WORKLOG.c.source.is_not(None)
            )
        )
        for item_id, source, seconds in rows:
            out.setdefault(item_id, {})[source] = int(seconds)
    return out


def set_imported_worklog(
    conn: Connection, source: str, *, seconds: int, at: datetime, person_id: int | None, note: str
) -> None:
    """Change the imported worklog ``source`` (a source's total that grew or shrank)."""
    conn.execute(
        WORKLOG.update()
        .where(WORKLOG.c.source == source)
        .values(seconds=seconds, at=at, person_id=person_id, note=note)
    )


def delete_imported_worklog(conn: Connection, source: str) -> None:
    conn.execute(WORKLOG.delete().where(WORKLOG.c.source == source))
