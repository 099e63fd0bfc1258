"""SLA bookkeeping on write: keeps an item's cached due times current.

Until SLA policies are evaluated, the nearest due time is the item's explicit ``due_at``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from ..domain import models
from .context import Ctx

ITEM = models.Item.__table__


def refresh_item_sla(ctx: Ctx, item_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """Return column updates for the SLA cache of an item whose row is now ``values``."""
    due = values.get("due_at") if values.get("category") != "done" else None
    return {"next_due_at": due}


def apply_sla(ctx: Ctx, item_id: int) -> None:
    row = ctx.conn.execute(ITEM.select().where(ITEM.c.id == item_id)).mappings().one()
    changes = refresh_item_sla(ctx, item_id, dict(row))
    changes = {k: v for k, v in changes.items() if row[k] != v}
    if changes:
        ctx.conn.execute(update(ITEM).where(ITEM.c.id == item_id).values(**changes))


def load_calendar_entry(ld: Any, where: str, entry: dict[str, Any]) -> None:
    """Store a business calendar (validated by the SLA engine's parser)."""
    from sqlalchemy import select

    from .loader import LoadError

    cal = models.BusinessCalendar.__table__
    if not entry.get("name"):
        raise LoadError(f"{where}: missing required key 'name'")
    values = {
        "name": entry["name"],
        "timezone": entry.get("timezone", "UTC"),
        "hours": dict(entry.get("hours", {})),
        "holidays": [str(h) for h in entry.get("holidays", [])],
        "country": entry.get("country"),
        "subdivision": entry.get("subdivision"),
    }
    existing = ld.ctx.conn.execute(select(cal.c.id).where(cal.c.name == entry["name"])).first()
    if existing:
        ld.ctx.conn.execute(cal.update().where(cal.c.id == existing[0]).values(**values))
    else:
        ld.ctx.conn.execute(cal.insert().values(**values))


def load_policy_entry(ld: Any, where: str, entry: dict[str, Any], position: int) -> None:
    from sqlalchemy import select

    from .loader import LoadError

    pol = models.SlaPolicy.__table__
    queue = models.Queue.__table__
    if not entry.get("name"):
        raise LoadError(f"{where}: missing required key 'name'")
    queue_id = None
    if entry.get("queue"):
        row = ld.ctx.conn.execute(select(queue.c.id).where(queue.c.slug == entry["queue"])).first()
        if row is None:
            raise LoadError(f"{where}: unknown queue {entry['queue']!r}")
        queue_id = row[0]
    values = {
        "name": entry["name"],
        "position": position,
        "queue_id": queue_id,
        "kinds": list(entry.get("kinds", [])),
        "priorities": [int(str(p).upper().removeprefix("P")) for p in entry.get("priorities", [])],
        "calendar": entry.get("calendar", "24x7"),
        "first_response": entry.get("first_response"),
        "resolution": entry.get("resolution"),
        "warn_at": entry.get("warn_at", "80%"),
        "pause_in": list(entry.get("pause_in", [])),
    }
    existing = ld.ctx.conn.execute(select(pol.c.id).where(pol.c.name == entry["name"])).first()
    if existing:
        ld.ctx.conn.execute(pol.update().where(pol.c.id == existing[0]).values(**values))
    else:
        ld.ctx.conn.execute(pol.insert().values(**values))


def item_sla_json(item: Any, now: Any) -> dict[str, Any]:
    """Per-target SLA state for ``--json`` (filled by the SLA engine)."""
    return {}


def item_sla_lines(item: Any, now: Any) -> list[str]:
    """Lines for ``opstui show`` (filled by the SLA engine)."""
    return []
