"""Capacity, load, bus factor and rebalancing: pure arithmetic, no IO.

The rules, in one place (the CLI, the review screen and the Markdown export all use them;
planning window, available hours, load, utilisation and busiest share are the figures of
``domain.figures``, restated here for the reader; utilisation is load % on its
``BASIS_AVAILABLE`` basis):

* **Planning window**: the next :data:`WINDOW_DAYS` working days (Mon-Fri, minus holidays)
  starting today (on a weekend: starting next Monday).
* **Available hours** = weekly capacity x (working days in the window the person is not
  away) / :data:`WINDOW_DAYS`.  An inactive person has none.
* **Load** = the sum of the estimates of the person's open items (category not ``done``);
  an item without an estimate counts :data:`DEFAULT_ESTIMATE_HOURS`.
* **Utilisation** = load / available hours (``None`` when nothing is available).
  **Overloaded** when utilisation is above :data:`OVERLOAD_AT` (or when the person has load
  but no available hours at all, e.g. away all week).
* **Busiest share** = the busiest person's load / all owned open load.  Flagged when above
  :data:`BUSIEST_SHARE_WARN` (the field's warning sign is one person carrying 70%; we warn
  earlier, at half).
* **Bus factor**: per skill, the active people who have it; per process, the active people
  who have all of its skills (a process without skills can only be covered by its owner).
  One person = a risk; nobody = uncovered.
* **Needed skills of an item** (who may take it over), first rule that gives an answer:
  1. ``item.data["skills"]`` (set explicitly, e.g. by a process run);
  2. known skill names appearing as words in the item's kind or title
     ("Firewall renewal" needs ``firewall``; ``kubernetes-upgrade`` needs ``kubernetes``);
  3. otherwise the receiver must share at least one skill with the current owner
     (someone who works in the same field).
* **Rebalancing**: for each overloaded person, items are moved, one at a time, until the
  person's utilisation is back at or below :data:`OVERLOAD_AT`.  An item may go to an active
  person who has the needed skills and whose utilisation after the move stays at or below
  :data:`RECEIVER_MAX`; among those the one left with the most spare hours gets it.
  **SLA urgency**: an item whose SLA is breached or due within :data:`URGENT_WITHIN` and that
  its owner has already started (category ``active``) stays with that owner (a hand-over
  costs more time than it saves), unless the owner is away today, in which case urgent items
  are moved first.  Otherwise not-started items move before started ones, then the most
  important (P1 first), then the biggest (fewest moves).  Items that ask their owner
  personally (kinds in :data:`PERSONAL_KINDS`: the single-point-of-failure audit) never move.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from . import figures as fig
from .figures import (
    BUSIEST_SHARE_WARN,
    DEFAULT_ESTIMATE_HOURS,
    WINDOW_DAYS,
    is_working_day,
    working_days_between,
    working_window,
)

__all__ = [
    "BUSIEST_SHARE_WARN",
    "DEFAULT_ESTIMATE_HOURS",
    "WINDOW_DAYS",
    "is_working_day",
    "working_days_between",
    "working_window",
]

OVERLOAD_AT = 1.0
RECEIVER_MAX = 0.85
URGENT_WITHIN = timedelta(hours=4)
#: The kind of the single-point-of-failure audit's items (``domain.audit``).
AUDIT_KIND = "audit"
#: Kinds of item only their owner can do: never suggested to move.
PERSONAL_KINDS = frozenset({AUDIT_KIND})


# --- inputs --------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonIn:
    handle: str
    name: str
    capacity_hours: float
    active: bool = True
    skills: tuple[str, ...] = ()
    #: Inclusive (start, end) date ranges of time off.
    away: tuple[tuple[date, date], ...] = ()
    team: str = ""


@dataclass(frozen=True)
class OpenItem:
    key: str
    title: str
    owner: str | None
    estimate_hours: float | None
    priority: int = 3
    category: str = "active"
    kind: str = ""
    queue: str = ""
    status: str = ""
    version: int = 1
    #: Soonest open SLA due time (or explicit due date).
    next_due_at: datetime | None = None
    #: An SLA target is already breached (cached state).
    sla_breached: bool = False
    skills: tuple[str, ...] = ()

    @property
    def hours(self) -> float:
        return fig.item_hours(self.estimate_hours)


@dataclass(frozen=True)
class ProcessIn:
    key: str
    name: str
    owner: str | None
    skills: tuple[str, ...] = ()
    active: bool = True


# --- outputs -------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonLoad:
    handle: str
    name: str
    team: str
    active: bool
    capacity_hours: float
    available_hours: float
    away_days: int
    away_today: bool
    open_items: int
    unestimated: int
    load_hours: float
    utilisation: float | None
    overloaded: bool
    spare_hours: float
    skills: tuple[str, ...]


@dataclass(frozen=True)
class Coverage:
    """Who can cover a skill or a process."""

    name: str
    people: tuple[str, ...]
    #: For processes: the owner (``None`` = ownerless).
    owner: str | None = None
    skills: tuple[str, ...] = ()

    @property
    def count(self) -> int:
        return len(self.people)

    @property
    def risk(self) -> bool:
        return self.count <= 1


@dataclass(frozen=True)
class Move:
    key: str
    title: str
    from_handle: str
    to_handle: str
    hours: float
    priority: int
    version: int
    reason: str


@dataclass(frozen=True)
class CapacityReport:
    window_start: date
    window_end: date
    people: tuple[PersonLoad, ...]
    total_load_hours: float
    total_available_hours: float
    busiest: str | None
    busiest_share: float | None
    busiest_warning: bool
    skills: tuple[Coverage, ...]
    processes: tuple[Coverage, ...]
    moves: tuple[Move, ...]
    #: Overloaded people for whom no move could be found, with the reason.
    unresolved: tuple[tuple[str, str], ...] = field(default=())

    @property
    def overloaded(self) -> tuple[PersonLoad, ...]:
        return tuple(p for p in self.people if p.overloaded)

    @property
    def skill_risks(self) -> tuple[Coverage, ...]:
        return tuple(c for c in self.skills if c.risk)

    @property
    def process_risks(self) -> tuple[Coverage, ...]:
        return tuple(c for c in self.processes if c.risk)


# --- load ----------------------------------------------------------------------------


def _away_on(person: PersonIn, day: date) -> bool:
    return any(start <= day <= end for start, end in person.away)


def person_load(person: PersonIn, items: Iterable[OpenItem], window: Sequence[date]) -> PersonLoad:
    mine = [i for i in items if i.owner == person.handle]
    load = sum(i.hours for i in mine)
    away_days = fig.away_days_in(person.away, window)
    available = fig.available_hours(person.capacity_hours, person.active, len(window), away_days)
    util = fig.load_share(load, available)
    overloaded = (util is not None and util > OVERLOAD_AT) or (util is None and load > 0)
    return PersonLoad(
        handle=person.handle,
        name=person.name,
        team=person.team,
        active=person.active,
        capacity_hours=person.capacity_hours,
        available_hours=round(available, 2),
        away_days=away_days,
        away_today=bool(window) and _away_on(person, window[0]),
        open_items=len(mine),
        unestimated=sum(1 for i in mine if i.estimate_hours is None),
        load_hours=round(load, 2),
        utilisation=util,
        overloaded=overloaded,
        spare_hours=round(max(0.0, available - load), 2),
        skills=tuple(sorted(person.skills)),
    )


def busiest_share(loads: Sequence[PersonLoad]) -> tuple[str | None, float | None]:
    """``figures.busiest_share`` over the people's load hours."""
    return fig.busiest_share({p.handle: p.load_hours for p in loads})


# --- bus factor ----------------------------------------------------------------------


def skill_coverage(people: Sequence[PersonIn], extra_skills: Iterable[str] = ()) -> list[Coverage]:
    """Every skill someone has or a process needs, with the active people who have it."""
    names = {s for p in people for s in p.skills} | set(extra_skills)
    out = []
    for skill in sorted(names):
        who = tuple(sorted(p.handle for p in people if p.active and skill in p.skills))
        out.append(Coverage(name=skill, people=who))
    return sorted(out, key=lambda c: (c.count, c.name))


def process_coverage(processes: Sequence[ProcessIn], people: Sequence[PersonIn]) -> list[Coverage]:
    active = {p.handle: p for p in people if p.active}
    out = []
    for proc in processes:
        if not proc.active:
            continue
        if proc.skills:
            who = {h for h, p in active.items() if set(proc.skills) <= set(p.skills)}
            if proc.owner in active:
                who.add(proc.owner)
        else:
            who = {proc.owner} if proc.owner in active else set()
        out.append(
            Coverage(
                name=proc.key,
                people=tuple(sorted(h for h in who if h)),
                owner=proc.owner,
                skills=tuple(proc.skills),
            )
        )
    return sorted(out, key=lambda c: (c.count, c.name))


# --- skills an item needs ------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> str:
    return " " + " ".join(_WORD.findall(text.lower())) + " "


def needed_skills(item: OpenItem, known_skills: Iterable[str]) -> tuple[str, ...] | None:
    """Skills a new owner must have (rules 1-2 of the module doc); ``None`` = use rule 3."""
    if item.skills:
        return tuple(sorted(set(item.skills)))
    text = _words(f"{item.kind} {item.title}")
    found = {s for s in known_skills if s and _words(s) != "  " and _words(s) in text}
    return tuple(sorted(found)) if found else None


def can_take(
    candidate: PersonIn, owner: PersonIn | None, item: OpenItem, known: Iterable[str]
) -> bool:
    need = needed_skills(item, known)
    if need is not None:
        return set(need) <= set(candidate.skills)
    if owner is None:
        return True
    return bool(set(owner.skills) & set(candidate.skills))


def is_urgent(item: OpenItem, now: datetime) -> bool:
    return item.sla_breached or (
        item.next_due_at is not None and item.next_due_at - now <= URGENT_WITHIN
    )


# --- rebalancing ---------------------------------------------------------------------


def _move_order(
    item: OpenItem, owner_away: bool, now: datetime
) -> tuple[int, int, int, float, str]:
    """Which of an overloaded person's items to move first (see the module doc)."""
    urgent_first = 0 if (owner_away and is_urgent(item, now)) else 1
    started = 1 if item.category == "active" else 0
    return (urgent_first, started, item.priority, -item.hours, item.key)


def suggest_moves(
    people: Sequence[PersonIn],
    items: Sequence[OpenItem],
    loads: Sequence[PersonLoad],
    now: datetime,
) -> tuple[list[Move], list[tuple[str, str]]]:
    by_handle = {p.handle: p for p in people}
    known = {s for p in people for s in p.skills}
    load = {p.handle: p.load_hours for p in loads}
    avail = {p.handle: p.available_hours for p in loads}
    away_today = {p.handle for p in loads if p.away_today}
    moves: list[Move] = []
    unresolved: list[tuple[str, str]] = []

    def util(handle: str) -> float:
        a = avail.get(handle, 0.0)
        return math.inf if a <= 0 else load[handle] / a

    overloaded = sorted(
        (p for p in loads if p.overloaded), key=lambda p: (-(p.utilisation or math.inf), p.handle)
    )
    for over in overloaded:
        owner = by_handle.get(over.handle)
        mine = [i for i in items if i.owner == over.handle]
        away = over.handle in away_today

        kept_urgent = 0
        no_receiver = 0
        for item in sorted(mine, key=lambda i, away=away: _move_order(i, away, now)):
            if util(over.handle) <= OVERLOAD_AT:
                break
            if is_urgent(item, now) and item.category == "active" and not away:
                kept_urgent += 1
                continue
            if item.kind in PERSONAL_KINDS:
                continue
            best: tuple[float, str] | None = None
            for cand in people:
                if cand.handle == over.handle or not cand.active or avail.get(cand.handle, 0) <= 0:
                    continue
                if cand.handle in away_today:
                    continue
                if not can_take(cand, owner, item, known):
                    continue
                after = (load[cand.handle] + item.hours) / avail[cand.handle]
                if after > RECEIVER_MAX:
                    continue
                spare = avail[cand.handle] - load[cand.handle] - item.hours
                if best is None or (-spare, cand.handle) < (-best[0], best[1]):
                    best = (spare, cand.handle)
            if best is None:
                no_receiver += 1
                continue
            to = best[1]
            need = needed_skills(item, known)
            why = (
                f"needs {', '.join(need)}" if need else "shares a skill with the owner"
            ) + f"; {to} has {avail[to] - load[to]:.0f}h spare"
            moves.append(
                Move(
                    key=item.key,
                    title=item.title,
                    from_handle=over.handle,
                    to_handle=to,
                    hours=item.hours,
                    priority=item.priority,
                    version=item.version,
                    reason=why,
                )
            )
            load[over.handle] -= item.hours
            load[to] += item.hours
        if util(over.handle) > OVERLOAD_AT:
            why = []
            if no_receiver:
                why.append(f"{no_receiver} item(s) have nobody with the skill and spare time")
            if kept_urgent:
                why.append(f"{kept_urgent} urgent started item(s) stay")
            if not mine:
                why.append("no open items (no available hours)")
            unresolved.append((over.handle, "; ".join(why) or "still over capacity"))
    return moves, unresolved


def capacity_report(
    people: Sequence[PersonIn],
    items: Sequence[OpenItem],
    processes: Sequence[ProcessIn],
    now: datetime,
    holidays: frozenset[date] = frozenset(),
) -> CapacityReport:
    window = working_window(now.date(), holidays)
    loads = [person_load(p, items, window) for p in people]
    busiest, share = busiest_share(loads)
    extra = {s for proc in processes for s in proc.skills}
    moves, unresolved = suggest_moves(people, items, loads, now)
    return CapacityReport(
        window_start=window[0],
        window_end=window[-1],
        people=tuple(loads),
        total_load_hours=round(sum(p.load_hours for p in loads), 2),
        total_available_hours=round(sum(p.available_hours for p in loads), 2),
        busiest=busiest,
        busiest_share=share,
        busiest_warning=share is not None and share > BUSIEST_SHARE_WARN,
        skills=tuple(skill_coverage(people, extra)),
        processes=tuple(process_coverage(processes, people)),
        moves=tuple(moves),
        unresolved=tuple(unresolved),
    )
