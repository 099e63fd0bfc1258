"""The ``[[people]]`` section: people are added, or updated when the handle exists."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ...domain import fields
from ...errors import OpsError
from ...store import definitions as defs
from .. import people as people_svc
from .base import LoadError, Loading, boolean, known, no_repeats, require, tables

PERSON_KEYS = {"handle", "name", "team", "capacity", "skills", "login", "email", "active", "away"}
PERSON_TEXT = ("handle", "name", "team", "login", "email")
AWAY_KEYS = {"start", "end", "note"}


def _shift_date(value: Any, ld: Loading) -> Any:
    if value is None:
        return None
    day = fields.parse_date(value)
    return day + timedelta(days=round(ld.shift.total_seconds() / 86400))


def _away(ld: Loading, e: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """Away periods, each ``{start, end, note}`` (end defaults to start)."""
    out = []
    for j, a in enumerate(tables(e, "away", where)):
        awhere = f"{where} away[{j}]"
        known(a, AWAY_KEYS, awhere)
        require(a, ("start",), awhere)
        if not isinstance(a.get("note", ""), str):
            raise LoadError(f"{awhere}: note must be text")
        try:
            start = _shift_date(a["start"], ld)
            end = _shift_date(a.get("end") or a["start"], ld)
        except OpsError as exc:
            raise LoadError(f"{awhere}: {exc}") from None
        out.append({"start": start, "end": end, "note": a.get("note", "")})
    return out


def load_people(ld: Loading, entries: list[dict[str, Any]]) -> None:
    no_repeats(ld, "people", entries, "handle")
    for i, e in enumerate(entries):
        where = ld.where("people", i, e, "handle")
        known(e, PERSON_KEYS, where)
        require(e, ("handle",), where)
        for k in PERSON_TEXT:
            if k in e and not isinstance(e[k], str):
                raise LoadError(f"{where}: {k} must be text (got {e[k]!r})")
        values = {**e, "active": boolean(e, "active", where, True), "away": _away(ld, e, where)}
        try:
            pid = defs.person_id(ld.ctx.conn, e["handle"])
            if pid is not None:
                people_svc.update_loaded_person_in(ld.ctx, pid, **values)
            else:
                people_svc.add_person_in(ld.ctx, **values)
        except OpsError as exc:
            raise LoadError(f"{where}: {exc}") from None
    ld.report.counts["people"] = len(entries)
