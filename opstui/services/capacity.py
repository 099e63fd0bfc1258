"""Capacity per person: load, utilisation, overload (extended by the capacity work)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from ..domain import models
from ..store import queries as q
from ..store.engine import Database

ITEM = models.Item.__table__
DEFAULT_ESTIMATE_HOURS = 2.0


def people_overview(db: Database) -> list[dict[str, Any]]:
    with db.read() as conn:
        people = q.list_people(conn)
        loads = {
            r.owner_id: (r.n, r.hours)
            for r in conn.execute(
                select(
                    ITEM.c.owner_id,
                    func.count().label("n"),
                    func.sum(func.coalesce(ITEM.c.estimate_hours, DEFAULT_ESTIMATE_HOURS)).label("hours"),
                )
                .where(ITEM.c.category != "done", ITEM.c.owner_id.is_not(None))
                .group_by(ITEM.c.owner_id)
            )
        }
    out = []
    for p in people:
        n, hours = loads.get(p.id, (0, 0.0))
        out.append(
            {
                "handle": p.handle,
                "name": p.name,
                "team": p.team,
                "active": p.active,
                "open_items": int(n),
                "load_hours": round(float(hours or 0), 1),
                "capacity_hours": p.capacity_hours,
                "utilisation": (float(hours or 0) / p.capacity_hours) if p.capacity_hours else None,
                "skills": list(p.skills),
                "note": "" if p.active else "inactive",
            }
        )
    return out
