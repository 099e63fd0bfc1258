"""The list of open targets (``opstui sla``) from item records and the clock: pure, no
SQLAlchemy, so the CLI's light read path (store.lite) and the full store list them alike."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ...domain.targets import targets
from ...store.records import ItemRecord


@dataclass(frozen=True)
class SlaRow:
    """One open target for ``opstui sla``."""

    item: ItemRecord
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
_ORDER = {"breached": 0, "warning": 1, "ok": 2, "paused": 3}


def target_rows(items: Iterable[ItemRecord], now: datetime) -> list[SlaRow]:
    """Every open target of ``items`` (``domain.targets``: unmet SLA targets and explicit
    due dates), most urgent first (breached, warning, then by due)."""
    rows: list[SlaRow] = []
    for item in items:
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
    rows.sort(key=lambda r: (_ORDER.get(r.state, 9), r.due, r.item.key, r.target))
    return rows
