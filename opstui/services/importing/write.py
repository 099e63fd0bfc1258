"""Writing: short batches under the lock, new items replayed in memory and inserted in
bulk, changes to existing items through the service functions."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete, select, update

from ...domain.fields import clean_title
from ...errors import OpsError
from ...importers.model import ImportError_, Problem, Source
from ...store.engine import Database
from .. import items as item_svc
from .. import transitions
from ..context import Ctx, writing
from .plan import ItemPlan, Op
from .replay import _BulkWriter, _Setup, _source_data
from .report import ImportReport, Progress
from .resolve import Resolved
from .tables import EVENT, ITEM, PERSON, POLICY, QUEUE, STATE, TRANSITION, WORKFLOW
from .worklogs import write_worklogs

#: How long one write transaction should hold the lock before it commits (batch sizes
#: adapt to it).
BATCH_SECONDS = 0.5
#: The gap between two batches.  SQLite's busy handler lets a waiting writer retry every
#: 100 ms at most, so a gap shorter than that can starve it; the next batch is replayed
#: in memory during the gap, so little of it is idle.
YIELD_SECONDS = 0.11


# --- writing --------------------------------------------------------------------------


def _setup(ctx: Ctx, res: Resolved) -> _Setup:
    from .. import people as people_svc

    conn = ctx.conn
    wf = conn.execute(select(WORKFLOW.c.id).where(WORKFLOW.c.name == res.workflow)).first()
    created_wf = wf is None
    if wf is None:
        wf_id = conn.execute(
            WORKFLOW.insert().values(
                name=res.workflow,
                initial_state=res.initial_state,
                description=f"made by an import from {res.workflow}: any state may follow any",
            )
        ).inserted_primary_key[0]
        conn.execute(
            STATE.insert(),
            [
                {"workflow_id": wf_id, "name": s, "label": "", "category": c, "position": i}
                for i, (s, c) in enumerate(res.wf_states.items())
            ],
        )
        conn.execute(
            TRANSITION.insert(),
            [
                {"workflow_id": wf_id, "from_state": "*", "to_state": s, "name": "", "actions": []}
                for s in res.wf_states
            ],
        )
        ctx.record("loaded", None, res.workflow, entity="workflow", entity_id=wf_id)
    else:
        wf_id = wf[0]
    created_queues = []
    for qm in res.new_queues:
        created_queues.append(
            people_svc.add_queue_in(
                ctx, slug=qm.slug, name=qm.name, prefix=qm.prefix, workflow=res.workflow
            )
        )
    created_people = []
    for handle, name in res.new_people:
        created_people.append(people_svc.add_person_in(ctx, handle=handle, name=name))
    queue_ids = {r.slug: r.id for r in conn.execute(select(QUEUE.c.slug, QUEUE.c.id))}
    person_ids = {r.handle: r.id for r in conn.execute(select(PERSON.c.handle, PERSON.c.id))}
    if res.mapping.pause_waiting:
        _pause_in_waiting_states(ctx, res)
    return _Setup(wf_id, created_wf, queue_ids, created_queues, person_ids, created_people)


def _pause_in_waiting_states(ctx: Ctx, res: Resolved) -> None:
    """Waiting states of the import's workflow pause the SLA clock of every policy that
    can apply to the imported queues (``[import] pause_waiting = false`` turns this off)."""
    waiting = [s for s, c in res.wf_states.items() if c == "waiting"]
    if not waiting:
        return
    slugs = {q.slug for q in res.queues.values()}
    qids = {r.id for r in ctx.conn.execute(select(QUEUE.c.id).where(QUEUE.c.slug.in_(slugs)))}
    for pol in ctx.conn.execute(
        select(POLICY.c.id, POLICY.c.name, POLICY.c.queue_id, POLICY.c.pause_in)
    ):
        if pol.queue_id is not None and pol.queue_id not in qids:
            continue
        have = list(pol.pause_in or [])
        add = [s for s in waiting if s not in have]
        if add:
            ctx.conn.execute(
                update(POLICY).where(POLICY.c.id == pol.id).values(pause_in=have + add)
            )
            ctx.record(
                "pause_in",
                ", ".join(have) or None,
                ", ".join(have + add),
                entity="sla",
                entity_id=pol.id,
            )


def _write(
    db: Database,
    source: Source,
    res: Resolved,
    plans: list[ItemPlan],
    report: ImportReport,
    progress: Progress | None,
    bulk: bool,
) -> None:
    todo = [p for p in plans if p.action != "skip"]
    total = len(todo)
    if not todo and not res.new_queues and not res.new_people and res.workflow_exists:
        return  # the same export again: nothing to write, not even a note
    created_ids: list[int] = []
    setup: _Setup | None = None
    try:
        with writing(db) as ctx:
            setup = _setup(ctx, res)
            writer = _BulkWriter(ctx, source, res, setup)
        done = 0
        size = 200
        if progress:
            progress(0, total)
        committed = time.perf_counter()
        while done < total:
            chunk = todo[done : done + size]
            creates = [p for p in chunk if p.action == "create"]
            # Replay in memory outside the transaction, while other writers get their turn.
            prepared = writer.prepare(creates) if bulk else None
            gap = YIELD_SECONDS - (time.perf_counter() - committed)
            if gap > 0 and done:
                time.sleep(gap)
            started = time.perf_counter()
            with writing(db) as ctx:
                ctx.replay = True
                if prepared is not None:
                    new_ids = writer.write(ctx, prepared)
                else:
                    new_ids = [_create_with_services(ctx, source, res, p) for p in creates]
                created_ids += new_ids
                for p in chunk:
                    if p.action in ("update", "refresh"):
                        try:
                            _update_with_services(ctx, source, res, p)
                        except OpsError as exc:
                            line = p.ops[0].line if p.ops else p.src.line
                            raise ImportError_(
                                f"{source.file}:{line}: {p.src.key} ({p.key}): {exc}",
                                [Problem(source.file, line, f"{p.src.key}: {exc}")],
                            ) from None
                _write_time(ctx, res, chunk, dict(zip(map(id, creates), new_ids, strict=True)))
            committed = time.perf_counter()
            spent = committed - started
            size = max(10, min(5000, int(len(chunk) * BATCH_SECONDS / max(spent, 0.001))))
            done += len(chunk)
            report.batches += 1
            if progress:
                progress(done, total)
        with writing(db) as ctx:
            ctx.record(
                "import",
                None,
                f"{source.system} {source.file}: {report.created} created, "
                f"{report.updated} updated, {report.unchanged} unchanged",
                entity="load",
            )
    except BaseException:
        _undo(db, created_ids, setup)
        raise
    finally:
        db.forget_person()


def _write_time(ctx: Ctx, res: Resolved, chunk: list[ItemPlan], new_ids: dict[int, int]) -> None:
    """The worklogs of a batch's items, in the batch's transaction (``worklogs``)."""
    todo = [p for p in chunk if p.worklogs is not None and p.worklogs.changes]
    if not todo:
        return
    ids = [new_ids[id(p)] if p.action == "create" else p.item_id for p in todo]
    versions = dict(
        ctx.conn.execute(select(ITEM.c.id, ITEM.c.version).where(ITEM.c.id.in_(ids))).all()
    )
    people = {r.handle: r.id for r in ctx.conn.execute(select(PERSON.c.handle, PERSON.c.id))}
    write_worklogs(
        ctx, res, people, [(i, versions[i], p.worklogs) for i, p in zip(ids, todo, strict=True)]
    )


def _undo(db: Database, item_ids: list[int], setup: _Setup | None) -> None:
    """Remove what this run created (best effort: the original error is what is raised)."""
    try:
        with writing(db) as ctx:
            for i in range(0, len(item_ids), 500):
                chunk = item_ids[i : i + 500]
                ctx.conn.execute(delete(EVENT).where(EVENT.c.item_id.in_(chunk)))
                ctx.conn.execute(delete(ITEM).where(ITEM.c.id.in_(chunk)))
            if setup is not None:
                for qid in setup.created_queues:
                    ctx.conn.execute(delete(QUEUE).where(QUEUE.c.id == qid))
                for pid in setup.created_people:
                    ctx.conn.execute(delete(PERSON).where(PERSON.c.id == pid))
                if setup.workflow_created:
                    ctx.conn.execute(delete(WORKFLOW).where(WORKFLOW.c.id == setup.workflow_id))
    except Exception:  # noqa: BLE001  (the import's own error is the one to report)
        pass


def _as(ctx: Ctx, actor: str | None, person_ids: dict[str, int], res: Resolved) -> None:
    if actor is None:
        ctx.unix_user, ctx.person_id = ctx.db.unix_user, ctx.db.person_id(ctx.conn)
        return
    handle = res.people.get(actor)
    ctx.unix_user = actor
    ctx.person_id = person_ids.get(handle) if handle else None


def _apply_op(ctx: Ctx, item: Any, op: Op, source: Source) -> None:
    """One change through the service functions (as a live change would make it)."""
    if op.field == "queue":
        if item.queue != op.new:
            item_svc.transfer_in(ctx, item, op.new)
    elif op.field == "status":
        if item.status != op.new:
            transitions.transition_in(ctx, item, op.new)
    elif op.field == "owner":
        if item.owner != op.new:
            item_svc.assign_in(ctx, item, op.new)
    elif op.field == "priority":
        if item.priority != op.new:
            item_svc.update_item(
                ctx, item, {"priority": op.new}, [("priority", f"P{item.priority}", f"P{op.new}")]
            )
    elif op.field == "title":
        if item.title != op.new:
            item_svc.update_item(
                ctx, item, {"title": clean_title(op.new)}, [("title", item.title, op.new)]
            )
    elif op.field == "comment":
        item_svc.comment_in(ctx, item, op.new)
    elif op.field.startswith("source:"):
        name = op.field.removeprefix("source:")
        data = dict(item.data or {})
        src = dict(data.get("source") or {})
        fields = dict(src.get("fields") or {})
        if op.new is None:
            fields.pop(name, None)
        else:
            fields[name] = op.new
        src["fields"] = fields
        data["source"] = src
        item_svc.update_item(ctx, item, {"data": data}, [(op.field, op.old, op.new)])


def _settle_sla(ctx: Ctx, item_id: int) -> None:
    """After a replay, an open item's SLA states are as of now (not its last change)."""
    from ..sla.compute import apply_sla

    category = ctx.conn.execute(select(ITEM.c.category).where(ITEM.c.id == item_id)).scalar_one()
    if category != "done":
        saved = ctx.now
        ctx.now = ctx.db.clock.now()
        try:
            apply_sla(ctx, item_id)
        finally:
            ctx.now = saved


def _create_with_services(ctx: Ctx, source: Source, res: Resolved, plan: ItemPlan) -> int:
    """Create and replay one item through the service functions (the reference path)."""
    start = plan.start
    assert start is not None and plan.start_at is not None
    person_ids = {r.handle: r.id for r in ctx.conn.execute(select(PERSON.c.handle, PERSON.c.id))}
    ctx.now = plan.start_at
    _as(ctx, plan.start_actor, person_ids, res)
    rec = item_svc.create_item_in(
        ctx,
        queue=start.queue,
        title=start.title,
        body=plan.src.body,
        kind=plan.src.kind,
        priority=start.priority,
        owner=start.owner,
        estimate=plan.src.estimate_hours,
        requester=plan.src.requester or ctx.unix_user,
        due_at=plan.src.due,
        created_at=plan.start_at,
        status=start.status,
        data={"source": {"fields": dict(start.fields)}},
    )
    ctx.conn.execute(update(ITEM).where(ITEM.c.id == rec.id).values(external_key=plan.src.key))
    for op in plan.ops:
        ctx.now = op.at
        _as(ctx, op.actor, person_ids, res)
        _apply_op(ctx, item_svc.item_for_update(ctx, rec.key), op, source)
    _as(ctx, None, person_ids, res)
    _settle_sla(ctx, rec.id)
    item = item_svc.item_for_update(ctx, rec.key)
    ctx.conn.execute(
        update(ITEM).where(ITEM.c.id == rec.id).values(data=_source_data(plan, source, item.data))
    )
    return rec.id


def _update_with_services(ctx: Ctx, source: Source, res: Resolved, plan: ItemPlan) -> None:
    person_ids = {r.handle: r.id for r in ctx.conn.execute(select(PERSON.c.handle, PERSON.c.id))}
    assert plan.key is not None
    saved = ctx.now
    for op in plan.ops:
        ctx.now = op.at
        _as(ctx, op.actor, person_ids, res)
        _apply_op(ctx, item_svc.item_for_update(ctx, plan.key), op, source)
    _as(ctx, None, person_ids, res)
    ctx.now = saved
    item = item_svc.item_for_update(ctx, plan.key)
    if plan.estimate is not None and item.estimate_hours is None:
        item_svc.update_item(
            ctx, item, {"estimate_hours": plan.estimate}, [("estimate", None, plan.estimate)]
        )
        item = item_svc.item_for_update(ctx, plan.key)
    _settle_sla(ctx, item.id)
    # Source bookkeeping (revision, facts): not a change of the item, so no event.
    ctx.conn.execute(
        update(ITEM).where(ITEM.c.id == item.id).values(data=_source_data(plan, source, item.data))
    )
