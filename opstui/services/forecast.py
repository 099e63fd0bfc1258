"""Forecast, drift, estimate accuracy and the forecast backtest (rules: domain.forecast).

Reads only: each call takes a connection (or a database) and the time "now".
"""

from __future__ import annotations

import statistics
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from ..domain import forecast as fc
from ..domain.sla import Calendar, format_remaining
from ..store import queries as q
from ..store import worklog as wq
from ..store.engine import Database
from .sla.rules import load_rules

#: Focus is learnt from the time logged over this many weeks before now.
LEARN_WEEKS = 4
#: Estimate accuracy looks at items finished over this many weeks.
ACCURACY_WEEKS = 8


@dataclass(frozen=True)
class Settings:
    """What the config file may set (``[forecast]``)."""

    focus: float = fc.DEFAULT_FOCUS
    remaining_floor_hours: float = fc.REMAINING_FLOOR_HOURS


@dataclass(frozen=True)
class Row:
    key: str
    title: str
    owner: str | None
    queue: str
    priority: int
    estimate_hours: float | None
    logged_hours: float
    remaining_hours: float
    over_estimate: bool
    projection: fc.Projection
    #: The item's database id (what drift events are recorded on).
    item_id: int = 0

    @property
    def finish_at(self) -> datetime | None:
        return self.projection.finish_at

    @property
    def target_at(self) -> datetime | None:
        return self.projection.target_at


@dataclass(frozen=True)
class Focus:
    handle: str
    focus: float
    #: Learnt from logged time (else the configured default).
    learnt: bool
    logged_hours: float
    available_hours: float


@dataclass(frozen=True)
class ForecastView:
    now: datetime
    calendar: Calendar
    rows: tuple[Row, ...]
    focus: dict[str, Focus] = field(default_factory=dict)
    #: The domain inputs the rows were computed from (for what-if questions: rescues).
    workers: tuple[fc.Worker, ...] = ()
    items: tuple[fc.WorkItem, ...] = ()
    triage: dict[str, str] = field(default_factory=dict)

    def drifting(self) -> list[Row]:
        by_key = {r.key: r for r in self.rows}
        out = fc.Forecast(self.now, {r.key: r.projection for r in self.rows}).drifting()
        return [by_key[p.key] for p in out]

    def for_owner(self, handle: str) -> list[Row]:
        rows = [r for r in self.rows if r.projection.planner == handle]
        return sorted(rows, key=lambda r: r.projection.position or 0)


def _workers(
    conn: Connection, now: datetime, cal: Calendar, settings: Settings
) -> tuple[list[fc.Worker], dict[str, Focus]]:
    start = now - timedelta(weeks=LEARN_WEEKS)
    logged = wq.logged_by_person(conn, start, now)
    return _workers_of(q.list_people(conn), logged, now, cal, settings)


def _workers_of(
    people: Iterable[Any],
    logged: dict[str, float],
    now: datetime,
    cal: Calendar,
    settings: Settings,
) -> tuple[list[fc.Worker], dict[str, Focus]]:
    """Workers with the focus learnt from ``logged`` (hours per handle over the
    :data:`LEARN_WEEKS` before ``now``)."""
    start = now - timedelta(weeks=LEARN_WEEKS)
    workers, focus = [], {}
    for p in people:
        away = tuple((a[0], a[1]) for a in p.away)
        base = fc.Worker(p.handle, float(p.capacity_hours), 1.0, cal, away, bool(p.active))
        available = fc.available_hours(base, start, now)
        hours = logged.get(p.handle, 0.0)
        value = fc.learn_focus(hours, available, settings.focus)
        learnt = hours > 0 and available >= fc.FOCUS_MIN_BASIS_HOURS
        focus[p.handle] = Focus(p.handle, value, learnt, round(hours, 2), round(available, 2))
        workers.append(fc.Worker(p.handle, float(p.capacity_hours), value, cal, away, p.active))
    return workers, focus


def _work_item(w: wq.OpenWork, settings: Settings) -> tuple[fc.WorkItem, float, bool]:
    logged = w.logged_seconds / 3600
    remaining, over = fc.remaining_hours(
        w.estimate_hours, logged, floor=settings.remaining_floor_hours
    )
    targets = [
        d
        for d, state in ((w.sla_fr_due, w.sla_fr_state), (w.sla_res_due, w.sla_res_state))
        if d is not None and state not in ("met", "paused")
    ]
    item = fc.WorkItem(
        key=w.key,
        owner=w.owner,
        remaining_hours=remaining,
        created_at=w.created_at,
        priority=w.priority,
        queue=w.queue,
        sla_due_at=min(targets) if targets else None,
        due_at=w.due_at,
        resolve_by=w.sla_res_due if w.sla_res_state not in (None, "met", "paused") else None,
    )
    return item, remaining, over


def forecast_in(conn: Connection, now: datetime, settings: Settings | None = None) -> ForecastView:
    settings = settings or Settings()
    rules = load_rules(conn)
    cal = fc.team_calendar(rules.policies, rules.calendars)
    workers, focus = _workers(conn, now, cal, settings)
    open_work = wq.open_work(conn)
    items, extra = [], {}
    for w in open_work:
        item, remaining, over = _work_item(w, settings)
        items.append(item)
        extra[w.key] = (remaining, over)
    triage = wq.triage_owners(conn)
    result = fc.forecast(workers, items, now, triage)
    rows = tuple(
        Row(
            key=w.key,
            title=w.title,
            owner=w.owner,
            queue=w.queue,
            priority=w.priority,
            estimate_hours=w.estimate_hours,
            logged_hours=round(w.logged_seconds / 3600, 2),
            remaining_hours=round(extra[w.key][0], 2),
            over_estimate=extra[w.key][1],
            projection=result.projections[w.key],
            item_id=w.id,
        )
        for w in open_work
    )
    return ForecastView(
        now=now,
        calendar=cal,
        rows=rows,
        focus=focus,
        workers=tuple(workers),
        items=tuple(items),
        triage=triage,
    )


def forecast(
    db: Database, now: datetime | None = None, settings: Settings | None = None
) -> ForecastView:
    with db.read() as conn:
        return forecast_in(conn, now or db.clock.now(), settings)


# --- words ---------------------------------------------------------------------------


def _when(at: datetime, cal: Calendar) -> str:
    return at.astimezone(cal.tz).strftime("%a %d %b %H:%M")


def describe(row: Row, cal: Calendar) -> str:
    """``finishes Thu 03 Dec 14:00, due Wed 02 Dec 17:00: 21h late`` (in the team's zone)."""
    p = row.projection
    if p.target_at is None:
        due = ""
    else:
        due = f", due {_when(p.target_at, cal)}"
    if p.unplanned:
        return f"unplanned (nobody to plan it on){due}"
    if p.finish_at is None:
        return f"no finish within {fc.HORIZON_DAYS} days{due}"
    text = f"finishes {_when(p.finish_at, cal)}{due}"
    margin = p.margin
    if margin is not None:
        seconds = margin.total_seconds()
        if seconds > 0:
            text += f": {format_remaining(seconds)} late"
        else:
            text += f": {format_remaining(-seconds)} to spare"
    return text


# --- estimate accuracy ---------------------------------------------------------------


@dataclass(frozen=True)
class Accuracy:
    """Median ratio of time logged to time estimated on finished items, per group."""

    group: str
    items: int
    median_ratio: float


def _accuracy(rows: Iterable[wq.FinishedWork], key: Any) -> list[Accuracy]:
    groups: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r.logged_seconds <= 0:
            continue  # nothing logged: no evidence either way
        groups[key(r) or "(none)"].append(r.logged_seconds / 3600 / r.estimate_hours)
    return [Accuracy(g, len(v), round(statistics.median(v), 2)) for g, v in sorted(groups.items())]


def accuracy_in(
    conn: Connection, now: datetime, weeks: int = ACCURACY_WEEKS
) -> dict[str, list[Accuracy]]:
    rows = wq.finished_work(conn, now - timedelta(weeks=weeks), now)
    return {
        "person": _accuracy(rows, lambda r: r.owner),
        "kind": _accuracy(rows, lambda r: r.kind),
    }


def view_json(view: ForecastView, rows: Iterable[Row] | None = None) -> dict[str, Any]:
    """The stable ``opstui forecast --json`` shape."""

    def iso(at: datetime | None) -> str | None:
        return None if at is None else at.isoformat()

    out_rows = []
    for r in view.rows if rows is None else rows:
        p = r.projection
        margin = p.margin
        out_rows.append(
            {
                "key": r.key,
                "title": r.title,
                "owner": r.owner,
                "planned_on": p.planner,
                "via_triage": p.via_triage,
                "position": p.position,
                "queue": r.queue,
                "priority": f"P{r.priority}",
                "estimate_hours": r.estimate_hours,
                "logged_hours": r.logged_hours,
                "remaining_hours": r.remaining_hours,
                "over_estimate": r.over_estimate,
                "finish_at": iso(p.finish_at),
                "target_at": iso(p.target_at),
                "margin_hours": None if margin is None else round(margin.total_seconds() / 3600, 2),
                "drifting": p.drifting(view.now),
                "unplanned": p.unplanned,
            }
        )
    return {
        "now": view.now.isoformat(),
        "calendar": view.calendar.name,
        "focus": {
            h: {
                "focus": round(f.focus, 2),
                "learnt": f.learnt,
                "logged_hours": f.logged_hours,
                "available_hours": f.available_hours,
            }
            for h, f in sorted(view.focus.items())
        },
        "items": out_rows,
    }


# --- backtest ------------------------------------------------------------------------

#: The backtest asks what the forecast said this long before each item's date.
BACKTEST_LEAD = timedelta(weeks=1)


@dataclass(frozen=True)
class Case:
    key: str
    owner: str
    target_at: datetime
    asked_at: datetime
    predicted_finish: datetime | None
    finished_at: datetime

    @property
    def predicted_late(self) -> bool:
        return self.predicted_finish is None or self.predicted_finish > self.target_at

    @property
    def at_creation(self) -> bool:
        return self.target_at - self.asked_at < BACKTEST_LEAD

    @property
    def late(self) -> bool:
        return self.finished_at > self.target_at

    @property
    def hit(self) -> bool:
        return self.predicted_late == self.late

    @property
    def error_hours(self) -> float | None:
        if self.predicted_finish is None:
            return None
        return (self.predicted_finish - self.finished_at).total_seconds() / 3600


@dataclass(frozen=True)
class Backtest:
    weeks: int
    cases: tuple[Case, ...]
    #: Finished items with a date that could not be asked about, by reason.
    skipped: dict[str, int]

    @property
    def hit_rate(self) -> float | None:
        return sum(c.hit for c in self.cases) / len(self.cases) if self.cases else None

    @property
    def median_error_hours(self) -> float | None:
        errors = [abs(e) for c in self.cases if (e := c.error_hours) is not None]
        return round(statistics.median(errors), 1) if errors else None


def _owner_at(
    changes: list[tuple[datetime, str | None, str | None]], current: str | None, at: datetime
) -> str | None:
    before = [c for c in changes if c[0] <= at]
    if before:
        return before[-1][2]
    return changes[0][1] if changes else current


def _logged_at(
    entries: list[wq.LoggedEntry], moments: list[datetime], asked: datetime
) -> tuple[dict[int, int], dict[str, float]]:
    """As of ``asked``: seconds logged per item before it, and hours per person over the
    :data:`LEARN_WEEKS` before it (the rules of ``wq.logged_by_person``: ``start <= at
    < end``, time that is nobody's left out).  ``moments``: the entries' times, sorted."""
    start = asked - timedelta(weeks=LEARN_WEEKS)
    per_item: dict[int, int] = defaultdict(int)
    per_person: dict[str, float] = defaultdict(float)
    for e in entries[: bisect_left(moments, asked)]:
        per_item[e.item_id] += e.seconds
        if e.person is not None and e.at >= start:
            per_person[e.person] += e.seconds / 3600
    return per_item, per_person


def backtest_in(
    conn: Connection, now: datetime, weeks: int, settings: Settings | None = None
) -> Backtest:
    """For each item finished in the last ``weeks`` weeks that had a date (due date or SLA
    resolution target), what did the forecast say :data:`BACKTEST_LEAD` before that date (or
    when the item was created, if later), and was it right?  The board at that moment is rebuilt from the event log (who owned
    what, what was open, time logged by then); estimates, capacity and time away are
    today's (the log does not keep their history), and so are triage owners."""
    settings = settings or Settings()
    since = now - timedelta(weeks=weeks)
    rules = load_rules(conn)
    cal = fc.team_calendar(rules.policies, rules.calendars)
    past = wq.past_items(conn, since - BACKTEST_LEAD - timedelta(weeks=LEARN_WEEKS))
    changes = wq.owner_changes(conn, [p.id for p in past])
    triage = wq.triage_owners(conn)
    owners = {p.id: (changes.get(p.id, []), p.owner) for p in past}
    # One read each for every case: the people, and the time logged up to now.
    people = q.list_people(conn)
    entries = wq.logged_entries(conn)
    moments = [e.at for e in entries]
    cases: list[Case] = []
    skipped: dict[str, int] = defaultdict(int)
    for p in past:
        if p.resolved_at is None or not since <= p.resolved_at < now:
            continue
        dates = [d for d in (p.due_at, p.sla_res_due) if d is not None]
        if not dates:
            continue
        target = min(dates)
        # A week before its date, or when it was created if it lived less than that.
        asked = max(target - BACKTEST_LEAD, p.created_at)
        if asked >= target:
            skipped["created after its date"] += 1
            continue
        owner = _owner_at(*owners[p.id], asked)
        planner = owner if owner is not None else triage.get(p.queue)
        if planner is None:
            skipped["unowned, in a queue without a triage owner"] += 1
            continue
        logged, by_person = _logged_at(entries, moments, asked)
        workers, _ = _workers_of(people, by_person, asked, cal, settings)
        queue = []
        for o in past:
            if o.created_at > asked or (o.resolved_at is not None and o.resolved_at <= asked):
                continue
            held = _owner_at(*owners[o.id], asked)
            if held != planner and not (held is None and triage.get(o.queue) == planner):
                continue
            remaining, _ = fc.remaining_hours(
                o.estimate_hours, logged.get(o.id, 0) / 3600, floor=settings.remaining_floor_hours
            )
            queue.append(
                fc.WorkItem(
                    key=o.key,
                    owner=held,
                    remaining_hours=remaining,
                    created_at=o.created_at,
                    priority=o.priority,
                    queue=o.queue,
                    sla_due_at=o.sla_res_due,
                    due_at=o.due_at,
                    resolve_by=o.sla_res_due,
                )
            )
        mine = [w for w in workers if w.handle == planner]
        result = fc.forecast(mine, queue, asked, triage)
        finish = result.projections[p.key].finish_at
        cases.append(Case(p.key, planner, target, asked, finish, p.resolved_at))
    return Backtest(weeks, tuple(cases), dict(skipped))


def backtest(
    db: Database, weeks: int, now: datetime | None = None, settings: Settings | None = None
) -> Backtest:
    with db.read() as conn:
        return backtest_in(conn, now or db.clock.now(), weeks, settings)
