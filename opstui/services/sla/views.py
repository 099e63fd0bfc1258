"""Reading SLAs: an item's targets as JSON and as ``show`` lines, and the list of open
targets (``opstui sla``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ...domain import models
from ...domain import sla as dom
from ...domain.targets import targets
from ...store import figures_sql
from ...store import queries as q

ITEM = models.Item.__table__

TARGETS = ("first_response", "resolution")
LABELS = {"first_response": "first response", "resolution": "resolution"}

# --- reading: JSON, show lines, the at-risk list --------------------------------------


def _target_view(item: Any, name: str, now: datetime) -> dict[str, Any] | None:
    if name == "first_response":
        due, warn = item.sla_fr_due, getattr(item, "sla_fr_warn", None)
        met = item.first_response_at or item.resolved_at
    else:
        due, warn = item.sla_res_due, getattr(item, "sla_res_warn", None)
        met = item.resolved_at if item.category == "done" else None
    if due is None:
        return None
    paused = item.sla_paused_since if met is None else None
    state = dom.target_state(now, due, warn, met, paused)
    ref = met or paused or now
    return {
        "policy": item.sla_policy,
        "due": due.isoformat(),
        "remaining_s": int((due - ref).total_seconds()),
        "state": state,
        "warn_at": warn.isoformat() if warn else None,
        "met_at": met.isoformat() if met else None,
    }


def item_sla_json(item: Any, now: datetime) -> dict[str, Any]:
    """``{"first_response": {policy, due, remaining_s, state, ...}, "resolution": {...}}``.

    ``remaining_s`` is wall-clock seconds to the due time (negative once breached); when
    met, the margin it was met with; while paused, what was left when the pause began.
    ``{}`` when no policy applies.
    """
    if not getattr(item, "sla_policy", None):
        return {}
    out: dict[str, Any] = {}
    for name in TARGETS:
        view = _target_view(item, name, now)
        if view is not None:
            out[name] = view
    return out


def item_sla_lines(item: Any, now: datetime) -> list[str]:
    """Lines for ``opstui show``."""
    data = item_sla_json(item, now)
    if not data:
        return []
    lines = [f"  SLA policy {item.sla_policy}"]
    for name in TARGETS:
        v = data.get(name)
        if v is None:
            continue
        due = datetime.fromisoformat(v["due"])
        left = dom.format_remaining(v["remaining_s"])
        if v["state"] == "met":
            tail = f"met {left} early"
        elif v["state"] == "breached" and v["met_at"]:
            tail = f"breached: met {left.lstrip('-')} late"
        elif v["state"] == "breached":
            tail = f"breached {left.lstrip('-')} ago"
        elif v["state"] == "paused":
            tail = f"paused with {left} left"
        else:
            tail = f"{v['state']}, {left} left"
        lines.append(f"    {LABELS[name]:<15} due {due:%Y-%m-%d %H:%M} UTC   {tail}")
    return lines


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
