"""Running processes.

Processes run when due (:func:`run_due`); each occurrence has a unique
``ProcessRun.occurrence_key`` so it is created exactly once however many terminals run
at the same moment.  Occurrences missed while nothing ran are caught up as the process
says (``catch_up``: the latest one by default, every one, or none; rules in
:func:`opstui.domain.workflow.pending_occurrences`); an occurrence created after its due
time is *late*: its item carries the due date (``due_at``) and ``data.late``, and the
result says so, for the notice the dashboard shows and the review's late-runs line.  An
event-triggered process runs when an item reaches its state
(:func:`run_event_processes`, called by the transitions).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from ...domain import models
from ...domain import workflow as wfl
from ...store import queries as q
from ...store.engine import Database
from ..context import Ctx, writing
from .audit import AUDIT_PROCESS, run_audit_occurrence
from .claim import ProcessRunResult, claim, create_item_in, occurrence_key

ITEM = models.Item.__table__
PERSON = models.Person.__table__
QUEUE = models.Queue.__table__
LINK = models.ItemLink.__table__
PROCESS = models.Process.__table__
RUN = models.ProcessRun.__table__


def _process_rows(conn: Any, *, kinds: tuple[str, ...], where: Any = None) -> list[Any]:
    stmt = (
        select(
            PROCESS,
            QUEUE.c.slug.label("queue_slug"),
            PERSON.c.handle.label("owner_handle"),
            PERSON.c.active.label("owner_active"),
        )
        .select_from(
            PROCESS.join(QUEUE, QUEUE.c.id == PROCESS.c.queue_id, isouter=True).join(
                PERSON, PERSON.c.id == PROCESS.c.owner_id, isouter=True
            )
        )
        .where(PROCESS.c.active.is_(True), PROCESS.c.trigger_kind.in_(kinds))
        .order_by(PROCESS.c.key)
    )
    if where is not None:
        stmt = stmt.where(where)
    return list(conn.execute(stmt))


def _run_occurrence(
    ctx: Ctx, proc: Any, occurrence_key: str, at: datetime, trigger_item: q.ItemRecord | None = None
) -> ProcessRunResult | None:
    run_id = claim(ctx, proc.id, occurrence_key, at)
    if run_id is None:
        return None
    tz = wfl.zone(proc.timezone)
    title_t = proc.item_title or "{name} ({date})"
    values = {
        "name": proc.name,
        "process": proc.key,
        "date": at.astimezone(tz).strftime("%Y-%m-%d"),
        "key": trigger_item.key if trigger_item else "",
        "title": trigger_item.title if trigger_item else "",
    }
    if trigger_item is not None and not proc.item_title:
        title_t = "{name}: {title}"
    steps = wfl.runbook_steps(proc.runbook)
    late = trigger_item is None and wfl.is_late(at, ctx.now)
    owner = proc.owner_handle if proc.owner_handle and proc.owner_active else None
    data = {
        "process": proc.key,
        "occurrence": at.isoformat(),
        "checklist": [{"step": s, "done": False} for s in steps],
    }
    if trigger_item is not None:
        data["origin"] = trigger_item.key
    if late:
        data["late"] = True
    item = create_item_in(
        ctx,
        queue=proc.queue_slug,
        title=wfl.render(title_t, values),
        body=wfl.checklist_markdown(proc.name, steps) if steps else "",
        kind="process",
        estimate=proc.estimate_hours,
        owner=owner,
        parent_id=trigger_item.id if trigger_item else None,
        data=data,
        requester=f"process {proc.key}",
        due_at=at if late else None,
    )
    if trigger_item is not None:
        ctx.conn.execute(
            LINK.insert().values(src_id=trigger_item.id, dst_id=item.id, kind="followup")
        )
    ctx.conn.execute(update(RUN).where(RUN.c.id == run_id).values(item_id=item.id))
    ctx.conn.execute(update(PROCESS).where(PROCESS.c.id == proc.id).values(last_run_at=at))
    ctx.record(
        "process_run",
        None,
        f"{proc.key} -> {item.key}",
        entity="process",
        entity_id=proc.id,
        item_id=item.id,
        item_version=1,
    )
    if owner:
        who = f"assigned to {owner}"
    elif proc.owner_handle:
        who = f"UNOWNED: owner {proc.owner_handle} is inactive"
    else:
        who = "UNOWNED: the process has no owner"
    if late:
        who += (
            f"; LATE: due {at:%Y-%m-%d %H:%M} UTC, missed while nothing was running"
            f" (catch_up = {proc.catch_up})"
        )
    return ProcessRunResult(
        process=proc.key,
        name=proc.name,
        occurrence_key=occurrence_key,
        occurrence_at=at,
        item=item.key,
        owner=owner,
        queue=proc.queue_slug,
        late=late,
        text=(
            f"would create an item in {proc.queue_slug} for process {proc.key}, {who}"
            if ctx.dry_run
            else f"created {item.key} in {proc.queue_slug} for process {proc.key}, {who}"
        ),
    )


#: One index-free probe of the (small) process table: does any active process fire on
#: this "kind:state"?  Most moves trigger nothing, and building and running the full
#: process query on every move cost ~0.3 ms of a ~2.5 ms transition.
_ANY_EVENT_PROCESS = "SELECT 1 FROM process WHERE active = TRUE AND trigger_kind = 'event' AND \"trigger\" = ? LIMIT 1"


def event_processes_exist(ctx: Ctx, kind: str, state: str) -> bool:
    """Does any active process have the event trigger ``kind:state``?"""
    return bool(q.raw_rows(ctx.conn, _ANY_EVENT_PROCESS, (f"{kind}:{state}",)))


def run_event_processes(ctx: Ctx, item: q.ItemRecord, state: str) -> list[dict[str, Any]]:
    """Processes triggered by ``item`` reaching ``state`` (once per item and process)."""
    if ctx.replay or not event_processes_exist(ctx, item.kind, state):
        return []
    out = []
    for proc in _process_rows(
        ctx.conn, kinds=("event",), where=PROCESS.c.trigger == f"{item.kind}:{state}"
    ):
        if proc.queue_slug is None:
            continue
        done = _run_occurrence(ctx, proc, f"{proc.key}@item:{item.id}", ctx.now, trigger_item=item)
        if done is not None:
            out.append(
                {
                    "type": "process",
                    "item": done.item,
                    "depth": 0,
                    "process": proc.key,
                    "owner": done.owner,
                    "text": done.text,
                }
            )
    return out


def _last_occurrences(conn: Any) -> dict[int, datetime]:
    """The newest occurrence time run of each process."""
    return {
        int(pid): at
        for pid, at in conn.execute(
            select(RUN.c.process_id, func.max(RUN.c.occurrence_at)).group_by(RUN.c.process_id)
        )
    }


def pending_in(conn: Any, now: datetime) -> list[tuple[Any, str, datetime]]:
    """(process row, occurrence key, time) of every scheduled occurrence to create at
    ``now`` and not yet run, oldest first per process (``workflow.pending_occurrences``).
    The one answer to "what is due": ``run-due`` creates these, ``processes`` shows the
    first as the next run."""
    last = _last_occurrences(conn)
    due = []
    for p in _process_rows(conn, kinds=("cron", "rrule")):
        if p.queue_slug is None:
            continue
        trigger = wfl.Trigger(p.trigger_kind, p.trigger, p.timezone)
        try:
            times = wfl.pending_occurrences(trigger, last.get(p.id), now, p.catch_up or "latest")
        except wfl.TriggerError:
            continue
        for at in times:
            okey = occurrence_key(p.key, at)
            if not conn.execute(select(RUN.c.id).where(RUN.c.occurrence_key == okey)).first():
                due.append((p, okey, at))
    return due


def due_occurrences(db: Database, now: datetime | None = None) -> list[tuple[int, str, datetime]]:
    """(process id, occurrence key, time) of scheduled occurrences due and not yet run."""
    now = now or db.clock.now()
    with db.read() as conn:
        return [(int(p.id), okey, at) for p, okey, at in pending_in(conn, now)]


def next_run_at(db: Database, now: datetime | None = None) -> datetime | None:
    """When the soonest scheduled process is next due (a terminal can sleep until then
    instead of polling): an occurrence due and not yet created (missed while nothing ran)
    if any, else the soonest future one; None if no process has a schedule."""
    now = now or db.clock.now()
    with db.read() as conn:
        pending = pending_in(conn, now)
        if pending:
            return min(at for _p, _k, at in pending)
        procs = _process_rows(conn, kinds=("cron", "rrule"))
    soonest: datetime | None = None
    for p in procs:
        try:
            at = wfl.next_occurrence(wfl.Trigger(p.trigger_kind, p.trigger, p.timezone), now)
        except wfl.TriggerError:
            continue
        if at is not None and (soonest is None or at < soonest):
            soonest = at
    return soonest


def run_due(db: Database, *, dry_run: bool = False) -> list[ProcessRunResult]:
    """Create the item of every scheduled occurrence due up to ``db.clock.now()``.

    Missed occurrences are caught up as each process says (``catch_up``), and each
    occurrence is created exactly once across every terminal and ``opstui run-due``.
    Cheap when nothing is due: one read, no write transaction.  A read-only database runs
    nothing (returns ``[]``): processes are left to terminals that can write.
    """
    if db.readonly:
        return []
    due = due_occurrences(db)
    if not due:
        return []
    out: list[ProcessRunResult] = []
    with writing(db, dry_run=dry_run) as ctx:
        by_id = {p.id: p for p in _process_rows(ctx.conn, kinds=("cron", "rrule"))}
        for pid, okey, at in due:
            proc = by_id.get(pid)
            if proc is None:
                continue
            if proc.key == AUDIT_PROCESS:
                # the audit: one item per active person (services.processes.audit)
                out.extend(run_audit_occurrence(ctx, proc, okey, at))
                continue
            done = _run_occurrence(ctx, proc, okey, at)
            if done is not None:
                out.append(done)
    return out
