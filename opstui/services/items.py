"""Item use cases: create, edit, assign, transition, comment, link.

Each public function is one write transaction (``writing``): read the item inside the
IMMEDIATE transaction, check the caller's version, apply, append Events, run actions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update

from ..domain import models
from ..domain.fields import clean_body, clean_title, parse_estimate, parse_priority
from ..errors import Conflict, InvalidTransition, NotFound, ValidationError
from ..store import queries as q
from ..store.engine import Database
from .context import Ctx, writing
from .sla.compute import apply_sla

ITEM = models.Item.__table__
QUEUE = models.Queue.__table__
PERSON = models.Person.__table__
STATE = models.WorkflowState.__table__
WORKFLOW = models.Workflow.__table__
COMMENT = models.Comment.__table__
LINK = models.ItemLink.__table__

# --- lookups inside a transaction ----------------------------------------------------


def item_for_update(ctx: Ctx, key: str) -> q.ItemRecord:
    item = q.get_item(ctx.conn, key)
    if item is None:
        raise NotFound(f"no item {key.strip().upper()!r}")
    return item


# Statements every change runs, built once (constructing them per call was a large part
# of a change's CPU: benchmarks/RESULTS.md).
_PERSON_BY_HANDLE = select(PERSON.c.id, PERSON.c.active).where(
    PERSON.c.handle == bindparam("handle")
)
_STATE_CATEGORY = select(STATE.c.category).where(
    STATE.c.workflow_id == bindparam("workflow_id"), STATE.c.name == bindparam("state")
)
_ITEM_WORKFLOW = select(ITEM.c.workflow_id).where(ITEM.c.id == bindparam("item_id"))


_COMMENT_INSERT = COMMENT.insert()
_ITEM_REQUESTER = select(ITEM.c.requester, ITEM.c.requester_id).where(
    ITEM.c.id == bindparam("item_id")
)


#: The item UPDATE a comment makes: ``updated_at`` (and ``first_response_at``), built once.
_COMMENT_TOUCH = {
    has_fr: update(ITEM)
    .where(ITEM.c.id == bindparam("w_id"))
    .values(
        {
            c: bindparam(f"v_{c}", type_=ITEM.c[c].type)
            for c in (("updated_at", "first_response_at") if has_fr else ("updated_at",))
        }
    )
    for has_fr in (False, True)
}


def item_queue_id(ctx: Ctx, item_id: int) -> int:
    return int(ctx.conn.execute(select(ITEM.c.queue_id).where(ITEM.c.id == item_id)).scalar_one())


def workflow_id_of(ctx: Ctx, item: q.ItemRecord) -> int:
    """The item's workflow, looked up once per transaction and item version."""
    memo: dict[tuple[int, int], int] | None = getattr(ctx, "_workflow_ids", None)
    if memo is None:
        memo = {}
        ctx._workflow_ids = memo  # type: ignore[attr-defined]
    wf_id = memo.get((item.id, item.version))
    if wf_id is None:
        wf_id = int(ctx.conn.execute(_ITEM_WORKFLOW, {"item_id": item.id}).scalar_one())
        memo[(item.id, item.version)] = wf_id
    return wf_id


def person_id(ctx: Ctx, handle: str) -> int:
    row = ctx.conn.execute(_PERSON_BY_HANDLE, {"handle": handle.strip()}).first()
    if row is None:
        raise NotFound(f"no person with handle {handle.strip()!r} (see 'opstui people ls')")
    return int(row.id)


def queue_row(ctx: Ctx, slug: str) -> Any:
    row = ctx.conn.execute(select(QUEUE).where(QUEUE.c.slug == slug.strip().lower())).first()
    if row is None:
        slugs = ", ".join(r[0] for r in ctx.conn.execute(select(QUEUE.c.slug).order_by(QUEUE.c.id)))
        raise NotFound(f"no queue {slug.strip()!r} (queues: {slugs or 'none yet'})")
    return row


def state_category(ctx: Ctx, workflow_id: int, state: str) -> str:
    row = ctx.conn.execute(_STATE_CATEGORY, {"workflow_id": workflow_id, "state": state}).first()
    if row is None:
        raise InvalidTransition(f"{state!r} is not a state of this item's workflow")
    return str(row[0])


def check_version(ctx: Ctx, item: q.ItemRecord, expected: int | None) -> None:
    """Raise Conflict naming who changed what since ``expected``."""
    if expected is None or expected == item.version:
        return
    changes = q.recent_events(ctx.conn, 20, item.id, since_version=expected)
    if changes:
        who = sorted({e.person or e.unix_user for e in changes})
        what = ", ".join(
            f"{e.field}: {e.old or '-'} -> {e.new or '-'}" if e.field != "comment" else "comment"
            for e in changes[-4:]
        )
        at = changes[-1].ts.astimezone().strftime("%H:%M:%S")
        detail = f"changed by {', '.join(who)} at {at} ({what})"
    else:
        detail = "changed elsewhere"
    raise Conflict(
        f"{item.key} was {detail} since you loaded it (v{expected} -> v{item.version}); "
        "nothing was overwritten, reload and try again",
        key=item.key,
        current_version=item.version,
    )


_UPDATES: dict[tuple[str, ...], Any] = {}


def _versioned_update(columns: tuple[str, ...]) -> Any:
    """``UPDATE item SET <columns>, version, updated_at WHERE id AND version``, built once
    per set of columns: constructing it per change cost ~0.6 ms of a ~2 ms change."""
    stmt = _UPDATES.get(columns)
    if stmt is None:
        values = {
            c: bindparam(f"v_{c}", type_=ITEM.c[c].type)
            for c in (*columns, "version", "updated_at")
        }
        stmt = (
            update(ITEM)
            .where(ITEM.c.id == bindparam("w_id"), ITEM.c.version == bindparam("w_version"))
            .values(values)
        )
        _UPDATES[columns] = stmt
    return stmt


def update_item(
    ctx: Ctx,
    item: q.ItemRecord,
    changes: dict[str, Any],
    events: list[tuple[str, Any, Any]],
) -> int:
    """Apply column ``changes`` with an optimistic version check; record ``events``."""
    new_version = item.version + 1
    params = {f"v_{k}": v for k, v in changes.items()}
    params.update(w_id=item.id, w_version=item.version, v_version=new_version, v_updated_at=ctx.now)
    result = ctx.conn.execute(_versioned_update(tuple(sorted(changes))), params)
    if result.rowcount != 1:  # cannot happen under BEGIN IMMEDIATE, but never write blind
        raise Conflict(f"{item.key} changed while saving; nothing was overwritten", key=item.key)
    for field_name, old, new in events:
        ctx.record(field_name, old, new, item_id=item.id, item_version=new_version)
    apply_sla(ctx, item.id)
    return new_version


# --- use cases -----------------------------------------------------------------------


def create_item_in(
    ctx: Ctx,
    *,
    queue: str,
    title: str,
    body: str = "",
    kind: str = "task",
    priority: int | str = 3,
    owner: str | None = None,
    estimate: float | str | None = None,
    requester: str = "",
    due_at: datetime | None = None,
    created_at: datetime | None = None,
    parent_id: int | None = None,
    data: dict[str, Any] | None = None,
    status: str | None = None,
) -> q.ItemRecord:
    """Create an item inside an open write context (used by actions and the loader too)."""
    qrow = queue_row(ctx, queue)
    wf = ctx.conn.execute(select(WORKFLOW).where(WORKFLOW.c.id == qrow.workflow_id)).one()
    status = status or wf.initial_state
    category = state_category(ctx, wf.id, status)
    owner_id = person_id(ctx, owner) if owner else None
    kind = (kind or "task").strip() or "task"
    number = qrow.next_number
    ctx.conn.execute(update(QUEUE).where(QUEUE.c.id == qrow.id).values(next_number=number + 1))
    key = f"{qrow.prefix}-{number}"
    when = created_at or ctx.now
    values = dict(
        key=key,
        title=clean_title(title),
        body=clean_body(body),
        kind=kind,
        priority=parse_priority(priority),
        queue_id=qrow.id,
        workflow_id=wf.id,
        status=status,
        category=category,
        owner_id=owner_id,
        requester=requester or ctx.unix_user,
        requester_id=ctx.person_id if not requester else None,
        estimate_hours=parse_estimate(estimate),
        created_at=when,
        updated_at=when,
        due_at=due_at,
        parent_id=parent_id,
        data=data or {},
        version=1,
        resolved_at=when if category == "done" else None,
    )
    item_id = ctx.conn.execute(ITEM.insert().values(**values)).inserted_primary_key[0]
    ctx.record("created", None, key, item_id=item_id, item_version=1)
    if owner:
        ctx.record("owner", None, owner, item_id=item_id, item_version=1)
    apply_sla(ctx, item_id)
    record = q.get_item_by_id(ctx.conn, item_id)
    assert record is not None
    return record


def create_item(db: Database, **fields: Any) -> q.ItemRecord:
    with writing(db) as ctx:
        return create_item_in(ctx, **fields)


EDITABLE = {
    "title": ("title", clean_title),
    "body": ("body", clean_body),
    "kind": ("kind", lambda v: str(v).strip() or "task"),
    "priority": ("priority", parse_priority),
    "estimate": ("estimate_hours", parse_estimate),
    "due": ("due_at", lambda v: v),
}


def edit_in(ctx: Ctx, item: q.ItemRecord, fields: dict[str, Any]) -> q.ItemRecord:
    """Change any of title, body, kind, priority, estimate, due inside an open write; one
    event per field that really changes (priorities shown as P1..P4)."""
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"cannot edit {', '.join(sorted(unknown))}")
    changes: dict[str, Any] = {}
    events: list[tuple[str, Any, Any]] = []
    for name, value in fields.items():
        column, clean = EDITABLE[name]
        new = clean(value)
        old = getattr(item, column)
        if new != old:
            changes[column] = new
            shown = (f"P{old}", f"P{new}") if name == "priority" else (old, new)
            events.append((name, *shown))
    if not changes:
        return item
    update_item(ctx, item, changes, events)
    return item_for_update(ctx, item.key)


def edit_item(
    db: Database, key: str, *, expected_version: int | None = None, **fields: Any
) -> q.ItemRecord:
    """Change title, body, kind, priority, estimate or due time."""
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"cannot edit {', '.join(sorted(unknown))}")
    with writing(db) as ctx:
        item = item_for_update(ctx, key)
        check_version(ctx, item, expected_version)
        return edit_in(ctx, item, fields)


def assign_in(ctx: Ctx, item: q.ItemRecord, handle: str | None) -> q.ItemRecord:
    new_id = person_id(ctx, handle) if handle else None
    if (item.owner or None) == (handle or None):
        return item
    update_item(ctx, item, {"owner_id": new_id}, [("owner", item.owner, handle)])
    return item_for_update(ctx, item.key)


def assign(
    db: Database, key: str, handle: str | None, *, expected_version: int | None = None
) -> q.ItemRecord:
    """Give the item to ``handle`` (or to nobody with ``None``)."""
    with writing(db) as ctx:
        item = item_for_update(ctx, key)
        check_version(ctx, item, expected_version)
        return assign_in(ctx, item, handle)


def map_state(ctx: Ctx, item: q.ItemRecord, workflow_id: int, state: str | None = None) -> str:
    """The state ``item`` takes in workflow ``workflow_id``: ``state`` if given (it must
    have the item's category), else the same name, else the only state of the same
    category, else the workflow's initial state if that fits.  Refuses, naming the states
    that would fit, when the choice is not clear."""
    states = q.workflow_states(ctx.conn, workflow_id)
    fitting = [name for name, cat in states if cat == item.category]
    wf_name = ctx.conn.execute(
        select(WORKFLOW.c.name, WORKFLOW.c.initial_state).where(WORKFLOW.c.id == workflow_id)
    ).one()
    if state is not None:
        state = state.strip()
        if state not in fitting:
            raise InvalidTransition(
                f"{state!r} is not a {item.category} state of workflow {wf_name.name!r} "
                f"(states that fit {item.key}: {', '.join(fitting) or 'none'})"
            )
        return state
    if item.status in fitting:
        return item.status
    if len(fitting) == 1:
        return fitting[0]
    if wf_name.initial_state in fitting:
        return str(wf_name.initial_state)
    if not fitting:
        raise InvalidTransition(
            f"workflow {wf_name.name!r} has no {item.category} state for {item.key} "
            f"({item.status!r}); move it to another state first"
        )
    raise InvalidTransition(
        f"{item.key} is {item.status!r} ({item.category}); workflow {wf_name.name!r} has "
        f"several states that fit: {', '.join(fitting)} (choose one with --state)"
    )


def transfer_in(
    ctx: Ctx,
    item: q.ItemRecord,
    queue: str,
    *,
    owner: str | None = None,
    to_triage: bool = False,
    state: str | None = None,
) -> q.ItemRecord:
    """Move ``item`` to another queue inside an open write.

    Across workflows the state is mapped by category (:func:`map_state`).  When the new
    queue falls under another SLA policy, that policy's clock starts at the move.  The
    owner is kept unless ``owner`` names a new one or ``to_triage`` leaves it unowned for
    the new queue's triage.
    """
    from ..domain.sla import match_policy
    from .sla.rules import load_rules

    if owner and to_triage:
        raise ValidationError("give either an owner or --to-triage, not both")
    qrow = queue_row(ctx, queue)
    current = ctx.conn.execute(
        select(ITEM.c.queue_id, ITEM.c.workflow_id).where(ITEM.c.id == item.id)
    ).one()
    if qrow.id == current.queue_id:
        raise ValidationError(f"{item.key} is already in queue {qrow.slug}")
    changes: dict[str, Any] = {"queue_id": qrow.id}
    events: list[tuple[str, Any, Any]] = [("queue", item.queue, qrow.slug)]
    if qrow.workflow_id != current.workflow_id:
        new_state = map_state(ctx, item, qrow.workflow_id, state)
        changes["workflow_id"] = qrow.workflow_id
        if new_state != item.status:
            changes["status"] = new_state
            events.append(("status", item.status, new_state))
    elif state is not None and state.strip() != item.status:
        raise ValidationError(
            f"queues {item.queue} and {qrow.slug} share a workflow: {item.key} keeps its "
            "state (move it with 'opstui mv')"
        )
    if owner:
        new_owner = person_id(ctx, owner)
        if owner != item.owner:
            changes["owner_id"] = new_owner
            events.append(("owner", item.owner, owner))
    elif to_triage and item.owner:
        changes["owner_id"] = None
        events.append(("owner", item.owner, None))
    rules = load_rules(ctx.conn)
    before = match_policy(rules.policies, current.queue_id, item.kind, item.priority)
    after = match_policy(rules.policies, qrow.id, item.kind, item.priority)
    if (before.name if before else None) != (after.name if after else None):
        changes["sla_start"] = ctx.now
    update_item(ctx, item, changes, events)
    return item_for_update(ctx, item.key)


def transfer(
    db: Database,
    key: str,
    queue: str,
    *,
    owner: str | None = None,
    to_triage: bool = False,
    state: str | None = None,
    expected_version: int | None = None,
) -> q.ItemRecord:
    """Move an item to another queue (its own event, like assign)."""
    with writing(db) as ctx:
        item = item_for_update(ctx, key)
        check_version(ctx, item, expected_version)
        return transfer_in(ctx, item, queue, owner=owner, to_triage=to_triage, state=state)


def comment_in(ctx: Ctx, item: q.ItemRecord, body: str) -> int:
    body = (body or "").strip()
    if not body:
        raise ValidationError("a comment cannot be empty")
    body = clean_body(body)
    comment_id = ctx.conn.execute(
        _COMMENT_INSERT,
        {
            "item_id": item.id,
            "author_id": ctx.person_id,
            "unix_user": ctx.unix_user,
            "body": body,
            "created_at": ctx.now,
        },
    ).inserted_primary_key[0]
    preview = " ".join(body.split())[:80]
    ctx.record("comment", None, preview, item_id=item.id, item_version=item.version)
    requester = ctx.conn.execute(_ITEM_REQUESTER, {"item_id": item.id}).one()
    by_requester = (ctx.person_id is not None and ctx.person_id == requester.requester_id) or (
        requester.requester_id is None and requester.requester == ctx.unix_user
    )
    values: dict[str, Any] = {"updated_at": ctx.now}
    if item.first_response_at is None and not by_requester:
        values["first_response_at"] = ctx.now
        ctx.record("first_response", None, ctx.now, item_id=item.id, item_version=item.version)
    stmt = _COMMENT_TOUCH[len(values) > 1]
    ctx.conn.execute(stmt, {"w_id": item.id, **{f"v_{k}": v for k, v in values.items()}})
    if "first_response_at" in values:
        apply_sla(ctx, item.id)
    return int(comment_id)


def comment(db: Database, key: str, body: str) -> q.ItemRecord:
    """Add a comment.  Comments never conflict with edits."""
    with writing(db) as ctx:
        item = item_for_update(ctx, key)
        comment_in(ctx, item, body)
        return item_for_update(ctx, key)


def block_in(ctx: Ctx, item: q.ItemRecord, blocker: q.ItemRecord) -> None:
    """Record that ``blocker`` blocks ``item``."""
    ctx.conn.execute(LINK.insert().values(src_id=blocker.id, dst_id=item.id, kind="blocks"))
    ctx.record("blocked_by", None, blocker.key, item_id=item.id, item_version=item.version)


def set_parent_in(ctx: Ctx, item: q.ItemRecord, parent: q.ItemRecord) -> None:
    """Make ``item`` a follow-up of ``parent``."""
    ctx.conn.execute(update(ITEM).where(ITEM.c.id == item.id).values(parent_id=parent.id))
    ctx.conn.execute(LINK.insert().values(src_id=parent.id, dst_id=item.id, kind="followup"))


def link_blocker(db: Database, key: str, blocked_by: str, *, remove: bool = False) -> q.ItemRecord:
    """Record that ``blocked_by`` blocks ``key`` (or remove that link)."""
    with writing(db) as ctx:
        item = item_for_update(ctx, key)
        blocker = item_for_update(ctx, blocked_by)
        if item.id == blocker.id:
            raise ValidationError("an item cannot block itself")
        where = (LINK.c.src_id == blocker.id, LINK.c.dst_id == item.id, LINK.c.kind == "blocks")
        exists = ctx.conn.execute(select(LINK.c.src_id).where(*where)).first()
        if remove:
            if exists:
                ctx.conn.execute(LINK.delete().where(*where))
                ctx.record(
                    "unblocked_by", blocker.key, None, item_id=item.id, item_version=item.version
                )
        elif not exists:
            block_in(ctx, item, blocker)
        return item_for_update(ctx, key)
