"""Warning and breach events, written exactly once however many terminals check at
the same moment (:func:`record_sla_crossings`, called on a timer)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select, update

from ...domain import models
from ...domain import sla as dom
from ...store import queries as q
from ...store.engine import Database
from ..context import Ctx, writing
from .compute import SEVERITY, crossing_text

ITEM = models.Item.__table__
EVENT = models.Event.__table__


# --- crossings: warning and breach events, exactly once ------------------------------


def next_check_at(db: Database) -> datetime | None:
    """The soonest moment an SLA crossing (warning or breach) becomes due for recording."""
    with db.read() as conn:
        value = conn.execute(
            select(ITEM.c.sla_check_at)
            .where(ITEM.c.sla_check_at.is_not(None))
            .order_by(ITEM.c.sla_check_at)
            .limit(1)
        ).scalar()
    return value


def pending_crossings(conn: Connection, now: datetime) -> bool:
    """Is any crossing due for recording?  One index probe; cheap enough for a timer."""
    row = conn.execute(
        select(ITEM.c.id)
        .where(ITEM.c.sla_check_at.is_not(None), ITEM.c.sla_check_at <= now)
        .limit(1)
    ).first()
    return row is not None


def record_sla_crossings(db: Database, *, limit: int = 5000) -> list[q.EventRecord]:
    """Write an event for every target that crossed into warning or breach by now.

    Safe to call from any number of processes at once: each crossing is written once
    (a conditional UPDATE of the recorded state inside an IMMEDIATE transaction), and
    a call with nothing due costs one read.  Returns the events written by this call.
    """
    if db.readonly:
        return []
    now = db.clock.now()
    with db.read() as conn:
        if not pending_crossings(conn, now):
            return []
    ids: list[int] = []
    with writing(db) as ctx:
        rows = (
            ctx.conn.execute(
                select(ITEM)
                .where(
                    ITEM.c.sla_check_at.is_not(None),
                    ITEM.c.sla_check_at <= now,
                    ITEM.c.category != "done",
                )
                .order_by(ITEM.c.sla_check_at)
                .limit(limit)
            )
            .mappings()
            .all()
        )
        for row in rows:
            ids.extend(_record_item_crossings(ctx, row, now))
        if not ids:
            return []
        return [
            q.EventRecord(**dict(r._mapping))
            for r in ctx.conn.execute(
                q._event_select().where(EVENT.c.id.in_(ids)).order_by(EVENT.c.id)
            )
        ]


def _record_item_crossings(ctx: Ctx, row: Any, now: datetime) -> list[int]:
    written: list[int] = []
    pending: list[datetime] = []
    paused = row["sla_paused_since"] is not None
    for name, due_col, warn_col, state_col in (
        ("first_response", "sla_fr_due", "sla_fr_warn", "sla_fr_state"),
        ("resolution", "sla_res_due", "sla_res_warn", "sla_res_state"),
    ):
        due, warn, recorded = row[due_col], row[warn_col], row[state_col]
        if due is None or recorded == "met" or paused:
            continue
        if name == "first_response" and row["first_response_at"] is not None:
            continue
        state = dom.target_state(now, due, warn)
        if SEVERITY[state] > SEVERITY.get(recorded, 0):
            blocked = ["breached", "met"] if state == "breached" else ["warning", "breached", "met"]
            result = ctx.conn.execute(
                update(ITEM)
                .where(
                    ITEM.c.id == row["id"],
                    or_(ITEM.c[state_col].is_(None), ITEM.c[state_col].not_in(blocked)),
                )
                .values({state_col: state})
            )
            if result.rowcount == 1:
                written.append(
                    ctx.record(
                        f"sla_{state}",
                        recorded or "ok",
                        crossing_text(name, row["sla_policy"], due),
                        item_id=row["id"],
                        item_version=row["version"],
                        ts=now,
                    )
                )
            recorded = state
        if SEVERITY.get(recorded, 0) < 1 and warn is not None:
            pending.append(warn)
        if SEVERITY.get(recorded, 0) < 2:
            pending.append(due)
    ctx.conn.execute(
        update(ITEM)
        .where(ITEM.c.id == row["id"])
        .values(sla_check_at=min(pending) if pending and not paused else None)
    )
    return written
