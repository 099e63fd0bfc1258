"""Item list orders: urgency (the default), priority, age, updated.

Urgency: breached first (most overdue first), then by time to the nearest SLA target or
due date, then priority, then age (oldest first).  Ints only come back, as for
``panes.item_ids``: a virtual list fetches the visible rows by id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, select

from .queries import ITEM, ItemFilter, _apply_filter, _filter_from

#: Sort names in the order ``s`` cycles through them.
SORTS = ("urgency", "priority", "age", "updated")


def _urgency(now: datetime) -> list[Any]:
    breached = case(
        (
            ITEM.c.next_due_at.is_not(None)
            & ITEM.c.sla_paused_since.is_(None)
            & (ITEM.c.next_due_at <= now),
            0,
        ),
        else_=1,
    )
    return [
        breached,
        ITEM.c.next_due_at.is_(None),
        ITEM.c.next_due_at,
        ITEM.c.priority,
        ITEM.c.created_at,
        ITEM.c.id,
    ]


def order_by(sort: str, now: datetime) -> list[Any]:
    if sort == "urgency":
        return _urgency(now)
    if sort == "priority":
        return [ITEM.c.priority, *_urgency(now)[:3], ITEM.c.created_at, ITEM.c.id]
    if sort == "age":
        return [ITEM.c.created_at, ITEM.c.id]
    if sort == "updated":
        return [ITEM.c.updated_at.desc(), ITEM.c.id.desc()]
    raise ValueError(f"unknown sort {sort!r} (sorts: {', '.join(SORTS)})")


def sorted_item_ids(
    conn: Connection,
    flt: ItemFilter,
    *,
    sort: str,
    now: datetime,
    limit: int | None = None,
) -> list[int]:
    """Ids of the items matching ``flt`` in ``sort`` order."""
    stmt = select(ITEM.c.id).select_from(_filter_from(flt))
    stmt = _apply_filter(stmt, flt, now).order_by(*order_by(sort, now))
    if limit is not None:
        stmt = stmt.limit(limit)
    return [r[0] for r in conn.execute(stmt)]
