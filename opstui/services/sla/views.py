"""Reading SLAs: an item's targets as JSON and as ``show`` lines, and the list of open
targets (``opstui sla``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from ...domain import models
from ...domain.item_sla import item_sla_json, item_sla_lines
from ...store import figures_sql
from ...store import queries as q
from .listing import SlaRow, target_rows

ITEM = models.Item.__table__

# An item's targets as JSON and ``show`` lines are pure: domain.item_sla (the CLI's light
# read path uses them without importing SQLAlchemy); so is the list of targets (.listing).
__all__ = ["SlaRow", "item_sla_json", "item_sla_lines", "open_targets", "open_target_items"]


def open_target_items(conn: Connection) -> list[q.ItemRecord]:
    """The open items with a target due (``store.lite.LiteReader.sla_items`` is the same
    read in SQL text)."""
    stmt = (
        q._item_select()
        .where(figures_sql.is_open(), ITEM.c.next_due_at.is_not(None))
        .order_by(ITEM.c.id)
    )
    return [q._record(r) for r in conn.execute(stmt)]


def open_targets(conn: Connection, now: datetime) -> list[SlaRow]:
    """Every open target (``domain.targets``: unmet SLA targets and explicit due dates),
    most urgent first (breached, warning, then by due): what the SLA pane shows."""
    return target_rows(open_target_items(conn), now)
