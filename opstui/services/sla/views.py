"""Reading SLAs: an item's targets as JSON and as ``show`` lines, and the list of open
targets (``opstui sla``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ...domain import models
from ...domain.item_sla import item_sla_json, item_sla_lines
from ...domain.targets import targets
from ...store import figures_sql
from ...store import queries as q

ITEM = models.Item.__table__

# An item's targets as JSON and ``show`` lines are pure: domain.item_sla (the CLI's light
# read path uses them without importing SQLAlchemy).
__all__ = ["SlaRow", "item_sla_json", "item_sla_lines", "open_targets"]


@dataclass(frozen=True)
class SlaRow:
    """One open target for ``opstui sla`` and the SLA pane."""

    item: q.ItemRecord
    target: str
    due: datetime
    remaining_s: int
    state: str

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.item.key,
            "title": self.item.title,
            "queue": self.item.queue,
            "owner": self.item.owner,
            "priority": self.item.priority_label,
            "status": self.item.status,
            "target": self.target,
            "policy": self.item.sla_policy,
            "due": self.due.isoformat(),
            "remaining_s": self.remaining_s,
            "state": self.state,
        }


#: ``domain.targets`` names -> the names ``opstui sla`` has always used.
_ROW_TARGET = {"response": "first_response", "resolution": "resolution", "due": "due"}


def open_targets(conn: Connection, now: datetime) -> list[SlaRow]:
    """Every open target (``domain.targets``: unmet SLA targets and explicit due dates),
    most urgent first (breached, warning, then by due): what the SLA pane shows."""
    stmt = q._item_select().where(figures_sql.is_open(), ITEM.c.next_due_at.is_not(None))
    rows: list[SlaRow] = []
    for r in conn.execute(stmt):
        item = q._record(r)
        for t in targets(item, now):
            if not t.open:
                continue
            rows.append(
                SlaRow(
                    item=item,
                    target=_ROW_TARGET[t.name],
                    due=t.due,
                    remaining_s=int(t.left.total_seconds()),
                    state=t.state,
                )
            )
    order = {"breached": 0, "warning": 1, "ok": 2, "paused": 3}
    rows.sort(key=lambda r: (order.get(r.state, 9), r.due, r.item.key, r.target))
    return rows
