"""The ``[[people]]`` section: people are added, or updated when the handle exists."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ...domain import fields
from ...errors import OpsError
from ...store import definitions as defs
from .. import people as people_svc
from .base import LoadError, Loading, known, no_repeats, require

PERSON_KEYS = {"handle", "name", "team", "capacity", "skills", "login", "email", "active", "away"}


def _shift_date(value: Any, ld: Loading) -> Any:
    if value is None:
        return None
    day = fields.parse_date(value)
    return day + timedelta(days=round(ld.shift.total_seconds() / 86400))


def load_people(ld: Loading, entries: list[dict[str, Any]]) -> None:
    no_repeats(ld, "people", entries, "handle")
    for i, e in enumerate(entries):
        where = ld.where("people", i, e, "handle")
        known(e, PERSON_KEYS, where)
        require(e, ("handle",), where)
        away = [
            {
                **a,
                "start": _shift_date(a.get("start"), ld),
                "end": _shift_date(a.get("end") or a.get("start"), ld),
            }
            for a in e.get("away", [])
        ]
        try:
            pid = defs.person_id(ld.ctx.conn, e["handle"])
            if pid is not None:
                people_svc.update_loaded_person_in(ld.ctx, pid, **{**e, "away": away})
            else:
                people_svc.add_person_in(
                    ld.ctx, **{**{k: v for k, v in e.items() if k != "away"}, "away": away}
                )
        except OpsError as exc:
            raise LoadError(f"{where}: {exc}") from None
    ld.report.counts["people"] = len(entries)
