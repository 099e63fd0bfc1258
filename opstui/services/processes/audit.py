"""The monthly single-point-of-failure audit (rules: :mod:`opstui.domain.audit`).

The audit is the process whose key is ``spof-audit``: its queue receives the items, its
owner is the lead who follows them up, its trigger says when (``run-due`` and every open
dashboard run it like any scheduled process, with the same catch-up).  Each occurrence
creates one item per active person, each claimed with its own ``process_run`` occurrence
key (``spof-audit@2026-12#person:7``): exactly once per person and month, however many
terminals run it, and ``opstui audit run`` uses the same keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, update

from ...domain import audit as dom
from ...domain import models
from ...domain import workflow as wfl
from ...errors import ValidationError
from ...store import audit_sql
from ...store import queries as q
from ...store.engine import Database
from .. import capacity as capacity_svc
from ..context import Ctx, writing
from .claim import ProcessRunResult, claim, create_item_in, occurrence_key
from .define import save_process_in

AUDIT_PROCESS = dom.AUDIT_PROCESS
PROCESS = models.Process.__table__
RUN = models.ProcessRun.__table__


def points_in(
    conn: Connection, now: datetime, weeks: int = dom.TOUCH_WEEKS
) -> dict[str, dom.SinglePoints]:
    """Every active person's single points as the data shows them at ``now``."""
    touchers = audit_sql.queue_touchers(conn, now - timedelta(weeks=weeks))
    return dom.single_points(
        capacity_svc.people_in(conn), capacity_svc.processes_in(conn), touchers
    )


def _month_of(proc: Any, at: datetime) -> str:
    return dom.month_text(at.astimezone(wfl.zone(proc.timezone or "UTC")))


def _create_month_in(
    ctx: Ctx, proc: Any, month: str, at: datetime, *, late: bool = False
) -> list[ProcessRunResult]:
    """One item per active person without one this month (each claimed once)."""
    points = points_in(ctx.conn, ctx.now)
    out = []
    for person in q.list_people(ctx.conn, include_inactive=False):
        okey = dom.person_key(proc.key, month, person.id)
        run_id = claim(ctx, proc.id, okey, at)
        if run_id is None:
            continue
        mine = points.get(person.handle, dom.SinglePoints(person.handle))
        data: dict[str, Any] = {
            "process": proc.key,
            "occurrence": at.isoformat(),
            "audit": {
                "month": month,
                "person": person.handle,
                "skills": list(mine.skills),
                "processes": list(mine.processes),
                "queues": list(mine.queues),
            },
        }
        if late:
            data["late"] = True
        item = create_item_in(
            ctx,
            queue=proc.queue_slug,
            title=dom.item_title(month, person.handle),
            body=dom.item_body(mine, month),
            kind=audit_sql.AUDIT_KIND,
            owner=person.handle,
            estimate=proc.estimate_hours or dom.ITEM_ESTIMATE_HOURS,
            data=data,
            requester=f"process {proc.key}",
            due_at=at if late else None,
        )
        ctx.conn.execute(update(RUN).where(RUN.c.id == run_id).values(item_id=item.id))
        ctx.record(
            "process_run",
            None,
            f"{proc.key} {month} -> {item.key}",
            entity="process",
            entity_id=proc.id,
            item_id=item.id,
            item_version=1,
        )
        verb = "would create" if ctx.dry_run else "created"
        out.append(
            ProcessRunResult(
                process=proc.key,
                name=proc.name,
                occurrence_key=okey,
                occurrence_at=at,
                item=item.key,
                owner=person.handle,
                queue=proc.queue_slug,
                late=late,
                text=f"{verb} {item.key} in {proc.queue_slug}: audit {month} for {person.handle}"
                f" ({mine.count} single point{'s' if mine.count != 1 else ''})",
            )
        )
    return out


def run_audit_occurrence(
    ctx: Ctx, proc: Any, occurrence_key: str, at: datetime
) -> list[ProcessRunResult]:
    """A scheduled occurrence of the audit process (called by ``run_due``): one result
    that sums up the month's items, so that the dashboard's notice and ``run-due`` say
    "12 audit items" in one line rather than twelve."""
    if claim(ctx, proc.id, occurrence_key, at) is None:
        return []
    ctx.conn.execute(update(PROCESS).where(PROCESS.c.id == proc.id).values(last_run_at=at))
    late = wfl.is_late(at, ctx.now)
    month = _month_of(proc, at)
    made = _create_month_in(ctx, proc, month, at, late=late)
    if not made:
        return []
    keys = [r.item for r in made if r.item]
    span = keys[0] if len(keys) == 1 else f"{keys[0]}..{keys[-1]}"
    verb = "would create" if ctx.dry_run else "created"
    text = (
        f"{verb} {len(made)} audit item{'s' if len(made) != 1 else ''} ({span}) in "
        f"{proc.queue_slug} for process {proc.key}, {month}: one per active person"
    )
    if late:
        text += f"; LATE: due {at:%Y-%m-%d %H:%M} UTC (catch_up = {proc.catch_up})"
    return [
        ProcessRunResult(
            process=proc.key,
            name=proc.name,
            occurrence_key=occurrence_key,
            occurrence_at=at,
            item=span,
            owner=None,
            queue=proc.queue_slug,
            text=text,
            late=late,
        )
    ]


@dataclass(frozen=True)
class AuditRun:
    month: str
    queue: str
    results: tuple[ProcessRunResult, ...]
    #: ``audit run --queue`` defined the audit process (it did not exist).
    defined: bool = False


def _define_in(ctx: Ctx, queue: str) -> None:
    qid = ctx.conn.execute(
        models.Queue.__table__.select().where(models.Queue.__table__.c.slug == queue.strip())
    ).first()
    if qid is None:
        raise ValidationError(f"unknown queue {queue!r}")
    save_process_in(
        ctx,
        {
            "key": AUDIT_PROCESS,
            "name": "Monthly single-point-of-failure audit",
            "owner_id": ctx.person_id,
            "trigger_kind": "cron",
            "trigger": dom.DEFAULT_TRIGGER,
            "timezone": "UTC",
            "queue_id": qid.id,
            "runbook": dom.DEFAULT_RUNBOOK,
            "skills": [],
            "active": True,
            "item_title": "",
            "estimate_hours": None,
            "catch_up": "latest",
        },
    )


NOT_DEFINED = (
    f"no audit process: add a [[processes]] entry with key = {AUDIT_PROCESS!r} (queue, owner, "
    "trigger) to a load file, or give --queue SLUG once to create it (day 1, 09:00 UTC)"
)


def _month_occurrence(proc: Any, month: str) -> datetime:
    """When ``month``'s audit is due: its scheduled occurrence in that month, else 00:00 on
    day 1 (process time zone).  A manual run then counts as that occurrence: ``processes``
    and ``run-due`` see the month done, as they see any process occurrence."""
    tz = wfl.zone(proc.timezone or "UTC")
    first = dom.parse_month(month)
    start = datetime(first.year, first.month, 1, tzinfo=tz)
    if proc.trigger_kind in ("cron", "rrule") and proc.trigger:
        try:
            trigger = wfl.Trigger(proc.trigger_kind, proc.trigger, proc.timezone or "UTC")
            at = wfl.next_occurrence(trigger, start - timedelta(seconds=1))
        except wfl.TriggerError:
            at = None
        if at is not None and _month_of(proc, at) == month:
            return at.astimezone(UTC)
    return start.astimezone(UTC)


def run_audit(
    db: Database, *, month: str | None = None, queue: str | None = None, dry_run: bool = False
) -> AuditRun:
    """Create this month's (or ``month``'s) audit items: one per active person who has
    none yet.  Idempotent: the second run creates nothing."""
    with writing(db, dry_run=dry_run) as ctx:
        proc = audit_sql.audit_process(ctx.conn, AUDIT_PROCESS)
        defined = False
        if proc is None:
            if not queue:
                raise ValidationError(NOT_DEFINED)
            _define_in(ctx, queue)
            proc, defined = audit_sql.audit_process(ctx.conn, AUDIT_PROCESS), True
        elif queue and queue.strip() != proc.queue_slug:
            raise ValidationError(
                f"the audit process puts its items in {proc.queue_slug!r}: change its queue "
                "in the load file, not with --queue"
            )
        assert proc is not None
        if not proc.active:
            raise ValidationError(f"the process {AUDIT_PROCESS!r} is inactive")
        if proc.queue_slug is None:
            raise ValidationError(f"the process {AUDIT_PROCESS!r} has no queue")
        current = _month_of(proc, ctx.now)
        try:
            month = dom.month_text(dom.month_start(month)) if month else current
        except dom.AuditError as exc:
            raise ValidationError(f"--month: {exc}") from None
        if month > current:
            raise ValidationError(f"the month {month} has not started (this month is {current})")
        at = _month_occurrence(proc, month)
        # the month's occurrence itself, as run_due claims it: one late run at most in the
        # review, and a later run_due of the same occurrence finds it done
        claim(ctx, proc.id, occurrence_key(proc.key, at), at)
        results = _create_month_in(ctx, proc, month, at)
        if results and (proc.last_run_at is None or proc.last_run_at < at):
            ctx.conn.execute(update(PROCESS).where(PROCESS.c.id == proc.id).values(last_run_at=at))
        return AuditRun(month, proc.queue_slug, tuple(results), defined)


# --- status --------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditStatus:
    """This month's audit: who was asked, who answered, what single points remain."""

    defined: bool
    month: str
    queue: str | None = None
    items: tuple[audit_sql.AuditItemRow, ...] = ()
    #: Active people without an item this month (not run yet, or joined since).
    not_asked: tuple[str, ...] = ()
    #: Every active person's single points now (people with none included).
    points: tuple[dom.SinglePoints, ...] = ()
    #: Processes whose runbook an applied answer changed this month.
    documented: tuple[str, ...] = field(default=())

    @property
    def asked(self) -> int:
        return len(self.items)

    @property
    def answered(self) -> int:
        return sum(1 for i in self.items if i.answered)

    @property
    def not_answered(self) -> tuple[str, ...]:
        return tuple(i.handle for i in self.items if not i.answered)

    @property
    def applied(self) -> int:
        return sum(1 for i in self.items if i.applied)

    @property
    def remaining(self) -> int:
        """Single points an answer can clear (skills and processes) that remain."""
        return sum(p.risks for p in self.points)

    def rows(self) -> list[tuple[str, str, str]]:
        """(person, kind, name) of every remaining single point, queues last."""
        out = [(p.handle, "skill", s) for p in self.points for s in p.skills]
        out += [(p.handle, "process", s) for p in self.points for s in p.processes]
        out += [(p.handle, "queue", s) for p in self.points for s in p.queues]
        return sorted(out, key=lambda r: (r[1] == "queue", r[0], r[1], r[2]))

    def line(self) -> str:
        """``5 of 12 answered (not yet: bob, carol); 9 single points remain``."""
        if not self.defined:
            return f"not set up (no process {AUDIT_PROCESS!r}; see `opstui audit run`)"
        if not self.items:
            return f"not run for {self.month} yet; {self.remaining} single points in the data"
        waiting = self.not_answered if self.answered else ()  # "0 of 12" says it all
        who = f" (not yet: {names(waiting)})" if waiting else ""
        return f"{self.answered} of {self.asked} answered{who}; " + (
            "1 single point remains"
            if self.remaining == 1
            else f"{self.remaining} single points remain"
        )


def names(handles: tuple[str, ...], most: int = 5) -> str:
    """``bob, carol`` / ``alice, bob, carol, dana, dev and 4 more``."""
    if len(handles) <= most:
        return ", ".join(handles)
    return f"{', '.join(handles[:most])} and {len(handles) - most} more"


def status_in(
    conn: Connection, now: datetime, month: str | None = None, *, undefined_points: bool = False
) -> AuditStatus:
    """The audit of ``month`` (default: the current one).  Without an audit process the
    single points are read only when ``undefined_points`` (the review skips that work)."""
    proc = audit_sql.audit_process(conn, AUDIT_PROCESS)
    tz = wfl.zone(proc.timezone or "UTC") if proc is not None else UTC
    current = dom.month_text(now.astimezone(tz))
    if month:
        try:
            month = dom.month_text(dom.month_start(month))
        except dom.AuditError as exc:
            raise ValidationError(f"--month: {exc}") from None
    month = month or current
    if proc is None:
        points = tuple(points_in(conn, now).values()) if undefined_points else ()
        return AuditStatus(False, month, points=points)
    points = tuple(points_in(conn, now).values())
    items = audit_sql.audit_items(conn, dom.month_prefix(proc.key, month))
    asked = {i.handle for i in items}
    first = dom.parse_month(month)
    since = datetime(first.year, first.month, 1, tzinfo=tz)
    return AuditStatus(
        defined=True,
        month=month,
        queue=proc.queue_slug,
        items=tuple(items),
        not_asked=tuple(p.handle for p in points if p.handle not in asked),
        points=points,
        documented=tuple(sorted(audit_sql.runbook_documented(conn, since))),
    )


def audit_status(db: Database, month: str | None = None) -> AuditStatus:
    with db.read() as conn:
        return status_in(conn, db.clock.now(), month, undefined_points=True)


def status_json(st: AuditStatus) -> dict[str, Any]:
    return {
        "defined": st.defined,
        "month": st.month,
        "queue": st.queue,
        "asked": st.asked,
        "answered": st.answered,
        "applied": st.applied,
        "not_answered": list(st.not_answered),
        "not_asked": list(st.not_asked),
        "remaining": st.remaining,
        "items": [
            {"key": i.key, "person": i.handle, "answered": i.answered, "applied": i.applied}
            for i in st.items
        ],
        "single_points": [{"person": p, "kind": k, "name": n} for p, k, n in st.rows()],
        "documented": list(st.documented),
    }
