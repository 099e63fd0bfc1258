"""SLA rules: policies and calendars read from the database (parsed once per process by
:mod:`.parse`), and storing loaded ones."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from ...domain import models
from ...store import queries as q
from ..context import Ctx
from .parse import (
    CALENDAR_SQL,
    POLICY_SQL,
    Rules,
    calendar_from_row,
    policy_from_row,
    rules_from_rows,
)

__all__ = [
    "Rules",
    "as_utc",
    "calendar_from_row",
    "load_rules",
    "policy_from_row",
    "save_calendar_in",
    "save_policy_in",
]

POLICY = models.SlaPolicy.__table__
CAL = models.BusinessCalendar.__table__


def load_rules(conn: Connection) -> Rules:
    """All policies (in match order) and calendars.

    Runs on every write, so it is two raw reads of two small tables and a dictionary
    lookup; parsing (zones, holidays, targets) happens once per process per change.
    """
    pol_rows = tuple(q.raw_rows(conn, POLICY_SQL))
    cal_rows = tuple(q.raw_rows(conn, CALENDAR_SQL))
    return rules_from_rows(pol_rows, cal_rows)


def as_utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


# --- saving loaded rules ---


def save_calendar_in(ctx: Ctx, values: dict[str, Any]) -> None:
    """Store a business calendar (replaced by name); ``values`` are its columns."""
    conn = ctx.conn
    existing = conn.execute(select(CAL.c.id).where(CAL.c.name == values["name"])).first()
    if existing:
        conn.execute(CAL.update().where(CAL.c.id == existing[0]).values(**values))
    else:
        conn.execute(CAL.insert().values(**values))


def save_policy_in(ctx: Ctx, values: dict[str, Any]) -> None:
    """Store an SLA policy (replaced by name); ``values`` are its columns."""
    conn = ctx.conn
    existing = conn.execute(select(POLICY.c.id).where(POLICY.c.name == values["name"])).first()
    if existing:
        conn.execute(POLICY.update().where(POLICY.c.id == existing[0]).values(**values))
    else:
        conn.execute(POLICY.insert().values(**values))
