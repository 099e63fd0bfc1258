"""SLA arithmetic: business calendars, targets, warning points, pauses.  Pure: no IO.

Every instant in and out is an aware ``datetime`` (answers are in UTC).  Working time is
*elapsed real time inside working hours*: working hours are local wall-clock ranges in the
calendar's IANA zone, converted to instants day by day, so a range that spans a DST change
counts the hours that really passed.  A local time that does not exist (the hour skipped in
spring) is read as the same time after the jump; an ambiguous one (the hour repeated in
autumn) as its first occurrence.

Targets (``parse_target``):

* a duration such as ``5m``, ``30m``, ``4h``, ``1h30m``: that much working time;
* ``Nd`` on a business calendar: N working days, i.e. the same point of the working day N
  working days later (the end of that day if it is shorter); a clock that starts at or
  before the opening of a day ends at the close of its Nth working day.  On ``24x7``, 24 h;
* ``same business day``: the close of the working day on which the clock starts; if it
  starts after that day's close (or on a day off), the close of the next working day.
  Starting before opening counts as that day;
* ``next business day``: the close of the first working day after the start's date.

A due time is always the *earliest* instant at which the target is used up, so 30 working
minutes from 16:30 on a 09:00-17:00 day is 17:00 that day, not 09:00 the next.

Warning points (``parse_warn``): ``80%`` (of the target's working time used) or ``10m``
(working time left).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS = "24x7"
#: How far the engine looks for working time before it gives up (a calendar with no
#: working day in ten years is a configuration error, not a deadline).
MAX_DAYS = 3660

STATES = ("ok", "warning", "breached", "met", "paused")


class SlaError(ValueError):
    """A calendar, target or warning value that cannot be used; the message says why."""


# --- parsing -------------------------------------------------------------------------

_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_clock(text: str, *, end: bool = False) -> int:
    """``"09:30"`` -> minutes after midnight.  ``24:00`` only as the end of a range."""
    m = _CLOCK.match(text.strip())
    if not m:
        raise SlaError(f"{text.strip()!r} is not a time of day (HH:MM)")
    hh, mm = int(m.group(1)), int(m.group(2))
    if mm > 59 or hh > 24 or (hh == 24 and (mm or not end)):
        raise SlaError(f"{text.strip()!r} is not a valid time of day")
    return hh * 60 + mm


def parse_ranges(spec: Any) -> tuple[tuple[int, int], ...]:
    """``"09:00-12:00, 13:00-17:30"`` (or a list of ranges, or ``""``/``"closed"``)."""
    if spec is None:
        return ()
    if isinstance(spec, str):
        parts = [p for p in spec.split(",") if p.strip()]
    elif isinstance(spec, list | tuple):
        parts = []
        for p in spec:
            if not isinstance(p, str):
                raise SlaError(f"hours must be text like '09:00-17:00' (got {p!r})")
            parts.extend(x for x in p.split(",") if x.strip())
    else:
        raise SlaError(f"hours must be text like '09:00-17:00' (got {spec!r})")
    if len(parts) == 1 and parts[0].strip().lower() in ("closed", "off", "none"):
        return ()
    ranges: list[tuple[int, int]] = []
    for part in parts:
        bits = part.strip().split("-")
        if len(bits) != 2:
            raise SlaError(f"{part.strip()!r} is not a range like '09:00-17:00'")
        a, b = parse_clock(bits[0]), parse_clock(bits[1], end=True)
        if b <= a:
            raise SlaError(
                f"{part.strip()!r} ends before it starts (split a night shift over two days)"
            )
        ranges.append((a, b))
    ranges.sort()
    for (a1, b1), (a2, b2) in zip(ranges, ranges[1:], strict=False):
        if a2 < b1:
            raise SlaError(f"hours {_fmt(a1)}-{_fmt(b1)} and {_fmt(a2)}-{_fmt(b2)} overlap")
    return tuple(ranges)


def _fmt(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _weekday(name: str, key: str) -> int:
    n = name.strip().lower()
    if n in WEEKDAYS:
        return WEEKDAYS.index(n)
    if n in _FULL_DAYS:
        return _FULL_DAYS.index(n)
    raise SlaError(f"unknown weekday {key!r} (use mon, tue, wed, thu, fri, sat, sun or 'mon-fri')")


def _day_keys(key: str) -> list[int]:
    """``mon`` / ``monday`` -> [0]; ``mon-fri`` -> [0..4]."""
    if "-" in key:
        a, _, b = key.partition("-")
        i, j = _weekday(a, key), _weekday(b, key)
        if j < i:
            raise SlaError(f"weekday range {key!r} runs backwards")
        return list(range(i, j + 1))
    return [_weekday(key, key)]


def parse_hours(hours: Mapping[str, Any]) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Weekday -> ranges, as 7 tuples (Monday first).  Days not named are closed."""
    if not isinstance(hours, Mapping):
        raise SlaError('hours must be a table like { mon = "09:00-17:00", ... }')
    week: list[tuple[tuple[int, int], ...] | None] = [None] * 7
    for key, spec in hours.items():
        try:
            ranges = parse_ranges(spec)
        except SlaError as exc:
            raise SlaError(f"hours.{key}: {exc}") from None
        for d in _day_keys(str(key)):
            if week[d] is not None:
                raise SlaError(f"hours for {WEEKDAYS[d]} are given twice")
            week[d] = ranges
    return tuple(w or () for w in week)


def parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise SlaError(f"holiday {value!r} is not a date (YYYY-MM-DD)") from None


def zone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name.strip():
        raise SlaError("timezone must be an IANA zone name such as 'Europe/London'")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise SlaError(
            f"unknown time zone {name!r} (use an IANA name such as 'Europe/London')"
        ) from None


@lru_cache(maxsize=64)
def _country_holidays(country: str, subdivision: str | None) -> Any:
    import holidays

    try:
        return holidays.country_holidays(country, subdiv=subdivision)
    except (NotImplementedError, KeyError) as exc:
        if subdivision:
            raise SlaError(
                f"unknown country {country!r} or subdivision {subdivision!r} for public holidays"
            ) from exc
        raise SlaError(
            f"unknown country {country!r} for public holidays (use ISO codes such as 'GB')"
        ) from exc


# --- calendars -----------------------------------------------------------------------


@dataclass(frozen=True)
class Calendar:
    """Working hours per weekday in a zone, minus holidays.  ``always`` is 24x7."""

    name: str
    tz: ZoneInfo
    week: tuple[tuple[tuple[int, int], ...], ...] = ((),) * 7
    holidays: frozenset[date] = frozenset()
    country: str | None = None
    subdivision: str | None = None
    always: bool = False
    _days: dict[date, tuple[tuple[datetime, datetime], ...]] = field(
        default_factory=dict, compare=False, repr=False, hash=False
    )

    def is_holiday(self, day: date) -> bool:
        if day in self.holidays:
            return True
        if self.country:
            return day in _country_holidays(self.country, self.subdivision)
        return False

    def intervals_on(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """Working intervals of a local date, as UTC instants (cached)."""
        cached = self._days.get(day)
        if cached is not None:
            return cached
        if self.always:
            out: tuple[tuple[datetime, datetime], ...] = (
                (_instant(day, 0, self.tz), _instant(day, 1440, self.tz)),
            )
        elif self.is_holiday(day):
            out = ()
        else:
            spans = []
            for a, b in self.week[day.weekday()]:
                ua, ub = _instant(day, a, self.tz), _instant(day, b, self.tz)
                if ub > ua:
                    spans.append((ua, ub))
            out = tuple(spans)
        if len(self._days) > 4096:
            self._days.clear()
        self._days[day] = out
        return out

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self.tz).date()

    def is_working(self, at: datetime) -> bool:
        """Inside a working interval (start inclusive, end exclusive)."""
        return any(a <= at < b for a, b in self.intervals_on(self.local_date(at)))

    def describe(self) -> str:
        if self.always:
            return "24x7"
        days = []
        for i, ranges in enumerate(self.week):
            if ranges:
                days.append(f"{WEEKDAYS[i]} " + ",".join(f"{_fmt(a)}-{_fmt(b)}" for a, b in ranges))
        return f"{self.tz.key}: " + "; ".join(days)


def _instant(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    if minutes >= 1440:
        day, minutes = day + timedelta(days=1), minutes - 1440
    local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=tz)
    return local.astimezone(UTC)


ALWAYS_CALENDAR = Calendar(name=ALWAYS, tz=ZoneInfo("UTC"), always=True)


def make_calendar(
    name: str,
    timezone: str = "UTC",
    hours: Mapping[str, Any] | None = None,
    holidays: Iterable[Any] = (),
    country: str | None = None,
    subdivision: str | None = None,
) -> Calendar:
    """Validate and build a calendar; raises SlaError with the reason."""
    if name == ALWAYS:
        raise SlaError("'24x7' is built in and cannot be redefined")
    tz = zone(timezone)
    week = parse_hours(hours or {})
    if not any(week):
        raise SlaError("a calendar needs working hours on at least one weekday")
    if isinstance(holidays, str):
        raise SlaError("holidays must be a list of dates")
    days = frozenset(parse_date(h) for h in holidays)
    if country is not None:
        if not isinstance(country, str) or not country.strip():
            raise SlaError("country must be an ISO code such as 'GB'")
        country = country.strip().upper()
        subdivision = (
            subdivision.strip() if isinstance(subdivision, str) and subdivision.strip() else None
        )
        _country_holidays(country, subdivision)
    elif subdivision:
        raise SlaError("subdivision needs a country")
    return Calendar(
        name=name, tz=tz, week=week, holidays=days, country=country, subdivision=subdivision
    )


# --- walking working time ------------------------------------------------------------


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("SLA arithmetic needs aware datetimes")
    return at.astimezone(UTC)


def intervals_from(cal: Calendar, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Working intervals forward from ``start`` (the first one clipped to start)."""
    start = _aware(start)
    day = cal.local_date(start) - timedelta(days=1)
    for _ in range(MAX_DAYS):
        for a, b in cal.intervals_on(day):
            if b <= start:
                continue
            yield max(a, start), b
        day += timedelta(days=1)
    raise SlaError(f"calendar {cal.name!r} has no working time within {MAX_DAYS} days")


def intervals_before(cal: Calendar, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Working intervals backward from ``end`` (latest first, the first clipped to end)."""
    end = _aware(end)
    day = cal.local_date(end) + timedelta(days=1)
    for _ in range(MAX_DAYS):
        for a, b in reversed(cal.intervals_on(day)):
            if a >= end:
                continue
            yield a, min(b, end)
        day -= timedelta(days=1)
    raise SlaError(f"calendar {cal.name!r} has no working time within {MAX_DAYS} days")


def add_working(cal: Calendar, start: datetime, seconds: float) -> datetime:
    """The earliest instant at which ``seconds`` of working time have passed since start."""
    start = _aware(start)
    if seconds <= 0:
        return start
    if cal.always:
        return start + timedelta(seconds=seconds)
    left = timedelta(seconds=seconds)
    for a, b in intervals_from(cal, start):
        if b - a >= left:
            return a + left
        left -= b - a
    raise AssertionError("unreachable")  # pragma: no cover


def sub_working(cal: Calendar, end: datetime, seconds: float) -> datetime:
    """The latest instant that leaves ``seconds`` of working time before ``end``."""
    end = _aware(end)
    if seconds <= 0:
        return end
    if cal.always:
        return end - timedelta(seconds=seconds)
    left = timedelta(seconds=seconds)
    for a, b in intervals_before(cal, end):
        if b - a >= left:
            return b - left
        left -= b - a
    raise AssertionError("unreachable")  # pragma: no cover


def working_seconds(cal: Calendar, start: datetime, end: datetime) -> float:
    """Working time between two instants (negative if end is before start)."""
    start, end = _aware(start), _aware(end)
    if end < start:
        return -working_seconds(cal, end, start)
    if cal.always:
        return (end - start).total_seconds()
    total = timedelta(0)
    day = cal.local_date(start) - timedelta(days=1)
    last = cal.local_date(end) + timedelta(days=1)
    while day <= last:
        for a, b in cal.intervals_on(day):
            lo, hi = max(a, start), min(b, end)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total.total_seconds()


def _working_days_from(cal: Calendar, day: date) -> Iterator[date]:
    for _ in range(MAX_DAYS):
        if cal.intervals_on(day):
            yield day
        day += timedelta(days=1)
    raise SlaError(f"calendar {cal.name!r} has no working day within {MAX_DAYS} days")


def close_of(cal: Calendar, day: date) -> datetime:
    return cal.intervals_on(day)[-1][1]


def end_of_business_day(cal: Calendar, start: datetime, *, next_day: bool = False) -> datetime:
    """Close of the start's working day (``same business day``) or of the one after."""
    start = _aware(start)
    today = cal.local_date(start)
    if not next_day and cal.intervals_on(today) and start < close_of(cal, today):
        return close_of(cal, today)
    day = next(_working_days_from(cal, today + timedelta(days=1)))
    return close_of(cal, day)


def add_working_days(cal: Calendar, start: datetime, days: int) -> datetime:
    """``days`` working days after start (see the module docstring)."""
    start = _aware(start)
    if days <= 0:
        return start
    if cal.always:
        return start + timedelta(days=days)
    first_a, first_b = next(intervals_from(cal, start))
    day0 = cal.local_date(first_a)
    # A working day's intervals can start before local midnight only through DST oddities;
    # the day an interval belongs to is the local date of its start.
    opening = cal.intervals_on(day0)[0][0]
    offset = working_seconds(cal, opening, max(start, first_a)) if start > opening else 0.0
    seq = _working_days_from(cal, day0)
    next(seq)  # day0 itself
    if offset <= 0:
        target = day0
        for _ in range(days - 1):
            target = next(seq)
        return close_of(cal, target)
    target = day0
    for _ in range(days):
        target = next(seq)
    spans = cal.intervals_on(target)
    length = sum((b - a).total_seconds() for a, b in spans)
    if offset >= length:
        return spans[-1][1]
    return add_working(cal, spans[0][0], offset)


# --- targets and warnings ------------------------------------------------------------

_PART = re.compile(r"(\d+(?:\.\d+)?)(d|h|m|s)")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_UNIT_WORDS = {
    "days": "d",
    "day": "d",
    "hours": "h",
    "hour": "h",
    "hrs": "h",
    "hr": "h",
    "minutes": "m",
    "minute": "m",
    "mins": "m",
    "min": "m",
    "seconds": "s",
    "second": "s",
    "secs": "s",
    "sec": "s",
}


def parse_duration_parts(text: str) -> tuple[int, float]:
    """``"1d4h"`` -> (1, 14400.0): whole days apart (working days), the rest in seconds."""
    s = str(text).strip().lower()
    for word, unit in sorted(_UNIT_WORDS.items(), key=lambda kv: -len(kv[0])):
        s = re.sub(rf"(?<=\d)\s*{word}\b", unit, s)
    s = s.replace(" ", "")
    if not s or _PART.sub("", s):
        raise SlaError(f"{str(text).strip()!r} is not a duration (use e.g. 5m, 30m, 4h, 2d, 1h30m)")
    days, secs = 0, 0.0
    seen: set[str] = set()
    for num, unit in _PART.findall(s):
        if unit in seen:
            raise SlaError(f"{str(text).strip()!r} repeats the unit {unit!r}")
        seen.add(unit)
        if unit == "d":
            if "." in num:
                raise SlaError(
                    f"{str(text).strip()!r}: days must be whole (use hours for part of a day)"
                )
            days = int(num)
        else:
            secs += float(num) * _UNITS[unit]
    total = days * 86400 + secs
    if total <= 0:
        raise SlaError(f"{str(text).strip()!r} must be longer than zero")
    if total > 3 * 365 * 86400:
        raise SlaError(f"{str(text).strip()!r} is longer than three years")
    return days, secs


@dataclass(frozen=True)
class Target:
    """A deadline rule.  ``kind``: duration, same_day or next_day."""

    text: str
    kind: Literal["duration", "same_day", "next_day"] = "duration"
    days: int = 0
    seconds: float = 0.0

    def due(self, cal: Calendar, start: datetime) -> datetime:
        if self.kind == "same_day":
            return end_of_business_day(cal, start)
        if self.kind == "next_day":
            return end_of_business_day(cal, start, next_day=True)
        at = add_working_days(cal, start, self.days) if self.days else _aware(start)
        return add_working(cal, at, self.seconds)


def parse_target(text: Any) -> Target:
    if not isinstance(text, str) or not text.strip():
        raise SlaError(f"{text!r} is not a target (use e.g. 30m, 4h, 2d, 'same business day')")
    words = " ".join(text.strip().lower().replace("_", " ").replace("-", " ").split())
    if words in ("same business day", "same day", "end of business day", "end of day"):
        return Target(text=text.strip(), kind="same_day")
    if words in ("next business day", "next day"):
        return Target(text=text.strip(), kind="next_day")
    days, secs = parse_duration_parts(text)
    return Target(text=text.strip(), kind="duration", days=days, seconds=secs)


@dataclass(frozen=True)
class Warn:
    """``fraction`` of the target used (0 < f < 1), or ``left`` seconds of working time."""

    text: str
    fraction: float | None = None
    left: float | None = None

    def at(self, cal: Calendar, start: datetime, due: datetime) -> datetime:
        """When the warning starts for a target running from ``start`` to ``due``."""
        if self.fraction is not None:
            total = working_seconds(cal, start, due)
            return add_working(cal, start, total * self.fraction)
        point = sub_working(cal, due, self.left or 0)
        return max(point, _aware(start))


def parse_warn(text: Any) -> Warn:
    if not isinstance(text, str) or not text.strip():
        raise SlaError(f"warn_at {text!r} must be a percentage used ('80%') or a time left ('10m')")
    s = text.strip()
    if s.endswith("%"):
        try:
            pct = float(s[:-1])
        except ValueError:
            raise SlaError(f"warn_at {text!r} is not a percentage") from None
        if not 0 < pct < 100:
            raise SlaError(f"warn_at {text!r} must be between 0% and 100%")
        return Warn(text=s, fraction=pct / 100)
    try:
        days, secs = parse_duration_parts(s)
    except SlaError:
        raise SlaError(
            f"warn_at {text!r} must be a percentage used ('80%') or a time left ('10m')"
        ) from None
    return Warn(text=s, left=days * 86400 + secs)


# --- pauses and state ----------------------------------------------------------------


def extend_for_pause(
    cal: Calendar, due: datetime | None, paused_at: datetime, resumed_at: datetime
) -> datetime | None:
    """Push ``due`` out by the working time paused.  A breach before the pause stands."""
    if due is None:
        return None
    due = _aware(due)
    if due <= _aware(paused_at) or resumed_at <= paused_at:
        return due
    return add_working(cal, due, working_seconds(cal, paused_at, resumed_at))


def target_state(
    now: datetime,
    due: datetime | None,
    warn: datetime | None = None,
    met_at: datetime | None = None,
    paused_since: datetime | None = None,
) -> str | None:
    """ok / warning / breached / met / paused for one target (None without a target).

    A target met after its due time is ``breached`` (that is what its history says).
    """
    if due is None:
        return None
    if met_at is not None:
        return "met" if met_at <= due else "breached"
    if paused_since is not None:
        return "breached" if paused_since >= due else "paused"
    if now >= due:
        return "breached"
    if warn is not None and now >= warn:
        return "warning"
    return "ok"


# --- policies ------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    name: str
    position: int = 0
    queue_id: int | None = None
    kinds: frozenset[str] = frozenset()
    priorities: frozenset[int] = frozenset()
    calendar: str = ALWAYS
    first_response: Target | None = None
    resolution: Target | None = None
    warn: Warn = field(default_factory=lambda: parse_warn("80%"))
    pause_in: frozenset[str] = frozenset()

    def matches(self, queue_id: int | None, kind: str | None, priority: int | None) -> bool:
        if self.queue_id is not None and self.queue_id != queue_id:
            return False
        if self.kinds and kind not in self.kinds:
            return False
        if self.priorities and priority not in self.priorities:
            return False
        return True


def match_policy(
    policies: Iterable[Policy], queue_id: int | None, kind: str | None, priority: int | None
) -> Policy | None:
    """The first matching policy by position (then name)."""
    for p in sorted(policies, key=lambda p: (p.position, p.name)):
        if p.matches(queue_id, kind, priority):
            return p
    return None


def format_remaining(seconds: float) -> str:
    """The one time format (countdowns, ages, the CLI and the dashboard alike):
    ``45s``, ``5m``, ``2h05m``, ``3d04h``, with a leading ``-`` when past."""
    neg = seconds < 0
    s = int(abs(seconds))
    if s < 60:
        text = f"{s}s"
    elif s < 3600:
        text = f"{s // 60}m"
    elif s < 86400:
        text = f"{s // 3600}h{(s % 3600) // 60:02d}m"
    else:
        text = f"{s // 86400}d{(s % 86400) // 3600:02d}h"
    return f"-{text}" if neg else text
