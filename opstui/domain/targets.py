"""The targets of an item (SLA response, SLA resolution, its own due date) and their states,
from cached due times and the clock: pure, no database.  The screens and ``opstui sla``
both list targets with :func:`targets`, so they show the same thing.

The dashboard ticks when a countdown on screen reads differently; each tick calls
:func:`nearest` on rows already in memory.  The SLA engine keeps ``sla_fr_due``, ``sla_res_due``, their warning instants,
``sla_paused_since`` and ``next_due_at`` current on every write.  A target's state is
``domain.sla.target_state`` (the one rule); which targets are open and how an item's state
follows from them is ``domain.figures`` (so the pane shows what the counts count).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .figures import ITEM_SLA_STATES, is_open
from .sla import target_state

STATES = ("ok", "warning", "breached", "paused", "met")


@dataclass(frozen=True)
class Target:
    name: str  # "response", "resolution" or "due"
    due: datetime
    state: str
    #: Time left (negative when breached); frozen at the pause when paused; the margin
    #: it was met with (negative: late) once met.
    left: timedelta
    #: Still to be met (a target answered late is ``breached`` but no longer open).
    open: bool = True

    @property
    def short(self) -> str:
        return {"response": "resp", "resolution": "res", "due": "due"}[self.name]


def _target(
    name: str,
    due: datetime,
    warn: datetime | None,
    met: datetime | None,
    paused: datetime | None,
    now: datetime,
) -> Target:
    if met is not None:
        return Target(name, due, target_state(now, due, warn, met), due - met, open=False)
    state = target_state(now, due, warn, None, paused) or "ok"
    return Target(name, due, state, due - (paused or now))


#: The fields of a row :func:`targets` reads (a row whose fields these are the same has the
#: same targets at every moment; tests/test_targets_fields.py checks the list).
TARGET_FIELDS = (
    "category",
    "sla_paused_since",
    "sla_fr_due",
    "sla_fr_warn",
    "first_response_at",
    "resolved_at",
    "sla_res_due",
    "sla_res_warn",
    "due_at",
    "next_due_at",
)


def same_targets(a: Any, b: Any) -> bool:
    """Do rows ``a`` and ``b`` have the same targets at every moment?"""
    return all(getattr(a, f, None) == getattr(b, f, None) for f in TARGET_FIELDS)


def targets(row: Any, now: datetime) -> list[Target]:
    """Every target of ``row`` (an SlaRow or ItemRecord) with its state at ``now``: the
    SLA policy's response and resolution targets and the item's explicit due date."""
    out: list[Target] = []
    done = not is_open(getattr(row, "category", None))
    paused = row.sla_paused_since
    if row.sla_fr_due is not None:
        answered = row.first_response_at or getattr(row, "resolved_at", None)
        if answered is None and done:  # closed without an answer: missed
            out.append(
                Target("response", row.sla_fr_due, "breached", row.sla_fr_due - now, open=False)
            )
        else:
            warn = getattr(row, "sla_fr_warn", None)
            out.append(_target("response", row.sla_fr_due, warn, answered, paused, now))
    if row.sla_res_due is not None:
        resolved = (getattr(row, "resolved_at", None) or now) if done else None
        out.append(
            _target(
                "resolution",
                row.sla_res_due,
                getattr(row, "sla_res_warn", None),
                resolved,
                paused,
                now,
            )
        )
    due = getattr(row, "due_at", None)
    if due is None and not out:
        due = row.next_due_at  # rows without the column: the cached soonest due time
    if due is not None and not done:
        out.append(_target("due", due, None, None, paused, now))
    return out


def nearest(row: Any, now: datetime) -> Target | None:
    """The open target that gives the item its state (``domain.figures.item_sla_state``):
    the worst state first, then the least time left.  None when no target is open."""
    open_targets = [t for t in targets(row, now) if t.open]
    if not open_targets:
        return None
    if len(open_targets) == 1:  # the usual case; the dashboard asks on every tick
        return open_targets[0]
    return min(open_targets, key=lambda t: (_RANK.get(t.state, 9), t.left))


_RANK = {s: i for i, s in enumerate(ITEM_SLA_STATES)}
