"""Assembling the whole review from its sections, read in one snapshot."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection

from ...domain.capacity import Move
from ...errors import ValidationError
from ...store.engine import Database
from .. import asof
from .. import capacity as capacity_svc
from .. import drift as drift_svc
from .. import forecast as forecast_svc
from ..outbox import failing_summary_in
from ..processes.audit import status_in as audit_status_in
from ..processes.catalog import process_catalog
from . import sections
from .records import MAX_ROWS, WEEK, DriftItem, WeeklyReview


def week_bounds(now: datetime, start: date | str | None = None) -> tuple[datetime, datetime]:
    """``[start, end)`` of the reviewed week (see the package doc)."""
    if start is None:
        return now - WEEK, now
    if isinstance(start, str):
        try:
            start = date.fromisoformat(start.strip())
        except ValueError:
            raise ValidationError(f"--week wants a date like 2026-11-30 (got {start!r})") from None
    begin = datetime.combine(start, time(0), UTC)
    if begin >= now:
        raise ValidationError(f"the week starting {start.isoformat()} has not started yet")
    return begin, min(begin + WEEK, now)


def weekly_review(
    db: Database,
    *,
    week: date | str | None = None,
    stuck_days: int = 3,
    now: datetime | None = None,
) -> WeeklyReview:
    """Everything the review shows.  One read snapshot for the review's own sections;
    the process findings come from the process catalog (its own read at the same ``now``).

    A week that ended before the latest change is reviewed on the board as it stood at
    its end (``services.asof``): its states, and no event after it.
    """
    now = now or db.clock.now()
    start, end = week_bounds(now, week)
    if end < now:
        at = end - timedelta(microseconds=1)
        if asof.is_past(db, at):
            past = asof.open_as_of(db, at, unix_user=db.unix_user, me=db.me)
            try:
                # a past week's review forecasts nothing: it shows nothing after its end
                return _review(past.db, start.date(), stuck_days, at, forecast=False)
            finally:
                past.close()
    return _review(db, week, stuck_days, now)


def _review(
    db: Database,
    week: date | str | None,
    stuck_days: int,
    now: datetime,
    *,
    forecast: bool = True,
) -> WeeklyReview:
    start, end = week_bounds(now, week)
    # a week ending now includes what happened at this very instant
    upto = end + timedelta(microseconds=1) if end >= now else end
    with db.read() as conn:
        holidays = capacity_svc.holidays_in(conn)
        breaches, near = sections.sla_misses(conn, start, upto)
        blocked = sections.blocked_items(conn)
        stuck = sections.stuck_items(conn, now, stuck_days, holidays)
        unowned = sections.unowned_items(conn)
        approvals = sections.pending_approvals(conn)
        cap = capacity_svc.report_in(conn, now)
        weeks, queues = sections.trends(conn, end, upto=upto)
        held = sections.last_review(conn)
        minutes = sections.decided_last_week(conn, start, upto)
        drifting, rescues = _drift(conn, now) if end >= now and forecast else ((), ())
        late = sections.late_runs(conn, start, upto)
        outbox = failing_summary_in(conn)
        # estimates against time logged on work finished in the 8 weeks up to the week's end
        accuracy = forecast_svc.accuracy_in(conn, upto)
        audit = audit_status_in(conn, now)
    findings = sections.process_findings(process_catalog(db, now))
    counts = {
        "breaches": len(breaches),
        "near_misses": len(near),
        "blocked": len(blocked),
        "stuck": len(stuck),
        "unowned": len(unowned),
        "process_findings": len(findings),
        "approvals": len(approvals),
        "drifting": len(drifting),
        "rescues": len(rescues),
        "late_runs": len(late),
        "decided_last_week": sum(1 for m in minutes if m.kind != "note"),
    }
    return WeeklyReview(
        now=now,
        start=start,
        end=end,
        stuck_days=stuck_days,
        breaches=tuple(breaches[:MAX_ROWS]),
        near_misses=tuple(near[:MAX_ROWS]),
        blocked=tuple(blocked[:MAX_ROWS]),
        stuck=tuple(stuck[:MAX_ROWS]),
        unowned=tuple(unowned[:MAX_ROWS]),
        process_findings=tuple(findings),
        approvals=tuple(approvals),
        capacity=cap,
        weeks=tuple(weeks),
        queues=tuple(queues),
        last_review=held,
        late_runs=tuple(late),
        counts=counts,
        drifting=drifting,
        rescues=rescues,
        accuracy=accuracy,
        outbox=outbox,
        audit=audit,
        decided_last_week=tuple(minutes),
    )


def _drift(conn: Connection, now: datetime) -> tuple[tuple[DriftItem, ...], tuple[Move, ...]]:
    view, moves = drift_svc.rescues_in(conn, now)
    saved = {m.key for m in moves}
    items = tuple(
        DriftItem(r.key, r.title, r.owner, forecast_svc.describe(r, view.calendar), r.key in saved)
        for r in view.drifting()
    )
    return items, tuple(moves)
