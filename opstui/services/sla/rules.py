"""SLA rules: policies and calendars read from the database and parsed once per
process (cached by their row contents), and storing loaded ones."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from ...domain import models
from ...domain import sla as dom
from ...domain.sla import ALWAYS, ALWAYS_CALENDAR, Calendar, Policy, SlaError
from ...store import queries as q
from ..context import Ctx

POLICY = models.SlaPolicy.__table__
CAL = models.BusinessCalendar.__table__


# --- rules: policies and calendars, parsed once per process --------------------------

_lock = threading.Lock()
_calendars: dict[tuple[Any, ...], Calendar] = {}
_policies: dict[tuple[Any, ...], Policy] = {}


def _cal_key(row: Any) -> tuple[Any, ...]:
    return (
        row.name,
        row.timezone,
        json.dumps(row.hours or {}, sort_keys=True),
        tuple(row.holidays or ()),
        row.country,
        row.subdivision,
    )


def calendar_from_row(row: Any) -> Calendar:
    key = _cal_key(row)
    with _lock:
        cal = _calendars.get(key)
    if cal is None:
        cal = dom.make_calendar(
            row.name,
            row.timezone,
            row.hours or {},
            row.holidays or (),
            row.country,
            row.subdivision,
        )
        with _lock:
            if len(_calendars) > 256:
                _calendars.clear()
            _calendars[key] = cal
    return cal


def policy_from_row(row: Any) -> Policy:
    key = tuple(json.dumps(v, sort_keys=True) if isinstance(v, list | dict) else v for v in row)
    with _lock:
        pol = _policies.get(key)
    if pol is None:
        pol = Policy(
            name=row.name,
            position=row.position,
            queue_id=row.queue_id,
            kinds=frozenset(row.kinds or ()),
            priorities=frozenset(int(p) for p in row.priorities or ()),
            calendar=row.calendar or ALWAYS,
            first_response=dom.parse_target(row.first_response) if row.first_response else None,
            resolution=dom.parse_target(row.resolution) if row.resolution else None,
            warn=dom.parse_warn(row.warn_at or "80%"),
            pause_in=frozenset(row.pause_in or ()),
        )
        with _lock:
            if len(_policies) > 1024:
                _policies.clear()
            _policies[key] = pol
    return pol


@dataclass(frozen=True)
class Rules:
    policies: tuple[Policy, ...]
    calendars: dict[str, Calendar]
    #: Stored rules that cannot be used (written by hand or by an older opstui): skipped,
    #: so a bad row never blocks a write; ``opstui sla`` reports them.
    problems: tuple[str, ...] = ()

    def calendar(self, name: str) -> Calendar:
        return self.calendars.get(name, ALWAYS_CALENDAR)


_rules_cache: dict[tuple[Any, ...], Rules] = {}


def load_rules(conn: Connection) -> Rules:
    """All policies (in match order) and calendars.

    Runs on every write, so it is two raw reads of two small tables and a dictionary
    lookup; parsing (zones, holidays, targets) happens once per process per change.
    """
    pol_rows = tuple(
        q.raw_rows(
            conn,
            "SELECT id, name, position, queue_id, kinds, priorities, calendar, first_response,"
            " resolution, warn_at, pause_in FROM sla_policy ORDER BY position, id",
        )
    )
    cal_rows = tuple(
        q.raw_rows(
            conn,
            "SELECT name, timezone, hours, holidays, country, subdivision FROM business_calendar",
        )
    )
    key = (pol_rows, cal_rows)
    with _lock:
        rules = _rules_cache.get(key)
    if rules is not None:
        return rules
    problems: list[str] = []
    calendars: dict[str, Calendar] = {}
    for r in cal_rows:
        try:
            calendars[r[0]] = calendar_from_row(_CalRow(*r))
        except (SlaError, TypeError, ValueError) as exc:
            problems.append(f"calendar {r[0]!r} is unusable: {exc}")
    policies: list[Policy] = []
    for r in pol_rows:
        try:
            pol = policy_from_row(_PolicyRow(*r))
        except (SlaError, TypeError, ValueError) as exc:
            problems.append(f"SLA policy {r[1]!r} is unusable: {exc}")
            continue
        if pol.calendar != ALWAYS and pol.calendar not in calendars:
            problems.append(
                f"SLA policy {pol.name!r} names a missing or unusable calendar {pol.calendar!r}"
            )
            continue
        policies.append(pol)
    rules = Rules(tuple(policies), calendars, tuple(problems))
    with _lock:
        if len(_rules_cache) > 32:
            _rules_cache.clear()
        _rules_cache[key] = rules
    return rules


def _json_value(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


@dataclass(frozen=True)
class _PolicyRow:
    id: int
    name: str
    position: int
    queue_id: int | None
    kinds: Any
    priorities: Any
    calendar: str
    first_response: str | None
    resolution: str | None
    warn_at: str
    pause_in: Any

    def __post_init__(self) -> None:
        for f in ("kinds", "priorities", "pause_in"):
            object.__setattr__(self, f, _json_value(getattr(self, f)))

    def __iter__(self) -> Any:
        return iter(
            (
                self.id,
                self.name,
                self.position,
                self.queue_id,
                json.dumps(self.kinds),
                json.dumps(self.priorities),
                self.calendar,
                self.first_response,
                self.resolution,
                self.warn_at,
                json.dumps(self.pause_in),
            )
        )


@dataclass(frozen=True)
class _CalRow:
    name: str
    timezone: str
    hours: Any
    holidays: Any
    country: str | None
    subdivision: str | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "hours", _json_value(self.hours))
        object.__setattr__(self, "holidays", _json_value(self.holidays))


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
