"""The ``[[sla_policies]]`` section: SLA policies, replaced by name; file order is the
order in which policies match."""

from __future__ import annotations

from typing import Any

from ...domain import sla as dom
from ...domain.sla import ALWAYS, SlaError
from ...store import definitions as defs
from ..sla.rules import save_policy_in
from .base import LoadError, Loading, known, string_list

POLICY_KEYS = {
    "name",
    "queue",
    "kinds",
    "priorities",
    "calendar",
    "first_response",
    "resolution",
    "warn_at",
    "pause_in",
}


def load_policy_entry(ld: Loading, where: str, entry: dict[str, Any], position: int) -> None:
    """Validate and store an SLA policy (replaced by name); ``position`` is match order."""
    known(entry, POLICY_KEYS, where)
    conn = ld.ctx.conn
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise LoadError(f"{where}: missing required key 'name'")
    queue_id = None
    if entry.get("queue") is not None:
        slug = str(entry["queue"]).strip().lower()
        queue_id = defs.queue_id(conn, slug)
        if queue_id is None:
            slugs = ", ".join(defs.queue_slugs(conn))
            raise LoadError(
                f"{where}: unknown queue {entry['queue']!r} (queues: {slugs or 'none'})"
            )
    calendar = entry.get("calendar", ALWAYS)
    if not isinstance(calendar, str) or not calendar.strip():
        raise LoadError(f"{where}: calendar must be a calendar name or '24x7'")
    calendar = calendar.strip()
    if calendar != ALWAYS:
        names = defs.calendar_names(conn)
        if calendar not in names:
            raise LoadError(
                f"{where}: unknown calendar {calendar!r} (calendars: {', '.join([ALWAYS, *names])})"
            )
    targets: dict[str, str | None] = {}
    for key in ("first_response", "resolution"):
        value = entry.get(key)
        if value is None:
            targets[key] = None
            continue
        try:
            targets[key] = dom.parse_target(value).text
        except SlaError as exc:
            raise LoadError(f"{where}: {key}: {exc}") from None
    if not any(targets.values()):
        raise LoadError(f"{where}: needs first_response or resolution (or both)")
    try:
        warn = dom.parse_warn(entry.get("warn_at", "80%")).text
    except SlaError as exc:
        raise LoadError(f"{where}: {exc}") from None
    kinds = string_list(entry, "kinds", where)
    priorities: list[int] = []
    raw_prios = entry.get("priorities", [])
    if not isinstance(raw_prios, list):
        raw_prios = [raw_prios]
    for p in raw_prios:
        text = str(p).strip().upper().removeprefix("P")
        if text not in ("1", "2", "3", "4"):
            raise LoadError(f"{where}: priority {p!r} is not P1..P4")
        priorities.append(int(text))
    pause_in = string_list(entry, "pause_in", where)
    if pause_in:
        wf = defs.queue_workflow_id(conn, queue_id) if queue_id is not None else None
        states = defs.state_categories(conn, wf)
        for s in pause_in:
            if s not in states:
                scope = (
                    f"queue {entry['queue']!r}'s workflow"
                    if queue_id is not None
                    else "any workflow"
                )
                raise LoadError(
                    f"{where}: pause_in names unknown state {s!r} (not a state of {scope}: "
                    f"{', '.join(sorted(states)) or 'none'})"
                )
            if states[s] == "done":
                raise LoadError(
                    f"{where}: pause_in state {s!r} is a done state, which stops the clock anyway"
                )
    save_policy_in(
        ld.ctx,
        {
            "name": name.strip(),
            "position": position,
            "queue_id": queue_id,
            "kinds": kinds,
            "priorities": priorities,
            "calendar": calendar,
            "first_response": targets["first_response"],
            "resolution": targets["resolution"],
            "warn_at": warn,
            "pause_in": pause_in,
        },
    )


def load_sla_policies(ld: Loading, entries: list[dict[str, Any]]) -> None:
    for i, e in enumerate(entries):
        load_policy_entry(ld, ld.where("sla_policies", i, e), e, i)
    ld.report.counts["sla_policies"] = len(entries)
