"""The ``[[calendars]]`` section: business calendars, replaced by name."""

from __future__ import annotations

from typing import Any

from ...domain import sla as dom
from ...domain.sla import SlaError
from ..sla.rules import save_calendar_in
from .base import LoadError, Loading, known

CALENDAR_KEYS = {"name", "timezone", "hours", "holidays", "country", "subdivision"}


def load_calendar_entry(ld: Loading, where: str, entry: dict[str, Any]) -> None:
    """Validate and store a business calendar (replaced by name)."""
    known(entry, CALENDAR_KEYS, where)
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise LoadError(f"{where}: missing required key 'name'")
    name = name.strip()
    holidays = entry.get("holidays", [])
    if not isinstance(holidays, list):
        raise LoadError(f"{where}: holidays must be a list of dates")
    try:
        cal = dom.make_calendar(
            name,
            entry.get("timezone", "UTC"),
            entry.get("hours") if entry.get("hours") is not None else {},
            holidays,
            entry.get("country"),
            entry.get("subdivision"),
        )
    except SlaError as exc:
        raise LoadError(f"{where}: {exc}") from None
    save_calendar_in(
        ld.ctx,
        {
            "name": name,
            "timezone": cal.tz.key,
            "hours": {
                str(k): (v if isinstance(v, str) else ", ".join(v))
                for k, v in entry["hours"].items()
            },
            "holidays": sorted(d.isoformat() for d in cal.holidays),
            "country": cal.country,
            "subdivision": cal.subdivision,
        },
    )


def load_calendars(ld: Loading, entries: list[dict[str, Any]]) -> None:
    for i, e in enumerate(entries):
        load_calendar_entry(ld, ld.where("calendars", i, e), e)
    ld.report.counts["calendars"] = len(entries)
