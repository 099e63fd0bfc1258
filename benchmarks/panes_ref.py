"""The pane queries the benchmarks time.

Each entry is ``name -> fn(conn, now)``.  They are the store queries the dashboard and the
CLI run for a refresh: ``store.queries`` (item lists, counts, events) and, when present,
``store.panes`` (the dashboard's own pane queries, picked up automatically: every public
function whose parameters are ``(conn)`` or ``(conn, now)``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

PaneFn = Callable[[Connection, datetime], Any]


def store_queries() -> dict[str, PaneFn]:
    from opstui.store import queries as q

    def last_events(conn: Connection, now: datetime) -> Any:
        cursor = q.last_event_id(conn)
        return q.events_after(conn, max(0, cursor - 100))

    return {
        "ls open (200 newest)": lambda c, n: q.list_items(
            c, q.ItemFilter(open_only=True), limit=200
        ),
        "ls all (200 newest)": lambda c, n: q.list_items(c, q.ItemFilter(), limit=200),
        "ls queue=support open": lambda c, n: q.list_items(
            c, q.ItemFilter(queue="support", open_only=True), limit=200
        ),
        "ls owner=alice open": lambda c, n: q.list_items(
            c, q.ItemFilter(owner="alice", open_only=True), limit=200
        ),
        "ls unowned open": lambda c, n: q.list_items(
            c, q.ItemFilter(owner="-", open_only=True), limit=200
        ),
        "ls sla=breached": lambda c, n: q.list_items(
            c, q.ItemFilter(sla_state="breached"), limit=200, now=n
        ),
        "ls text search": lambda c, n: q.list_items(c, q.ItemFilter(text="firewall"), limit=200),
        "count open": lambda c, n: q.count_items(c, q.ItemFilter(open_only=True)),
        "ids of open (virtual list)": lambda c, n: q.item_ids_page(c, q.ItemFilter(open_only=True)),
        "recent events (50)": lambda c, n: q.recent_events(c, 50),
        "events after cursor (100)": last_events,
        "people": lambda c, n: q.list_people(c),
        "queues": lambda c, n: q.list_queues(c),
    }


def reference_panes() -> dict[str, PaneFn]:
    """Core queries shaped like the dashboard's panes (used until store.panes exists, and
    kept as a yardstick for the indexes)."""
    from sqlalchemy import case, func, select

    from opstui.domain import models

    ITEM = models.Item.__table__
    EVENT = models.Event.__table__

    def queue_pane(conn: Connection, now: datetime) -> Any:
        return conn.execute(
            select(
                ITEM.c.queue_id,
                func.count(),
                func.sum(case((ITEM.c.owner_id.is_(None), 1), else_=0)),
                func.sum(case((ITEM.c.next_due_at <= now, 1), else_=0)),
            )
            .where(ITEM.c.category != "done")
            .group_by(ITEM.c.queue_id)
        ).all()

    def owner_pane(conn: Connection, now: datetime) -> Any:
        return conn.execute(
            select(ITEM.c.owner_id, func.count(), func.coalesce(func.sum(ITEM.c.estimate_hours), 0))
            .where(ITEM.c.category != "done")
            .group_by(ITEM.c.owner_id)
        ).all()

    def soonest_due(conn: Connection, now: datetime) -> Any:
        return conn.execute(
            select(ITEM.c.id, ITEM.c.key, ITEM.c.next_due_at)
            .where(ITEM.c.category != "done", ITEM.c.next_due_at.is_not(None))
            .order_by(ITEM.c.next_due_at)
            .limit(50)
        ).all()

    def throughput_week(conn: Connection, now: datetime) -> Any:
        return conn.execute(
            select(EVENT.c.new, func.count())
            .where(EVENT.c.field == "status", EVENT.c.ts >= now - timedelta(days=7))
            .group_by(EVENT.c.new)
        ).all()

    return {
        "pane: queues (open/unowned/breached)": queue_pane,
        "pane: owners (open load)": owner_pane,
        "pane: soonest due (50)": soonest_due,
        "pane: status moves last 7 days": throughput_week,
    }


def dashboard_panes() -> dict[str, PaneFn]:
    """Public query functions of ``opstui.store.panes`` (the dashboard's)."""
    from opstui.store import panes

    out: dict[str, PaneFn] = {}
    for name, fn in inspect.getmembers(panes, inspect.isfunction):
        if name.startswith("_") or fn.__module__ != panes.__name__:
            continue
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.default is inspect.Parameter.empty
            and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        names = [p.name for p in params]
        if names == ["conn"]:
            out[f"panes.{name}"] = lambda c, n, fn=fn: fn(c)
        elif names == ["conn", "now"]:
            out[f"panes.{name}"] = lambda c, n, fn=fn: fn(c, n)
    return out


def all_panes() -> dict[str, PaneFn]:
    return {**dashboard_panes(), **reference_panes(), **store_queries()}
