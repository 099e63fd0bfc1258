"""Writing: short batches under the lock, new items replayed in memory and inserted in
bulk, changes to existing items through the service functions."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update

from ...domain import models
from ...domain.fields import clean_body, clean_title
from ...domain.sla import match_policy
from ...errors import OpsError
from ...importers.model import ImportError_, Problem, Source
from ...store.bulk import insert_many
from ...store.engine import Database
from .. import items as item_svc
from .. import transitions
from ..context import Ctx, display, writing
from ..sla.compute import _sla_update, refresh_item_sla
from ..sla.rules import load_rules
from .plan import ItemPlan, Op
from .report import ImportReport, Progress
from .resolve import Resolved

ITEM = models.Item.__table__
QUEUE = models.Queue.__table__
PERSON = models.Person.__table__
WORKFLOW = models.Workflow.__table__
STATE = models.WorkflowState.__table__
TRANSITION = models.WorkflowTransition.__table__
EVENT = models.Event.__table__
COMMENT = models.Comment.__table__
POLICY = models.SlaPolicy.__table__


#: How long one write transaction should hold the lock before it commits (batch sizes
#: adapt to it).
BATCH_SECONDS = 0.5
#: The gap between two batches.  SQLite's busy handler lets a waiting writer retry every
#: 100 ms at most, so a gap shorter than that can starve it; the next batch is replayed
#: in memory during the gap, so little of it is idle.
YIELD_SECONDS = 0.11


# --- writing --------------------------------------------------------------------------


@dataclass
class _Setup:
    workflow_id: int
    workflow_created: bool
    queue_ids: dict[str, int]
    created_queues: list[int]
    person_ids: dict[str, int]
    created_people: list[int]


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


def _source_data(plan: ItemPlan, source: Source, base: dict[str, Any] | None) -> dict[str, Any]:
    old = dict((base or {}).get("source") or {})
    facts = {**old.get("facts", {}), **plan.facts}
    assert plan.final is not None
    return {
        **(base or {}),
        "source": {
            "system": source.system,
            "key": plan.src.key,
            "file": source.file,
            "rev": list(plan.rev) if plan.rev else old.get("rev"),
            "fields": dict(plan.final.fields),
            "facts": facts,
            "last": plan.final.as_json(),
            "comments": plan.comments_total,
        },
    }


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
                    created_ids += writer.write(ctx, prepared)
                else:
                    for p in creates:
                        created_ids.append(_create_with_services(ctx, source, res, p))
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
    _settle_sla(ctx, item.id)
    # Source bookkeeping (revision, facts): not a change of the item, so no event.
    ctx.conn.execute(
        update(ITEM).where(ITEM.c.id == item.id).values(data=_source_data(plan, source, item.data))
    )


_SLA_COLUMNS = (
    "next_due_at",
    "sla_check_at",
    "sla_fr_due",
    "sla_fr_state",
    "sla_fr_warn",
    "sla_paused_since",
    "sla_policy",
    "sla_res_due",
    "sla_res_start",
    "sla_res_state",
    "sla_res_warn",
)


_NEXT_NUMBER = (
    update(QUEUE).where(QUEUE.c.id == bindparam("w_id")).values(next_number=bindparam("v_number"))
)


@dataclass
class _Prepared:
    """New items replayed in memory; ids, keys and SLA are filled in under the lock."""

    items: list[dict[str, Any]]
    events: list[list[dict[str, Any]]]
    comments: list[list[dict[str, Any]]]
    statuses: list[list[tuple[datetime, str]]]


class _BulkWriter:
    """Replays new items in memory by the rules in the module doc and writes them with
    one statement per table per batch."""

    def __init__(self, ctx: Ctx, source: Source, res: Resolved, setup: _Setup):
        self.source = source
        self.res = res
        self.setup = setup
        self.rules = load_rules(ctx.conn)
        self.default_user = ctx.db.unix_user
        self.default_pid = ctx.db.person_id(ctx.conn)
        self.clock = ctx.db.clock

    def _policy(self, queue_id: int, kind: str, priority: int) -> str | None:
        p = match_policy(self.rules.policies, queue_id, kind, priority)
        return p.name if p else None

    def _who(self, actor: str | None) -> tuple[str, int | None]:
        if actor is None:
            return self.default_user, self.default_pid
        handle = self.res.people.get(actor)
        return actor, (self.setup.person_ids.get(handle) if handle else None)

    def prepare(self, plans: list[ItemPlan]) -> _Prepared:
        out = _Prepared([], [], [], [])
        for plan in plans:
            row, events, comments, statuses = self._replay(plan)
            out.items.append(row)
            out.events.append(events)
            out.comments.append(comments)
            out.statuses.append(statuses)
        return out

    def _replay(
        self, plan: ItemPlan
    ) -> tuple[
        dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[tuple[datetime, str]]
    ]:
        res = self.res
        start = plan.start
        assert start is not None and plan.start_at is not None
        qid = self.setup.queue_ids[start.queue]
        cat = res.wf_states[start.status]
        at = plan.start_at
        user, pid = self._who(plan.start_actor)
        requester = plan.src.requester or user
        row: dict[str, Any] = {
            "id": None,
            "key": None,
            "title": clean_title(start.title),
            "body": clean_body(plan.src.body),
            "kind": (plan.src.kind or "task").strip() or "task",
            "priority": start.priority,
            "queue_id": qid,
            "workflow_id": self.setup.workflow_id,
            "status": start.status,
            "category": cat,
            "owner_id": self.setup.person_ids[start.owner] if start.owner else None,
            "requester_id": None,
            "requester": requester,
            "estimate_hours": plan.src.estimate_hours,
            "created_at": at,
            "updated_at": at,
            "first_response_at": None,
            "resolved_at": at if cat == "done" else None,
            "due_at": plan.src.due,
            "approval": "none",
            "parent_id": None,
            "version": 1,
            "external_key": plan.src.key,
            "sla_start": None,
            "_first_queue": qid,
        }
        events: list[dict[str, Any]] = []
        comments: list[dict[str, Any]] = []

        def ev(f: str, old: Any, new: Any, ts: datetime, u: str, p: int | None, v: int) -> None:
            events.append(
                {
                    "ts": ts,
                    "unix_user": u,
                    "person_id": p,
                    "entity": "item",
                    "entity_id": None,
                    "item_id": None,
                    "field": f,
                    "old": display(old),
                    "new": display(new),
                    "item_version": v,
                }
            )

        ev("created", None, None, at, user, pid, 1)  # the key is known under the lock
        if start.owner:
            ev("owner", None, start.owner, at, user, pid, 1)
        statuses = [(at, start.status)]
        version = 1
        for op in plan.ops:
            user, pid = self._who(op.actor)
            ts = op.at
            if op.field == "comment":
                body = clean_body((op.new or "").strip())
                if not body:
                    continue
                comments.append(
                    {
                        "item_id": None,
                        "author_id": pid,
                        "unix_user": user,
                        "body": body,
                        "created_at": ts,
                    }
                )
                ev("comment", None, " ".join(body.split())[:80], ts, user, pid, version)
                if row["first_response_at"] is None and user != row["requester"]:
                    row["first_response_at"] = ts
                    ev("first_response", None, ts, ts, user, pid, version)
                row["updated_at"] = ts
                continue
            version += 1
            if op.field == "queue":
                new_qid = self.setup.queue_ids[op.new]
                before = self._policy(row["queue_id"], row["kind"], row["priority"])
                after = self._policy(new_qid, row["kind"], row["priority"])
                row["queue_id"] = new_qid
                if before != after:
                    row["sla_start"] = ts
            elif op.field == "status":
                new_cat = res.wf_states[op.new]
                if (
                    row["category"] == "new"
                    and new_cat != "new"
                    and row["first_response_at"] is None
                ):
                    row["first_response_at"] = ts
                if new_cat == "done" and row["category"] != "done":
                    row["resolved_at"] = ts
                elif new_cat != "done" and row["category"] == "done":
                    row["resolved_at"] = None
                row["status"], row["category"] = op.new, new_cat
                statuses.append((ts, op.new))
            elif op.field == "owner":
                row["owner_id"] = self.setup.person_ids[op.new] if op.new else None
            elif op.field == "priority":
                row["priority"] = op.new
            elif op.field == "title":
                row["title"] = clean_title(op.new)
            if op.field == "priority":
                ev("priority", f"P{op.old}", f"P{op.new}", ts, user, pid, version)
            else:
                ev(op.field, op.old, op.new, ts, user, pid, version)
            row["updated_at"] = ts
        row["version"] = version
        row["data"] = _source_data(plan, self.source, None)
        return row, events, comments, statuses

    def write(self, ctx: Ctx, prepared: _Prepared) -> list[int]:
        """Give the prepared items ids and keys, insert them, and compute their SLA."""
        if not prepared.items:
            return []
        conn = ctx.conn
        next_id = int(conn.execute(select(func.max(ITEM.c.id))).scalar() or 0) + 1
        numbers = {r.id: [r.next_number, r.prefix] for r in conn.execute(_QUEUE_NUMBERS)}
        start_numbers = {qid: v[0] for qid, v in numbers.items()}
        items: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        comments: list[dict[str, Any]] = []
        ids: list[int] = []
        for row, evs, cms in zip(prepared.items, prepared.events, prepared.comments, strict=True):
            item_id = next_id
            next_id += 1
            ids.append(item_id)
            qid = row.pop("_first_queue")
            number, prefix = numbers[qid]
            numbers[qid][0] = number + 1
            key = f"{prefix}-{number}"
            row["id"], row["key"] = item_id, key
            items.append(row)
            for e in evs:
                e["item_id"] = e["entity_id"] = item_id
            evs[0]["new"] = key  # the "created" event
            events.extend(evs)
            for c in cms:
                c["item_id"] = item_id
            comments.extend(cms)
        insert_many(conn, ITEM, items)
        insert_many(conn, EVENT, events)
        insert_many(conn, COMMENT, comments)
        moved = [
            {"w_id": qid, "v_number": v[0]}
            for qid, v in numbers.items()
            if v[0] != start_numbers[qid]
        ]
        if moved:
            conn.execute(_NEXT_NUMBER, moved)
        saved = ctx.now
        updates: list[dict[str, Any]] = []
        now = self.clock.now()
        try:
            for row, statuses in zip(items, prepared.statuses, strict=True):
                # A done item's verdict is taken when it was resolved (a late target's
                # breach is recorded then); an open one's as of now.
                ctx.now = row["resolved_at"] if row["category"] == "done" else now
                values = {**row, **{c: None for c in _SLA_COLUMNS}}
                out = refresh_item_sla(ctx, row["id"], values, statuses=statuses)
                out = {c: out.get(c) for c in _SLA_COLUMNS}
                if any(v is not None for v in out.values()):
                    updates.append({"w_id": row["id"], **{f"v_{c}": v for c, v in out.items()}})
        finally:
            ctx.now = saved
        if updates:
            conn.execute(_sla_update(_SLA_COLUMNS), updates)
        return ids


_QUEUE_NUMBERS = select(QUEUE.c.id, QUEUE.c.next_number, QUEUE.c.prefix)
