"""An item's SLA targets as of a moment, from its cached columns (due, warning and met
times, pause start): no policy or calendar arithmetic, no IO.  Used by ``--json`` output,
``opstui show`` and the detail screen.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .sla import format_remaining, target_state

TARGETS = ("first_response", "resolution")
LABELS = {"first_response": "first response", "resolution": "resolution"}


def target_view(item: Any, name: str, now: datetime) -> dict[str, Any] | None:
    if name == "first_response":
        due, warn = item.sla_fr_due, getattr(item, "sla_fr_warn", None)
        met = item.first_response_at or item.resolved_at
    else:
        due, warn = item.sla_res_due, getattr(item, "sla_res_warn", None)
        met = item.resolved_at if item.category == "done" else None
    if due is None:
        return None
    paused = item.sla_paused_since if met is None else None
    state = target_state(now, due, warn, met, paused)
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
        view = target_view(item, name, now)
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
        left = format_remaining(v["remaining_s"])
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
