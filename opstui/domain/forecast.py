"""Forecast: when will each open item likely be finished, and which will miss their date.

Pure arithmetic, no IO.  The rules, in one place:

* **Work order** (how a person will likely take their work): items with an SLA target
  (breached or running) first, soonest target first; then the rest by priority (P1 first),
  then age (oldest first); the key breaks ties so the order is total and stable.
* **Remaining hours** of an item are computed by the caller (estimate less time logged,
  never below a floor); an item without an estimate counts
  :data:`opstui.domain.figures.DEFAULT_ESTIMATE_HOURS`.
* **Working time**: a person works on the working days of their calendar (an SLA
  :class:`~opstui.domain.sla.Calendar`), minus the days they are away.  A working day yields
  ``capacity_hours / working days per week x focus`` hours of work, spread evenly over that
  day's working intervals.  ``focus`` is the share of working time that goes to queue work:
  learnt from logged time by :func:`learn_focus`, or a configured default.
* **Projected finish** of an item: walking the person's remaining hours, in work order,
  through that working time from ``now``.  Work that does not finish within
  :data:`HORIZON_DAYS` has no finish (``None``: "beyond the horizon").
* **Unowned items** are walked after the queue's triage owner's own work (marked
  ``via_triage``); without a triage owner they are **unplanned** (no finish).
* **Drifting**: an item whose target (the earlier of its due date and its SLA resolution
  target; a first-response target only orders the work) is
  still ahead, and whose projected finish is after it (or that has no finish at all).  The
  **margin** is finish minus target.  An item whose target has already passed is breached
  or late, not drifting.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from .figures import DEFAULT_ESTIMATE_HOURS
from .sla import ALWAYS, Calendar, Policy, SlaError, make_calendar, parse_duration_parts

#: Without a business calendar: Monday to Friday, 09:00-17:00 UTC.
OFFICE_HOURS = make_calendar("office-hours", "UTC", {"mon-fri": "09:00-17:00"})
HORIZON_DAYS = 366
DEFAULT_FOCUS = 0.7
FOCUS_MIN = 0.2
FOCUS_MAX = 1.0
#: Below this many available hours in the learning period, logged time says too little.
FOCUS_MIN_BASIS_HOURS = 16.0
_FAR = datetime.max.replace(tzinfo=UTC)
#: A logged "1d" is a working day of this many hours (Jira's default too).
WORKDAY_HOURS = 8.0
#: Remaining work of an open item never goes below this (hours), even when more time has
#: been logged than estimated: an open item is not finished.
REMAINING_FLOOR_HOURS = 0.5
MAX_LOG_SECONDS = 24 * 3600


def parse_time_spent(text: str) -> int:
    """``"1h30m"`` -> 5400 seconds; ``"1d"`` is :data:`WORKDAY_HOURS`.  Raises ValueError."""
    try:
        days, secs = parse_duration_parts(text)
    except SlaError as exc:
        raise ValueError(str(exc)) from None
    total = round(days * WORKDAY_HOURS * 3600 + secs)
    if total < 60:
        raise ValueError(f"{str(text).strip()!r} is less than a minute")
    if total > MAX_LOG_SECONDS:
        raise ValueError(f"{str(text).strip()!r} is more than 24 hours in one entry")
    return total


def remaining_hours(
    estimate: float | None,
    logged_hours: float,
    floor: float = REMAINING_FLOOR_HOURS,
    default_estimate: float = DEFAULT_ESTIMATE_HOURS,
) -> tuple[float, bool]:
    """(remaining hours, over estimate): estimate less time logged, never below ``floor``.

    An item without an estimate counts ``default_estimate`` (the capacity rules' default).
    """
    planned = default_estimate if estimate is None else float(estimate)
    left = planned - max(0.0, logged_hours)
    over = logged_hours > planned
    return max(floor, left), over


@dataclass(frozen=True)
class Worker:
    handle: str
    capacity_hours: float
    focus: float = DEFAULT_FOCUS
    calendar: Calendar = OFFICE_HOURS
    #: Inclusive (start, end) local dates of time off.
    away: tuple[tuple[date, date], ...] = ()
    active: bool = True


@dataclass(frozen=True)
class WorkItem:
    key: str
    owner: str | None
    remaining_hours: float
    created_at: datetime
    priority: int = 3
    queue: str = ""
    #: Soonest open SLA target (first response or resolution), breached or running: what
    #: puts the item at the front of the work order.
    sla_due_at: datetime | None = None
    #: An explicit due date.
    due_at: datetime | None = None
    #: The open SLA resolution target (a first-response target does not need the work done).
    resolve_by: datetime | None = None

    @property
    def target_at(self) -> datetime | None:
        """What the work must be finished by: the earlier of its due date and its SLA
        resolution target."""
        dates = [d for d in (self.due_at, self.resolve_by) if d is not None]
        return min(dates) if dates else None


@dataclass(frozen=True)
class Projection:
    key: str
    #: Whose work queue the item was walked through (the owner, or the triage owner).
    planner: str | None
    #: Position in the planner's work order (0 first); None when unplanned.
    position: int | None
    finish_at: datetime | None
    target_at: datetime | None
    via_triage: bool = False
    #: Not walked at all: unowned without a triage owner, or the owner cannot work.
    unplanned: bool = False

    @property
    def margin(self) -> timedelta | None:
        """Finish minus target (positive = late); None without both."""
        if self.finish_at is None or self.target_at is None:
            return None
        return self.finish_at - self.target_at

    def drifting(self, now: datetime) -> bool:
        target = self.target_at
        if target is None or target <= now:
            return False
        return self.finish_at is None or self.finish_at > target


@dataclass(frozen=True)
class Forecast:
    now: datetime
    projections: Mapping[str, Projection] = field(default_factory=dict)

    def drifting(self) -> list[Projection]:
        """Drifting items, the latest (worst margin) first; no finish counts as worst."""
        out = [p for p in self.projections.values() if p.drifting(self.now)]
        return sorted(
            out,
            key=lambda p: (
                p.finish_at is not None,
                -(p.margin or timedelta(0)).total_seconds(),
                p.key,
            ),
        )


_LATE = re.compile(r": ((?:\d+[dhms])+) late$")
_UNIT = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def late_by(said: str | None) -> float | None:
    """How late a drift statement (``services.forecast.describe``, kept in the item's
    latest ``drifting`` event) says the item will finish, in seconds: ``inf`` when it
    has no finish at all (unplanned, or none within the horizon); None when it says
    nothing late.  The SLA pane orders drifting items by it."""
    if not said:
        return None
    m = _LATE.search(said)
    if m:
        return float(sum(int(n) * _UNIT[u] for n, u in re.findall(r"(\d+)([dhms])", m.group(1))))
    if said.startswith(("unplanned", "no finish")):
        return math.inf
    return None


def order_key(item: WorkItem) -> tuple:
    """Sort key of :func:`work_order` (see the module rules)."""
    if item.sla_due_at is not None:
        return (0, item.sla_due_at, 0, item.created_at, item.key)
    return (1, _FAR, item.priority, item.created_at, item.key)


def work_order(items: Iterable[WorkItem]) -> list[WorkItem]:
    return sorted(items, key=order_key)


def team_calendar(policies: Iterable[Policy], calendars: Mapping[str, Calendar]) -> Calendar:
    """The working calendar people are planned on: the business calendar most SLA
    policies use (ties: by name); :data:`OFFICE_HOURS` when there is none."""
    uses: dict[str, int] = defaultdict(int)
    for p in policies:
        if p.calendar != ALWAYS and p.calendar in calendars:
            uses[p.calendar] += 1
    if not uses:
        named = sorted(c for c in calendars if c != ALWAYS)
        return calendars[named[0]] if named else OFFICE_HOURS
    best = sorted(uses.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    return calendars[best]


def learn_focus(
    logged_hours: float,
    available_hours: float,
    default: float = DEFAULT_FOCUS,
) -> float:
    """Share of available working time that logged time shows went to queue work.

    Clamped to [FOCUS_MIN, FOCUS_MAX]; the default when the basis is too small to say.
    """
    if available_hours < FOCUS_MIN_BASIS_HOURS or logged_hours <= 0:
        return default
    return max(FOCUS_MIN, min(FOCUS_MAX, logged_hours / available_hours))


def _working_days_per_week(cal: Calendar) -> int:
    if cal.always:
        return 7
    return sum(1 for ranges in cal.week if ranges) or 1


def _away(worker: Worker, day: date) -> bool:
    return any(a <= day <= b for a, b in worker.away)


def _slices(
    worker: Worker, start: datetime, *, focus: bool = True
) -> Iterator[tuple[datetime, datetime, float]]:
    """(from, to, hours of work per second) from ``start`` on, up to the horizon."""
    cal = worker.calendar
    daily = worker.capacity_hours / _working_days_per_week(cal)
    if focus:
        daily *= worker.focus
    if daily <= 0 or not worker.active:
        return
    start = start.astimezone(UTC)
    first = cal.local_date(start)
    for offset in range(-1, HORIZON_DAYS + 1):
        day = first + timedelta(days=offset)
        if _away(worker, day):
            continue
        spans = cal.intervals_on(day)
        total = sum((b - a).total_seconds() for a, b in spans)
        if total <= 0:
            continue
        rate = daily / total
        for a, b in spans:
            if b <= start:
                continue
            yield max(a, start), b, rate


def available_hours(worker: Worker, start: datetime, end: datetime) -> float:
    """Working hours a person has in ``[start, end)``: capacity spread over their calendar's
    working days, less time away (no focus factor: the basis focus is learnt against)."""
    total = 0.0
    for a, b, rate in _slices(worker, start, focus=False):
        if a >= end:
            break
        total += (min(b, end) - a).total_seconds() * rate
    return total


def _walk(worker: Worker, items: Sequence[WorkItem], now: datetime) -> list[datetime | None]:
    """Finish instants of items taken one after another (None past the horizon)."""
    out: list[datetime | None] = []
    slices = _slices(worker, now)
    current: tuple[datetime, datetime, float] | None = next(slices, None)
    pos = now.astimezone(UTC) if current is None else current[0]
    never = False
    for item in items:
        left = max(0.0, item.remaining_hours)
        while current is not None and not never:
            start, end, rate = current
            pos = max(pos, start)
            can = (end - pos).total_seconds() * rate
            if can >= left:
                pos = pos + timedelta(seconds=left / rate)
                left = 0.0
                break
            left -= can
            current = next(slices, None)
        # Behind an item that never finishes, nothing finishes either.
        never = never or left > 0
        out.append(None if never else pos)
    return out


def forecast(
    workers: Iterable[Worker],
    items: Iterable[WorkItem],
    now: datetime,
    triage: Mapping[str, str] | None = None,
) -> Forecast:
    """Project a finish for every item (see the module rules).

    ``triage`` maps a queue to its triage owner's handle, for unowned items.
    """
    triage = triage or {}
    by_handle = {w.handle: w for w in workers}
    own: dict[str, list[WorkItem]] = defaultdict(list)
    via: dict[str, list[WorkItem]] = defaultdict(list)
    out: dict[str, Projection] = {}
    for item in items:
        if item.owner is not None:
            own[item.owner].append(item)
            continue
        planner = triage.get(item.queue)
        if planner is None:
            out[item.key] = Projection(item.key, None, None, None, item.target_at, unplanned=True)
        else:
            via[planner].append(item)
    for handle in sorted(set(own) | set(via)):
        queue = work_order(own.get(handle, ())) + work_order(via.get(handle, ()))
        triaged = {i.key for i in via.get(handle, ())}
        worker = by_handle.get(handle)
        if worker is None or not worker.active:
            for item in queue:
                out[item.key] = Projection(
                    item.key,
                    handle,
                    None,
                    None,
                    item.target_at,
                    via_triage=item.key in triaged,
                    unplanned=True,
                )
            continue
        for position, (item, finish) in enumerate(
            zip(queue, _walk(worker, queue, now), strict=True)
        ):
            out[item.key] = Projection(
                item.key,
                handle,
                position,
                finish,
                item.target_at,
                via_triage=item.key in triaged,
            )
    return Forecast(now=now, projections=out)


# --- rescues -------------------------------------------------------------------------


@dataclass(frozen=True)
class Rescue:
    """Moving a drifting item to another person brings it back on time."""

    key: str
    from_handle: str | None
    to_handle: str
    finish_before: datetime | None
    finish_after: datetime
    target_at: datetime


def _drift_count(fc: Forecast, handle: str) -> int:
    return sum(1 for p in fc.projections.values() if p.planner == handle and p.drifting(fc.now))


def suggest_rescues(
    workers: Sequence[Worker],
    items: Sequence[WorkItem],
    now: datetime,
    can_take: Callable[[WorkItem, str], bool],
    triage: Mapping[str, str] | None = None,
    limit: int = 50,
) -> list[Rescue]:
    """The smallest set of reassignments that brings the most drifting items back on time.

    Greedy, soonest target first: each drifting item goes to the person (who ``can_take``
    it: skills, active) with whom it would finish earliest on time, provided the move makes
    none of that person's own work drift; the move is then part of the plan the next item
    is weighed against.  An item no one can save is left out.
    """
    current = list(items)
    base = forecast(workers, current, now, triage)
    drifting = sorted(
        (p for p in base.projections.values() if p.drifting(now)),
        key=lambda p: (p.target_at, p.key),
    )
    by_key = {i.key: n for n, i in enumerate(current)}
    plan = base
    out: list[Rescue] = []
    for proj in drifting:
        if len(out) >= limit:
            break
        # A move earlier in the plan may already have brought this one back.
        now_proj = plan.projections[proj.key]
        if not now_proj.drifting(now):
            continue
        n = by_key[proj.key]
        item = current[n]
        best: tuple[datetime, str, Forecast] | None = None
        for worker in workers:
            h = worker.handle
            if h == now_proj.planner or not worker.active or not can_take(item, h):
                continue
            trial = current.copy()
            trial[n] = replace(item, owner=h)
            involved = {h, now_proj.planner}
            subset = [i for i in trial if i.owner in involved or i.owner is None]
            after = forecast(workers, subset, now, triage)
            moved = after.projections[item.key]
            if moved.drifting(now) or moved.finish_at is None:
                continue
            if _drift_count(after, h) > _drift_count(plan, h):
                continue
            if best is None or (moved.finish_at, h) < (best[0], best[1]):
                best = (moved.finish_at, h, after)
        if best is None:
            continue
        finish, handle, _ = best
        current[n] = replace(item, owner=handle)
        plan = forecast(workers, current, now, triage)
        out.append(
            Rescue(item.key, item.owner, handle, now_proj.finish_at, finish, now_proj.target_at)  # type: ignore[arg-type]
        )
    return out
