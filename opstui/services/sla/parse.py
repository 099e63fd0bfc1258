"""SLA rules from their stored rows: policies and calendars parsed once per process (cached
by their row contents).  Pure, no SQLAlchemy: :func:`.rules.load_rules` reads the rows on a
write's connection, the CLI's light read path (``opstui sla``, store.lite) on a plain
``sqlite3`` connection, and both parse them here."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from ...domain import sla as dom
from ...domain.sla import ALWAYS, ALWAYS_CALENDAR, Calendar, Policy, SlaError
from ...store.sla_sql import CALENDAR_SQL, POLICY_SQL

__all__ = ["CALENDAR_SQL", "POLICY_SQL", "Rules", "rules_from_rows"]

_lock = threading.Lock()
_calendars: dict[tuple[Any, ...], Calendar] = {}


def _remember(cache: dict[Any, Any], key: Any, value: Any, limit: int) -> None:
    """Keep ``value`` in one of the parse caches (emptied when it outgrows ``limit``)."""
    with _lock:
        if len(cache) > limit:
            cache.clear()
        cache[key] = value


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
        _remember(_calendars, key, cal, 256)
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
        _remember(_policies, key, pol, 1024)
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


def rules_from_rows(pol_rows: tuple[Any, ...], cal_rows: tuple[Any, ...]) -> Rules:
    """All policies (in match order) and calendars from the rows of :data:`POLICY_SQL` and
    :data:`CALENDAR_SQL`; parsing (zones, holidays, targets) happens once per process per
    change of the rows."""
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
    _remember(_rules_cache, key, rules, 32)
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
