"""Every figure the screens, the CLI and the review show: each rule written once.

Pure definitions (no IO).  Their SQL forms live in ``store/figures_sql.py`` and must say
the same thing; ``tests/test_figures.py`` computes each figure through every surface and
requires the numbers to agree.

Item figures (open items only: category ``new``, ``active`` or ``waiting``):

* **open targets** of an item: its unmet SLA targets (first response until answered,
  resolution until resolved) and its explicit due date.  The SLA engine caches the
  soonest of their due times as ``next_due_at``.  A first response answered late is a
  *met* target: its breach is history (an ``sla_breached`` event, counted in the weekly
  review), not an open breach.
* **breached**: an open target is past due.  While the clock is paused the moment that
  counts is the start of the pause, so an item that breached and then went to a paused
  (waiting) state *stays breached*: the breach before the pause stands, as the SLA
  engine records it (``domain.sla.target_state``).
* **paused**: not breached, and the SLA clock is stopped (a ``pause_in`` state).
* **warning**: not breached or paused, and an unmet SLA target is past its warning
  instant (the engine's cached ``sla_fr_warn`` / ``sla_res_warn``, exact in the policy's
  business calendar).  An explicit due date has no warning point.
* **ok**: has an open target and none of the above.  Items without one have no SLA state.
* **unowned**: open, with no owner.
* **stuck**: open, and no event for ``stuck_days`` working days (see :func:`is_stuck`).
* **drifting**: open, and the forecast said at its last look that the item will miss its
  due date or SLA resolution target while there is still time to act (rules:
  ``domain.forecast``); the latest ``drifting`` event of the item holds what it said
  (``services.drift`` records one when an item starts and one, empty, when it stops).
* **throughput** (a week): items that reached a done state (``resolved_at``) in it;
  **cycle time**: created -> resolved of those items (:func:`cycle_hours`), shown as the
  median and the 85th percentile (nearest rank, :func:`percentile`).
* **late** (a process occurrence): an item a process created after its due time passed
  (caught up); it carries the occurrence's due date, which is the process's last run.
* **process findings**: the process catalog's findings (no owner, no trigger, no runbook,
  ...), one list for ``opstui processes``, the catalog screen and the review.
* The Owners pane's breached column is the same *breached* rule counted per owner.

People figures:

* **load hours**: the sum of the estimates of a person's open items; an item without an
  estimate counts :data:`DEFAULT_ESTIMATE_HOURS`.
* **load %** has two bases, both named wherever they are shown:
  - :data:`BASIS_AVAILABLE` (the default, "load"): load hours / this planning window's
    *available hours* = weekly capacity x (working days in the window the person is not
    away) / :data:`WINDOW_DAYS`; an inactive person has none (``None``: no basis);
  - :data:`BASIS_CAPACITY` ("load of weekly capacity"): load hours / nominal weekly
    capacity, ignoring time away.
* **busiest share**: the busiest person's load hours / all owned open load hours.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from .sla import target_state

OPEN_CATEGORIES = ("new", "active", "waiting")
DONE_CATEGORY = "done"
DEFAULT_ESTIMATE_HOURS = 2.0
#: The planning window: the next WINDOW_DAYS working days from today.
WINDOW_DAYS = 5
BUSIEST_SHARE_WARN = 0.5

#: The two bases of load %: how each is called on screen and in JSON.
BASIS_AVAILABLE = "available hours"
BASIS_CAPACITY = "weekly capacity"

#: Item SLA states, worst first.
ITEM_SLA_STATES = ("breached", "warning", "paused", "ok")


# --- items ---------------------------------------------------------------------------


def is_open(category: str | None) -> bool:
    return category in OPEN_CATEGORIES


def is_done(category: str | None) -> bool:
    return category == DONE_CATEGORY


def cycle_hours(created_at: datetime, resolved_at: datetime) -> float:
    """Cycle time of a done item: created -> resolved, in hours (never negative)."""
    return max(0.0, (resolved_at - created_at).total_seconds() / 3600)


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile (``pct`` in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def is_unowned(row: Any) -> bool:
    """Open and without an owner (``row.owner`` or ``row.owner_id`` is empty)."""
    owner = getattr(row, "owner_id", getattr(row, "owner", None))
    return is_open(row.category) and owner is None


def is_breached(row: Any, now: datetime) -> bool:
    """An open target is past due, measured at the pause while the clock is paused."""
    if not is_open(row.category) or row.next_due_at is None:
        return False
    at = row.sla_paused_since or now
    return target_state(at, row.next_due_at) == "breached"


def item_sla_state(row: Any, now: datetime) -> str | None:
    """breached / paused / warning / ok for an open item (None: no open target).

    ``row`` is anything with the item's cached SLA columns (an ItemRecord, a pane row).
    """
    if not is_open(row.category) or row.next_due_at is None:
        return None
    if is_breached(row, now):
        return "breached"
    if row.sla_paused_since is not None:
        return "paused"
    for due, warn, met in open_sla_targets(row):
        if target_state(now, due, warn, met) == "warning":
            return "warning"
    return "ok"


def open_sla_targets(row: Any) -> list[tuple[datetime, datetime | None, None]]:
    """(due, warn, met=None) of the item's unmet SLA targets (policy targets only)."""
    out: list[tuple[datetime, datetime | None, None]] = []
    answered = row.first_response_at or getattr(row, "resolved_at", None)
    if row.sla_fr_due is not None and answered is None:
        out.append((row.sla_fr_due, getattr(row, "sla_fr_warn", None), None))
    if row.sla_res_due is not None and is_open(row.category):
        out.append((row.sla_res_due, getattr(row, "sla_res_warn", None), None))
    return out


def idle_is_stuck(idle_working_days: float, stuck_days: int) -> bool:
    """Stuck: an open item with no event for ``stuck_days`` working days or more."""
    return idle_working_days >= stuck_days


def is_stuck(
    category: str,
    last_event_at: datetime,
    now: datetime,
    stuck_days: int,
    holidays: frozenset[date] = frozenset(),
) -> bool:
    """Open and idle (no event) for at least ``stuck_days`` working days."""
    return is_open(category) and idle_is_stuck(
        working_days_between(last_event_at, now, holidays), stuck_days
    )


# --- working days --------------------------------------------------------------------


def is_working_day(day: date, holidays: frozenset[date] = frozenset()) -> bool:
    return day.weekday() < 5 and day not in holidays


def working_window(
    today: date, holidays: frozenset[date] = frozenset(), days: int = WINDOW_DAYS
) -> list[date]:
    """The next ``days`` working days starting ``today`` (today included if it is one)."""
    out: list[date] = []
    day = today
    while len(out) < days:
        if is_working_day(day, holidays):
            out.append(day)
        day += timedelta(days=1)
    return out


def working_days_between(
    start: datetime, end: datetime, holidays: frozenset[date] = frozenset()
) -> float:
    """Working days elapsed from ``start`` to ``end`` (whole days, partial days by fraction)."""
    if end <= start:
        return 0.0
    total = 0.0
    day = start.date()
    while day <= end.date():
        if is_working_day(day, holidays):
            lo = max(start, datetime.combine(day, datetime.min.time(), start.tzinfo))
            hi = min(
                end, datetime.combine(day + timedelta(days=1), datetime.min.time(), start.tzinfo)
            )
            total += max(0.0, (hi - lo).total_seconds() / 86400)
        day += timedelta(days=1)
    return total


def away_days_in(away: Iterable[tuple[date, date]], window: Sequence[date]) -> int:
    """Working days of ``window`` covered by any inclusive (start, end) away period."""
    periods = list(away)
    return sum(1 for d in window if any(s <= d <= e for s, e in periods))


# --- people --------------------------------------------------------------------------


def item_hours(estimate_hours: float | None) -> float:
    """An item's weight in load: its estimate, or DEFAULT_ESTIMATE_HOURS without one."""
    return DEFAULT_ESTIMATE_HOURS if estimate_hours is None else float(estimate_hours)


def available_hours(capacity_hours: float, active: bool, window_days: int, away_days: int) -> float:
    """Weekly capacity x share of the window's working days the person is not away."""
    if not active:
        return 0.0
    days = window_days or 1
    return capacity_hours * max(0, days - away_days) / days


def load_share(load_hours: float, basis_hours: float) -> float | None:
    """Load % (as a fraction) of a basis; None when the basis is zero (nothing to fill)."""
    if basis_hours <= 0:
        return None
    return load_hours / basis_hours


def busiest_share(hours_by_person: Mapping[str, float]) -> tuple[str | None, float | None]:
    """(handle, share) of the person holding the most owned open load hours."""
    total = sum(hours_by_person.values())
    if total <= 0:
        return None, None
    top = max(hours_by_person, key=lambda h: (hours_by_person[h], h))
    return top, hours_by_person[top] / total
