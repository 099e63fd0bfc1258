"""The source's own SLA verdicts (ServiceNow's ``made_sla``) beside ours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ...store.engine import Database
from .tables import ITEM

# --- the source's own verdicts ---------------------------------------------------------


@dataclass(frozen=True)
class SourceVerdict:
    key: str
    external_key: str
    system: str
    source_made_sla: bool
    our_verdict: str  # met / breached / open / no policy

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "external_key": self.external_key,
            "system": self.system,
            "source_made_sla": self.source_made_sla,
            "opstui": self.our_verdict,
        }


def compare_source(db: Database) -> tuple[int, int, list[SourceVerdict]]:
    """Imported items whose source said whether the SLA was made (ServiceNow's
    ``made_sla``): how many there are, how many are still open here (no verdict yet),
    and those where our own verdict differs (or where no policy of ours applies)."""
    now = db.clock.now()
    differ: list[SourceVerdict] = []
    total = still_open = 0
    with db.read() as conn:
        rows = conn.execute(
            select(
                ITEM.c.key,
                ITEM.c.external_key,
                ITEM.c.data,
                ITEM.c.category,
                ITEM.c.sla_policy,
                ITEM.c.sla_res_due,
                ITEM.c.resolved_at,
                ITEM.c.sla_res_state,
                ITEM.c.sla_fr_state,
                ITEM.c.next_due_at,
            )
            .where(ITEM.c.external_key.is_not(None))
            .order_by(ITEM.c.id)
        )
        for r in rows:
            src = (r.data or {}).get("source") or {}
            made = (src.get("facts") or {}).get("made_sla")
            if not isinstance(made, bool):
                continue
            total += 1
            ours = _our_verdict(r, now)
            if ours == "open":
                still_open += 1
            elif ours == "no policy" or (ours == "met") != made:
                differ.append(
                    SourceVerdict(r.key, r.external_key, src.get("system", ""), made, ours)
                )
    return total, still_open, differ


def _our_verdict(r: Any, now: datetime) -> str:
    if r.sla_policy is None:
        return "no policy"
    breached = "breached" in (r.sla_res_state, r.sla_fr_state)
    if r.category == "done":
        if (
            r.sla_res_due is not None
            and r.resolved_at is not None
            and r.resolved_at > r.sla_res_due
        ):
            breached = True
        return "breached" if breached else "met"
    if breached or (r.next_due_at is not None and r.next_due_at <= now):
        return "breached"
    return "open"
