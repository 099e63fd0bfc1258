"""New items replayed in memory by the import's rules and written with one statement per
table per batch (ids, keys and SLA filled in under the lock)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update

from ...domain.fields import clean_body, clean_title
from ...domain.sla import match_policy
from ...importers.model import Source
from ...store.bulk import execute_many, insert_many
from ..context import Ctx, display
from ..sla.compute import refresh_item_sla, sla_update, workflow_categories
from ..sla.rules import load_rules
from .plan import ItemPlan
from .resolve import Resolved
from .tables import COMMENT, EVENT, ITEM, QUEUE

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
        # Read once for the batch (they cannot change inside its transaction).
        rules = load_rules(conn)
        categories = workflow_categories(conn, self.setup.workflow_id)
        breaches: list[dict[str, Any]] = []  # late targets' events, inserted together
        try:
            for row, statuses in zip(items, prepared.statuses, strict=True):
                # A done item's verdict is taken when it was resolved (a late target's
                # breach is recorded then); an open one's as of now.
                ctx.now = row["resolved_at"] if row["category"] == "done" else now
                values = {**row, **{c: None for c in _SLA_COLUMNS}}
                out = refresh_item_sla(
                    ctx,
                    row["id"],
                    values,
                    statuses=statuses,
                    rules=rules,
                    categories=categories,
                    breaches=breaches,
                )
                out = {c: out.get(c) for c in _SLA_COLUMNS}
                if any(v is not None for v in out.values()):
                    updates.append({"w_id": row["id"], **{f"v_{c}": v for c, v in out.items()}})
        finally:
            ctx.now = saved
        ctx.record_many(breaches)
        if updates:
            execute_many(conn, sla_update(_SLA_COLUMNS), updates)
        return ids


_QUEUE_NUMBERS = select(QUEUE.c.id, QUEUE.c.next_number, QUEUE.c.prefix)
