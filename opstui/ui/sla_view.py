"""SLA state of an item, computed from cached due times and the clock (no database).

The dashboard ticks every second; each tick calls :func:`targets` on rows already in
memory.  The SLA engine keeps ``sla_fr_due``, ``sla_res_due``, ``sla_paused_since`` and
``next_due_at`` current on every write; until an item has an SLA policy its explicit due
time (``next_due_at``) is shown as a single "due" target.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

STATES = ("ok", "warning", "breached", "paused", "met")
#: Fallback warning point when no policy says otherwise.
DEFAULT_WARN = "80%"
_PCT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_DUR = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Target:
    name: str  # "response", "resolution" or "due"
    due: datetime
    state: str
    #: Time left (negative when breached); frozen at the pause when paused.
    left: timedelta

    @property
    def short(self) -> str:
        return {"response": "resp", "resolution": "res", "due": "due"}[self.name]


def warn_window(warn_at: str | None, start: datetime, due: datetime) -> timedelta:
    """How long before ``due`` the warning starts (``80%`` of the span, or ``10m``)."""
    text = warn_at or DEFAULT_WARN
    m = _PCT.match(text)
    if m:
        used = min(100.0, max(0.0, float(m.group(1)))) / 100.0
        return (due - start) * (1.0 - used)
    m = _DUR.match(text)
    if m:
        return timedelta(seconds=float(m.group(1)) * _UNIT[m.group(2)])
    return (due - start) * 0.2


def _state(
    due: datetime,
    start: datetime,
    now: datetime,
    paused_since: datetime | None,
    stored: str | None,
    warn_at: str | None,
) -> tuple[str, timedelta]:
    if paused_since is not None:
        return "paused", due - paused_since
    left = due - now
    if left <= timedelta(0):
        return "breached", left
    if stored == "warning" or left <= warn_window(warn_at, start, due):
        return "warning", left
    return "ok", left


def targets(row: Any, now: datetime, warn_at: str | None = None) -> list[Target]:
    """Every SLA target of ``row`` (an SlaRow or ItemRecord) with its state at ``now``."""
    out: list[Target] = []
    start = row.created_at
    paused = row.sla_paused_since
    done = getattr(row, "category", "") == "done"
    if row.sla_fr_due is not None:
        answered = row.first_response_at
        if answered is not None or done:
            met = answered is not None and answered <= row.sla_fr_due
            out.append(
                Target(
                    "response",
                    row.sla_fr_due,
                    "met" if met else "breached",
                    row.sla_fr_due - (answered or now),
                )
            )
        else:
            st, left = _state(row.sla_fr_due, start, now, paused, row.sla_fr_state, warn_at)
            out.append(Target("response", row.sla_fr_due, st, left))
    if row.sla_res_due is not None:
        if done:
            resolved = getattr(row, "resolved_at", None) or now
            met = resolved <= row.sla_res_due
            out.append(
                Target(
                    "resolution",
                    row.sla_res_due,
                    "met" if met else "breached",
                    row.sla_res_due - resolved,
                )
            )
        else:
            st, left = _state(row.sla_res_due, start, now, paused, row.sla_res_state, warn_at)
            out.append(Target("resolution", row.sla_res_due, st, left))
    if not out and row.next_due_at is not None and not done:
        st, left = _state(row.next_due_at, start, now, paused, None, warn_at)
        out.append(Target("due", row.next_due_at, st, left))
    return out


def nearest(row: Any, now: datetime, warn_at: str | None = None) -> Target | None:
    """The open target with the least time left (met targets do not count)."""
    open_targets = [t for t in targets(row, now, warn_at) if t.state != "met"]
    if not open_targets:
        return None
    return min(open_targets, key=lambda t: t.left)
