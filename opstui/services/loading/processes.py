"""The ``[[processes]]`` section: recurring and event-triggered processes, replaced by
key."""

from __future__ import annotations

from typing import Any

from ...domain import workflow as wfl
from ...domain.actions import PROCESS_TITLE_FIELDS
from ...domain.fields import parse_estimate
from ...errors import OpsError
from ...store import definitions as defs
from ..processes.define import save_process_in
from .base import LoadError, Loading, boolean

PROCESS_KEYS = {
    "key",
    "name",
    "owner",
    "trigger",
    "timezone",
    "queue",
    "skills",
    "estimate",
    "runbook",
    "title",
    "active",
    "catch_up",
}


def load_process_entry(ld: Loading, where: str, entry: dict[str, Any]) -> None:
    """Validate and store one ``[[processes]]`` entry (replaced by key)."""

    def bad(reason: str) -> LoadError:
        return LoadError(f"{where}: {reason}")

    conn = ld.ctx.conn
    if "description" in entry:
        raise bad("a process has no description of its own: put it in its runbook")
    unknown = sorted(set(entry) - PROCESS_KEYS)
    if unknown:
        raise bad(f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(PROCESS_KEYS))})")
    key = str(entry.get("key") or "").strip()
    if not key:
        raise bad("missing required key 'key'")
    if not entry.get("queue"):
        raise bad("missing required key 'queue' (where its items are created)")
    timezone = str(entry.get("timezone") or "UTC")
    try:
        wfl.zone(timezone)
    except wfl.TriggerError as exc:
        raise bad(str(exc)) from None
    trigger_kind = trigger = None
    if entry.get("trigger") not in (None, {}, ""):
        tr = entry["trigger"]
        if not isinstance(tr, dict) or len(tr) != 1:
            raise bad('trigger must be one of {cron=...}, {rrule=...} or {event="kind:state"}')
        trigger_kind, trigger = next(iter(tr.items()))
        try:
            wfl.validate_trigger(trigger_kind, trigger, timezone)
        except wfl.TriggerError as exc:
            raise bad(str(exc)) from None
        trigger = str(trigger).strip()
        if trigger_kind == "event":
            _kind, state = wfl.parse_event(trigger)
            if not defs.state_exists(conn, state):
                raise bad(f"event trigger {trigger!r}: no workflow has a state {state!r}")
    owner_id = None
    if entry.get("owner"):
        owner_id = defs.person_id(conn, entry["owner"])
        if owner_id is None:
            raise bad(f"unknown owner {entry['owner']!r}")
    queue_id = defs.queue_id(conn, entry["queue"])
    if queue_id is None:
        raise bad(f"unknown queue {entry['queue']!r}")
    skills = entry.get("skills", [])
    if isinstance(skills, str):
        skills = [skills]
    skills = sorted({str(s).strip().lower() for s in skills if str(s).strip()})
    known = defs.skills(conn)
    for s in skills:
        if s not in known:
            raise bad(f"unknown skill {s!r} (nobody has it)")
    runbook = entry.get("runbook", "")
    if not isinstance(runbook, str):
        raise bad("runbook must be Markdown text")
    title = entry.get("title") or "{name} ({date})"
    bad_fields = [f for f in wfl.template_fields(title) if f not in PROCESS_TITLE_FIELDS]
    if bad_fields:
        raise bad(
            f"title uses unknown placeholder {{{bad_fields[0]}}} (known: {', '.join(PROCESS_TITLE_FIELDS)})"
        )
    try:
        estimate = parse_estimate(entry.get("estimate"))
    except OpsError as exc:
        raise bad(str(exc)) from None
    catch_up = str(entry.get("catch_up", "latest")).strip().lower()
    if catch_up not in wfl.CATCH_UP:
        raise bad(f"catch_up must be one of {', '.join(wfl.CATCH_UP)} (got {entry['catch_up']!r})")
    values = {
        "key": key,
        "catch_up": catch_up,
        "name": str(entry.get("name") or key),
        "owner_id": owner_id,
        "trigger_kind": trigger_kind,
        "trigger": trigger,
        "timezone": timezone,
        "queue_id": queue_id,
        "runbook": runbook,
        "skills": skills,
        "active": boolean(entry, "active", where, True),
        "item_title": title if entry.get("title") else "",
        "estimate_hours": estimate,
    }
    save_process_in(ld.ctx, values)


def load_processes(ld: Loading, entries: list[dict[str, Any]]) -> None:
    for i, e in enumerate(entries):
        load_process_entry(ld, ld.where("processes", i, e, "key"), e)
    ld.report.counts["processes"] = len(entries)
