"""Workflow automation: transition actions, approvals, chains and recurring processes.

Transition actions (``WorkflowTransition.actions``, a list of tables)::

    {type="move", queue="qa"}
    {type="assign", rule="person", person="jon"}
    {type="assign", rule="triage"}                      # the item's (or ``queue``'s) triage owner
    {type="assign", rule="least_loaded", skill="project-management"}
    {type="assign", rule="round_robin", skill="sales"}
    {type="notify", person="jon", message="{key} is ready"}
    {type="notify", triage_of="qa", message="{key} is ready for QA"}
    {type="follow_up", queue="projects", kind="project", title="Project: {title}",
     priority="P2", estimate=24, assign={rule="triage"}, then="resourcing"}

Every action runs inside the transition's own write transaction (``ctx.conn``): other
terminals see a hand-off completely or not at all, and a dry run rolls all of it back.
A follow-up's ``then`` moves the new item through its own transition, running that
transition's actions: this is how chains run end to end.  A chain that would loop is
rejected when the workflow is loaded (:func:`validate_actions`) and again at run time.

Processes run when due (:func:`run_due`); each occurrence has a unique
``ProcessRun.occurrence_key`` so it is created exactly once however many terminals run
at the same moment.  Only the latest missed occurrence of a schedule is created (a
terminal that was closed for a month does not flood the queue with a backlog).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError

from ..domain import models
from ..domain import workflow as wfl
from ..domain.fields import parse_estimate, parse_priority
from ..domain.text import one_line
from ..errors import InvalidTransition, NotFound, OpsError, ValidationError
from ..store import queries as q
from ..store.engine import Database
from .capacity import DEFAULT_ESTIMATE_HOURS
from .context import Ctx, writing

ITEM = models.Item.__table__
PERSON = models.Person.__table__
SKILL = models.PersonSkill.__table__
AWAY = models.AwayPeriod.__table__
QUEUE = models.Queue.__table__
WORKFLOW = models.Workflow.__table__
STATE = models.WorkflowState.__table__
TRANSITION = models.WorkflowTransition.__table__
LINK = models.ItemLink.__table__
EVENT = models.Event.__table__
APPROVAL = models.Approval.__table__
PROCESS = models.Process.__table__
RUN = models.ProcessRun.__table__

ACTION_TYPES = ("move", "assign", "notify", "follow_up")
ASSIGN_RULES = ("person", "triage", "least_loaded", "round_robin")
ACTION_KEYS: dict[str, set[str]] = {
    "move": {"type", "queue"},
    "assign": {"type", "rule", "person", "skill", "queue"},
    "notify": {"type", "person", "triage_of", "message"},
    "follow_up": {
        "type",
        "queue",
        "kind",
        "title",
        "body",
        "priority",
        "estimate",
        "assign",
        "then",
    },
}
ASSIGN_KEYS = {"rule", "person", "skill", "queue"}
#: Placeholders a message or title template may use.
TEMPLATE_FIELDS = ("key", "title", "queue", "status", "owner", "kind", "priority")
#: Run-time guard: no chain goes deeper than this (the load-time check rejects loops).
MAX_CHAIN_DEPTH = 12


# --- helpers -------------------------------------------------------------------------


def _chain(ctx: Ctx) -> list[int]:
    """Transition ids on the current chain (stored on the context for this transaction)."""
    stack = getattr(ctx, "_automation_chain", None)
    if stack is None:
        stack = []
        ctx._automation_chain = stack  # type: ignore[attr-defined]
    return stack


def _values(item: q.ItemRecord) -> dict[str, Any]:
    return {
        "key": item.key,
        "title": item.title,
        "queue": item.queue,
        "status": item.status,
        "owner": item.owner or "unowned",
        "kind": item.kind,
        "priority": item.priority_label,
    }


def _result(
    ctx: Ctx, kind: str, item: q.ItemRecord, plan: str, done: str, depth: int = 0, **extra: Any
) -> dict[str, Any]:
    """An action result.  ``text`` is "would <plan>" in a dry run, else ``done``."""
    text = f"would {plan}" if ctx.dry_run else done
    return {"type": kind, "text": text, "item": item.key, "depth": depth, **extra}


def _today(ctx: Ctx) -> date:
    return ctx.now.date()


def _queue(ctx: Ctx, slug: str) -> Any:
    row = ctx.conn.execute(select(QUEUE).where(QUEUE.c.slug == str(slug).strip().lower())).first()
    if row is None:
        raise NotFound(f"no queue {slug!r}")
    return row


def _handle(ctx: Ctx, person_id: int | None) -> str | None:
    if person_id is None:
        return None
    return ctx.conn.execute(
        select(PERSON.c.handle).where(PERSON.c.id == person_id)
    ).scalar_one_or_none()


def _available(ctx: Ctx, skill: str | None) -> list[tuple[int, str]]:
    """Active people (with ``skill``) who are not away today, by handle."""
    today = _today(ctx)
    away = select(AWAY.c.person_id).where(AWAY.c.start_date <= today, AWAY.c.end_date >= today)
    stmt = select(PERSON.c.id, PERSON.c.handle).where(
        PERSON.c.active.is_(True), PERSON.c.id.not_in(away)
    )
    if skill:
        stmt = stmt.where(
            PERSON.c.id.in_(select(SKILL.c.person_id).where(SKILL.c.skill == skill.lower()))
        )
    return [(r.id, r.handle) for r in ctx.conn.execute(stmt.order_by(PERSON.c.handle))]


def _away_note(ctx: Ctx, person_id: int) -> str:
    today = _today(ctx)
    end = ctx.conn.execute(
        select(AWAY.c.end_date).where(
            AWAY.c.person_id == person_id, AWAY.c.start_date <= today, AWAY.c.end_date >= today
        )
    ).scalar()
    return f"; away until {end}" if end else ""


def resolve_assignee(
    ctx: Ctx, rule: dict[str, Any], queue_slug: str, item_id: int | None = None
) -> tuple[str | None, str]:
    """Who an assign rule picks: (handle or None, why).

    ``item_id`` is the item being assigned: its own estimate does not count as load.
    """
    kind = rule.get("rule", "person")
    skill = rule.get("skill")
    if kind == "person":
        handle = str(rule.get("person", "")).strip()
        row = ctx.conn.execute(
            select(PERSON.c.id, PERSON.c.active).where(PERSON.c.handle == handle)
        ).first()
        if row is None:
            raise NotFound(f"assign: no person {handle!r}")
        if not row.active:
            return None, f"{handle} is inactive"
        return handle, "named" + _away_note(ctx, row.id)
    if kind == "triage":
        slug = rule.get("queue") or queue_slug
        qrow = _queue(ctx, slug)
        handle = _handle(ctx, qrow.triage_owner_id)
        if handle is None:
            return None, f"queue {qrow.slug} has no triage owner"
        return handle, f"triage owner of {qrow.slug}" + _away_note(ctx, qrow.triage_owner_id)
    people = _available(ctx, skill)
    what = f"with skill {skill}" if skill else "available"
    if not people:
        return None, f"nobody {what} is active and in today"
    if kind == "least_loaded":
        ids = [pid for pid, _ in people]
        loads = dict(
            ctx.conn.execute(
                select(
                    ITEM.c.owner_id,
                    func.sum(func.coalesce(ITEM.c.estimate_hours, DEFAULT_ESTIMATE_HOURS)),
                )
                .where(
                    ITEM.c.category != "done",
                    ITEM.c.owner_id.in_(ids),
                    ITEM.c.id != (item_id if item_id is not None else -1),
                )
                .group_by(ITEM.c.owner_id)
            ).all()
        )
        pid, handle = min(people, key=lambda p: (float(loads.get(p[0]) or 0.0), p[1]))
        return handle, f"least loaded {what} ({float(loads.get(pid) or 0):g}h open)"
    if kind == "round_robin":
        handles = [h for _, h in people]
        last = ctx.conn.execute(
            select(EVENT.c.new)
            .where(EVENT.c.field == "owner", EVENT.c.new.in_(handles))
            .order_by(EVENT.c.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if last is None:
            return handles[0], f"round robin {what}"
        return handles[
            (handles.index(last) + 1) % len(handles)
        ], f"round robin {what} (after {last})"
    raise ValidationError(f"assign: unknown rule {kind!r}")


# --- actions -------------------------------------------------------------------------


def _act_move(ctx: Ctx, item: q.ItemRecord, action: dict[str, Any], depth: int) -> dict[str, Any]:
    from .items import item_for_update, update_item

    qrow = _queue(ctx, action["queue"])
    current = ctx.conn.execute(select(ITEM.c.queue_id).where(ITEM.c.id == item.id)).scalar_one()
    if qrow.id == current:
        same = f"keep {item.key} in queue {qrow.slug} (already there)"
        return _result(ctx, "move", item, same, same[0].upper() + same[1:], depth, queue=qrow.slug)
    update_item(ctx, item, {"queue_id": qrow.id}, [("queue", item.queue, qrow.slug)])
    moved = item_for_update(ctx, item.key)
    return _result(
        ctx,
        "move",
        moved,
        f"move {item.key} to queue {qrow.slug}",
        f"moved {item.key} to queue {qrow.slug}",
        depth,
        queue=qrow.slug,
        old_queue=item.queue,
    )


def _act_assign(ctx: Ctx, item: q.ItemRecord, action: dict[str, Any], depth: int) -> dict[str, Any]:
    from .items import assign_in

    handle, why = resolve_assignee(ctx, action, item.queue, item.id)
    rule = action.get("rule")
    if handle is None:
        keep = f"with {item.owner}" if item.owner else "UNOWNED"
        return _result(
            ctx,
            "assign",
            item,
            f"leave {item.key} {keep}: {why}",
            f"left {item.key} {keep}: {why}",
            depth,
            owner=item.owner,
            rule=rule,
        )
    if handle == item.owner:
        return _result(
            ctx,
            "assign",
            item,
            f"keep {item.key} with {handle} ({why})",
            f"kept {item.key} with {handle} ({why})",
            depth,
            owner=handle,
            rule=rule,
        )
    assign_in(ctx, item, handle)
    return _result(
        ctx,
        "assign",
        item,
        f"assign {item.key} to {handle} ({why})",
        f"assigned {item.key} to {handle} ({why})",
        depth,
        owner=handle,
        rule=rule,
    )


def _act_notify(ctx: Ctx, item: q.ItemRecord, action: dict[str, Any], depth: int) -> dict[str, Any]:
    if action.get("person"):
        handle: str | None = str(action["person"]).strip()
        why = ""
    else:
        qrow = _queue(ctx, action["triage_of"])
        handle = _handle(ctx, qrow.triage_owner_id)
        why = f" (triage owner of {qrow.slug})"
    message = wfl.render(action.get("message") or "{key}: {title}", _values(item))
    if handle is None:
        why = f"queue {action.get('triage_of')} has no triage owner"
        return _result(
            ctx,
            "notify",
            item,
            f"notify nobody: {why}",
            f"notified nobody: {why}",
            depth,
            person=None,
            message=message,
        )
    ctx.record("notify", None, f"{handle}: {message}", item_id=item.id, item_version=item.version)
    ctx.notices.append(f"{handle}: {message}")
    return _result(
        ctx,
        "notify",
        item,
        f"notify {handle}{why}: {message}",
        f"notified {handle}{why}: {message}",
        depth,
        person=handle,
        message=message,
    )


def _act_follow_up(
    ctx: Ctx, item: q.ItemRecord, action: dict[str, Any], depth: int
) -> list[dict[str, Any]]:
    from .items import create_item_in, item_for_update, transition_in

    values = _values(item)
    queue = str(action["queue"])
    owner, why = None, "no assign rule"
    if action.get("assign"):
        owner, why = resolve_assignee(ctx, dict(action["assign"]), queue)
    new = create_item_in(
        ctx,
        queue=queue,
        title=wfl.render(action.get("title") or "Follow-up: {title}", values),
        body=wfl.render(action.get("body") or "", values),
        kind=action.get("kind") or "task",
        priority=action.get("priority", item.priority),
        estimate=action.get("estimate"),
        owner=owner,
        parent_id=item.id,
        data={"origin": item.key},
    )
    ctx.conn.execute(LINK.insert().values(src_id=item.id, dst_id=new.id, kind="followup"))
    ctx.record("followup", None, new.key, item_id=item.id, item_version=item.version)
    who = f"assigned to {owner} ({why})" if owner else f"UNOWNED ({why})"
    title = one_line(new.title, 60)
    out = [
        _result(
            ctx,
            "follow_up",
            new,
            f'create {new.key} in {new.queue} "{title}", {who}',
            f'created {new.key} in {new.queue} "{title}", {who}',
            depth,
            parent=item.key,
            queue=new.queue,
            owner=owner,
        )
    ]
    then = action.get("then")
    if then:
        if len(_chain(ctx)) >= MAX_CHAIN_DEPTH:
            raise InvalidTransition(
                f"the workflow chain from {item.key} is deeper than {MAX_CHAIN_DEPTH} steps; nothing was changed"
            )
        moved, done = transition_in(ctx, item_for_update(ctx, new.key), str(then))
        if moved.status == then:
            out.append(
                _result(
                    ctx,
                    "transition",
                    moved,
                    f"move {new.key} to {then}",
                    f"moved {new.key} to {then}",
                    depth + 1,
                    state=str(then),
                )
            )
        out.extend({**d, "depth": int(d.get("depth") or 0) + depth + 1} for d in done)
    return out


def run_transition_actions(
    ctx: Ctx, item: q.ItemRecord, transition: q.TransitionRecord
) -> list[dict[str, Any]]:
    """Run ``transition.actions`` for ``item`` (already moved); return what was done.

    Each result has ``type``, a human ``text`` (an imperative phrase: "assign PRJ-3 to
    hiro"), ``item`` and ``depth`` (0 for this transition, 1+ for chained ones).
    """
    if ctx.replay:
        return []
    from .items import item_for_update

    chain = _chain(ctx)
    if transition.id in chain:
        raise InvalidTransition(
            f"workflow chain loops through {transition.from_state} -> {transition.to_state}; nothing was changed"
        )
    chain.append(transition.id)
    results: list[dict[str, Any]] = []
    try:
        for action in transition.actions:
            current = item_for_update(ctx, item.key)
            kind = action.get("type")
            if kind == "move":
                results.append(_act_move(ctx, current, action, 0))
            elif kind == "assign":
                results.append(_act_assign(ctx, current, action, 0))
            elif kind == "notify":
                results.append(_act_notify(ctx, current, action, 0))
            elif kind == "follow_up":
                results.extend(_act_follow_up(ctx, current, action, 0))
            else:
                raise ValidationError(
                    f"unknown action type {kind!r} on {transition.from_state} -> {transition.to_state}"
                )
        # Without actions ``item`` is still current: no re-read (one fewer 30-column join).
        current = item_for_update(ctx, item.key) if transition.actions else item
        results.extend(run_event_processes(ctx, current, transition.to_state))
    finally:
        chain.pop()
    return results


# --- approvals -----------------------------------------------------------------------


def check_approval(
    ctx: Ctx, item: q.ItemRecord, transition: q.TransitionRecord
) -> dict[str, Any] | None:
    """Gate a move that needs approval.  None lets it proceed; otherwise an approval is
    requested (once) and the returned result says so; the item does not move."""
    if ctx.replay or not transition.requires_approval:
        return None
    if item.approval == "approved":
        ok = ctx.conn.execute(
            select(APPROVAL.c.id).where(
                APPROVAL.c.item_id == item.id,
                APPROVAL.c.status == "approved",
                APPROVAL.c.to_state == transition.to_state,
            )
        ).first()
        if ok:
            return None
    pending = ctx.conn.execute(
        select(APPROVAL.c.id).where(
            APPROVAL.c.item_id == item.id,
            APPROVAL.c.status == "pending",
            APPROVAL.c.to_state == transition.to_state,
        )
    ).first()
    if pending:
        return _result(
            ctx,
            "approval",
            item,
            f"wait: {item.key} is already waiting for approval to move to {transition.to_state}",
            f"{item.key} is already waiting for approval to move to {transition.to_state}",
            status="pending",
            to_state=transition.to_state,
        )
    request_approval_in(ctx, item, transition.to_state)
    return _result(
        ctx,
        "approval",
        item,
        f"request approval to move {item.key} to {transition.to_state} (it would stay {item.status})",
        f"approval requested to move {item.key} to {transition.to_state} (it stays {item.status} until approved)",
        status="pending",
        to_state=transition.to_state,
    )


def request_approval_in(ctx: Ctx, item: q.ItemRecord, to_state: str, note: str = "") -> None:
    ctx.conn.execute(
        APPROVAL.insert().values(
            item_id=item.id,
            to_state=to_state,
            status="pending",
            requested_by=ctx.unix_user,
            requested_at=ctx.now,
            note=note,
        )
    )
    ctx.conn.execute(update(ITEM).where(ITEM.c.id == item.id).values(approval="pending"))
    ctx.record("approval", item.approval, "pending", item_id=item.id, item_version=item.version)
    ctx.record("approval_requested", None, to_state, item_id=item.id, item_version=item.version)


@dataclass(frozen=True)
class ApprovalRecord:
    id: int
    item_key: str
    item_title: str
    status: str
    item_status: str
    to_state: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    note: str


def list_approvals(db: Database, *, status: str | None = "pending") -> list[ApprovalRecord]:
    with db.read() as conn:
        stmt = (
            select(
                APPROVAL.c.id,
                ITEM.c.key.label("item_key"),
                ITEM.c.title.label("item_title"),
                APPROVAL.c.status,
                ITEM.c.status.label("item_status"),
                APPROVAL.c.to_state,
                APPROVAL.c.requested_by,
                APPROVAL.c.requested_at,
                APPROVAL.c.decided_by,
                APPROVAL.c.decided_at,
                APPROVAL.c.note,
            )
            .select_from(APPROVAL.join(ITEM, ITEM.c.id == APPROVAL.c.item_id))
            .order_by(APPROVAL.c.requested_at, APPROVAL.c.id)
        )
        if status:
            stmt = stmt.where(APPROVAL.c.status == status)
        return [ApprovalRecord(**dict(r._mapping)) for r in conn.execute(stmt)]


def _pending(ctx: Ctx, item: q.ItemRecord) -> Any:
    row = ctx.conn.execute(
        select(APPROVAL)
        .where(APPROVAL.c.item_id == item.id, APPROVAL.c.status == "pending")
        .order_by(APPROVAL.c.id.desc())
    ).first()
    if row is None:
        raise ValidationError(f"{item.key} has no pending approval (approval: {item.approval})")
    return row


def _decide(ctx: Ctx, item: q.ItemRecord, row: Any, status: str, note: str) -> None:
    from .items import update_item

    ctx.conn.execute(
        update(APPROVAL)
        .where(APPROVAL.c.id == row.id)
        .values(
            status=status,
            approver_id=ctx.person_id,
            decided_by=ctx.unix_user,
            decided_at=ctx.now,
            note=(note or row.note or "").strip()[:500],
        )
    )
    update_item(ctx, item, {"approval": status}, [("approval", item.approval, status)])


def approve(
    db: Database, key: str, note: str = "", *, dry_run: bool = False
) -> tuple[q.ItemRecord, list[dict[str, Any]]]:
    """Approve an item's pending move and apply it (with its actions), in one transaction."""
    from .items import item_for_update, transition_in

    with writing(db, dry_run=dry_run) as ctx:
        item = item_for_update(ctx, key)
        row = _pending(ctx, item)
        _decide(ctx, item, row, "approved", note)
        results = [
            _result(
                ctx,
                "approval",
                item,
                f"approve moving {item.key} to {row.to_state}",
                f"approved moving {item.key} to {row.to_state}",
                status="approved",
                to_state=row.to_state,
            )
        ]
        try:
            moved, done = transition_in(ctx, item_for_update(ctx, key), row.to_state)
        except InvalidTransition as exc:
            raise InvalidTransition(
                f"cannot apply the approved move: {exc}; nothing was changed"
            ) from None
        results.append(
            _result(
                ctx,
                "transition",
                moved,
                f"move {moved.key} to {moved.status}",
                f"moved {moved.key} to {moved.status}",
                state=moved.status,
            )
        )
        results.extend(done)
        return moved, results


def reject(db: Database, key: str, note: str = "") -> q.ItemRecord:
    """Reject an item's pending move: the item stays where it is."""
    from .items import item_for_update

    with writing(db) as ctx:
        item = item_for_update(ctx, key)
        row = _pending(ctx, item)
        _decide(ctx, item, row, "rejected", note)
        return item_for_update(ctx, key)


# --- load-time validation ------------------------------------------------------------


class _Names:
    """What exists in the database being loaded (read once per validation)."""

    def __init__(self, ctx: Ctx):
        conn = ctx.conn
        self.people = {
            r.handle: bool(r.active) for r in conn.execute(select(PERSON.c.handle, PERSON.c.active))
        }
        self.skills = {r[0] for r in conn.execute(select(SKILL.c.skill).distinct())}
        self.queues = {
            r.slug: r
            for r in conn.execute(
                select(
                    QUEUE.c.id,
                    QUEUE.c.slug,
                    QUEUE.c.workflow_id,
                    WORKFLOW.c.name.label("workflow"),
                    WORKFLOW.c.initial_state,
                ).join(WORKFLOW, WORKFLOW.c.id == QUEUE.c.workflow_id)
            )
        }
        self.states: dict[int, set[str]] = {}
        for wf_id, name in conn.execute(select(STATE.c.workflow_id, STATE.c.name)):
            self.states.setdefault(wf_id, set()).add(name)


def _check_template(text: Any, what: str) -> None:
    if not isinstance(text, str):
        raise ValidationError(f"{what} must be text")
    bad = [f for f in wfl.template_fields(text) if f not in TEMPLATE_FIELDS]
    if bad:
        raise ValidationError(
            f"{what} uses unknown placeholder {{{bad[0]}}} (known: {', '.join(TEMPLATE_FIELDS)})"
        )


def _check_assign(names: _Names, rule: Any, label: str = "assign") -> None:
    if not isinstance(rule, dict):
        raise ValidationError(f'{label} must be a table such as {{rule="triage"}}')
    unknown = sorted(set(rule) - ASSIGN_KEYS - {"type"})
    if unknown:
        raise ValidationError(f"{label}: unknown key {unknown[0]!r}")
    kind = rule.get("rule")
    if kind not in ASSIGN_RULES:
        raise ValidationError(f"{label}: rule {kind!r} is not one of {', '.join(ASSIGN_RULES)}")
    if kind == "person":
        if not rule.get("person"):
            raise ValidationError(f"{label}: rule 'person' needs person=HANDLE")
        if rule["person"] not in names.people:
            raise ValidationError(f"{label}: unknown person {rule['person']!r}")
    if rule.get("skill") is not None:
        skill = str(rule["skill"]).lower()
        if skill not in names.skills:
            raise ValidationError(f"{label}: unknown skill {rule['skill']!r} (nobody has it)")
    if kind in ("least_loaded", "round_robin") and not rule.get("skill"):
        raise ValidationError(f"{label}: rule {kind!r} needs skill=...")
    if rule.get("queue") is not None and rule["queue"] not in names.queues:
        raise ValidationError(f"{label}: unknown queue {rule['queue']!r}")


def _check_action(names: _Names, wf_id: int, action: Any) -> tuple[int, str, str, str] | None:
    """Validate one action; for a follow-up with ``then`` return (target workflow id,
    then-state, workflow name, its initial state)."""

    if not isinstance(action, dict):
        raise ValidationError("an action must be a table")
    kind = action.get("type")
    if kind not in ACTION_TYPES:
        raise ValidationError(f"unknown action type {kind!r} (one of {', '.join(ACTION_TYPES)})")
    unknown = sorted(set(action) - ACTION_KEYS[kind])
    if unknown:
        raise ValidationError(
            f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(ACTION_KEYS[kind]))})"
        )
    if kind == "move":
        slug = action.get("queue")
        if slug not in names.queues:
            raise ValidationError(f"unknown queue {slug!r}")
        if names.queues[slug].workflow_id != wf_id:
            raise ValidationError(
                f"queue {slug!r} uses workflow {names.queues[slug].workflow!r}; an item can only move "
                "to a queue with its own workflow"
            )
    elif kind == "assign":
        _check_assign(names, action)
    elif kind == "notify":
        if bool(action.get("person")) == bool(action.get("triage_of")):
            raise ValidationError("notify needs exactly one of person=HANDLE or triage_of=QUEUE")
        if action.get("person") and action["person"] not in names.people:
            raise ValidationError(f"unknown person {action['person']!r}")
        if action.get("triage_of") and action["triage_of"] not in names.queues:
            raise ValidationError(f"unknown queue {action['triage_of']!r}")
        _check_template(action.get("message", ""), "message")
    elif kind == "follow_up":
        slug = action.get("queue")
        if slug not in names.queues:
            raise ValidationError(f"unknown queue {slug!r}")
        if not action.get("title"):
            raise ValidationError("follow_up needs a title template")
        _check_template(action["title"], "title")
        _check_template(action.get("body", ""), "body")
        if "priority" in action:
            parse_priority(action["priority"])
        if "estimate" in action:
            parse_estimate(action["estimate"])
        if "assign" in action:
            _check_assign(names, action["assign"], "follow_up assign")
        then = action.get("then")
        if then is not None:
            target = names.queues[slug]
            if then not in names.states.get(target.workflow_id, set()):
                raise ValidationError(
                    f"then {then!r} is not a state of workflow {target.workflow!r} (queue {slug})"
                )
            return target.workflow_id, str(then), target.workflow, target.initial_state
    return None


def validate_actions(ctx: Ctx, source: str) -> None:
    """Check every transition action against people, skills, queues and states, and
    reject chains that loop.  Raises LoadError (file, entry, reason)."""
    from .loader import LoadError

    names = _Names(ctx)
    rows = ctx.conn.execute(
        select(
            TRANSITION.c.id,
            TRANSITION.c.workflow_id,
            WORKFLOW.c.name,
            TRANSITION.c.from_state,
            TRANSITION.c.to_state,
            TRANSITION.c.actions,
            WORKFLOW.c.initial_state,
        )
        .join(WORKFLOW, WORKFLOW.c.id == TRANSITION.c.workflow_id)
        .order_by(WORKFLOW.c.id, TRANSITION.c.id)
    ).all()
    by_id = {r.id: r for r in rows}
    label = {r.id: f"workflow {r.name!r} transition {r.from_state} -> {r.to_state}" for r in rows}
    edges: dict[int, list[int]] = {r.id: [] for r in rows}
    for r in rows:
        for i, action in enumerate(r.actions or []):
            where = f"{source}: {label[r.id]} actions[{i}]"
            if isinstance(action, dict) and action.get("type"):
                where += f" ({action.get('type')})"
            try:
                target = _check_action(names, r.workflow_id, action)
            except OpsError as exc:
                raise LoadError(f"{where}: {exc}") from None
            if target is None:
                continue
            wf_id, then, wf_name, initial = target
            step = _transition_from(rows, wf_id, initial, then)
            if step is None:
                raise LoadError(
                    f"{where}: then {then!r}: workflow {wf_name!r} has no transition from its "
                    f"initial state {initial!r} to {then!r}"
                )
            edges[r.id].append(step)
    cycle = wfl.find_cycle(edges)
    if cycle:
        path = " => ".join(
            f"{by_id[t].name}:{by_id[t].from_state}->{by_id[t].to_state}" for t in cycle
        )
        raise LoadError(f"{source}: {label[cycle[0]]}: follow-up chain loops ({path})")


def _transition_from(rows: list[Any], wf_id: int, state: str | None, to: str) -> int | None:
    """The transition an item in ``state`` takes to ``to`` (a specific from-state wins over *)."""
    star = None
    for r in rows:
        if r.workflow_id != wf_id or r.to_state != to or r.to_state == state:
            continue
        if r.from_state == state:
            return int(r.id)
        if r.from_state == "*" and star is None:
            star = int(r.id)
    return star


# --- processes: loading --------------------------------------------------------------

PROCESS_KEYS = {
    "key",
    "name",
    "owner",
    "trigger",
    "timezone",
    "queue",
    "skills",
    "estimate",
    "runbook",
    "title",
    "active",
    "description",
}
PROCESS_TITLE_FIELDS = ("name", "date", "key", "title", "process")


def load_process_entry(ld: Any, where: str, entry: dict[str, Any]) -> None:
    """Validate and store one ``[[processes]]`` entry (replaced by key)."""
    from .loader import LoadError

    def bad(reason: str) -> LoadError:
        return LoadError(f"{where}: {reason}")

    conn = ld.ctx.conn
    unknown = sorted(set(entry) - PROCESS_KEYS)
    if unknown:
        raise bad(f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(PROCESS_KEYS))})")
    key = str(entry.get("key") or "").strip()
    if not key:
        raise bad("missing required key 'key'")
    if not entry.get("queue"):
        raise bad("missing required key 'queue' (where its items are created)")
    timezone = str(entry.get("timezone") or "UTC")
    try:
        wfl.zone(timezone)
    except wfl.TriggerError as exc:
        raise bad(str(exc)) from None
    trigger_kind = trigger = None
    if entry.get("trigger") not in (None, {}, ""):
        tr = entry["trigger"]
        if not isinstance(tr, dict) or len(tr) != 1:
            raise bad('trigger must be one of {cron=...}, {rrule=...} or {event="kind:state"}')
        trigger_kind, trigger = next(iter(tr.items()))
        try:
            wfl.validate_trigger(trigger_kind, trigger, timezone)
        except wfl.TriggerError as exc:
            raise bad(str(exc)) from None
        trigger = str(trigger).strip()
        if trigger_kind == "event":
            _kind, state = wfl.parse_event(trigger)
            if not conn.execute(select(STATE.c.id).where(STATE.c.name == state)).first():
                raise bad(f"event trigger {trigger!r}: no workflow has a state {state!r}")
    owner_id = None
    if entry.get("owner"):
        owner_id = conn.execute(
            select(PERSON.c.id).where(PERSON.c.handle == entry["owner"])
        ).scalar_one_or_none()
        if owner_id is None:
            raise bad(f"unknown owner {entry['owner']!r}")
    queue_id = conn.execute(
        select(QUEUE.c.id).where(QUEUE.c.slug == entry["queue"])
    ).scalar_one_or_none()
    if queue_id is None:
        raise bad(f"unknown queue {entry['queue']!r}")
    skills = entry.get("skills", [])
    if isinstance(skills, str):
        skills = [skills]
    skills = sorted({str(s).strip().lower() for s in skills if str(s).strip()})
    known = {r[0] for r in conn.execute(select(SKILL.c.skill).distinct())}
    for s in skills:
        if s not in known:
            raise bad(f"unknown skill {s!r} (nobody has it)")
    runbook = entry.get("runbook", "")
    if not isinstance(runbook, str):
        raise bad("runbook must be Markdown text")
    title = entry.get("title") or "{name} ({date})"
    bad_fields = [f for f in wfl.template_fields(title) if f not in PROCESS_TITLE_FIELDS]
    if bad_fields:
        raise bad(
            f"title uses unknown placeholder {{{bad_fields[0]}}} (known: {', '.join(PROCESS_TITLE_FIELDS)})"
        )
    try:
        estimate = parse_estimate(entry.get("estimate"))
    except OpsError as exc:
        raise bad(str(exc)) from None
    values = {
        "key": key,
        "name": str(entry.get("name") or key),
        "owner_id": owner_id,
        "trigger_kind": trigger_kind,
        "trigger": trigger,
        "timezone": timezone,
        "queue_id": queue_id,
        "runbook": runbook,
        "skills": skills,
        "active": bool(entry.get("active", True)),
        "item_title": title if entry.get("title") else "",
        "estimate_hours": estimate,
    }
    existing = conn.execute(select(PROCESS.c.id).where(PROCESS.c.key == key)).first()
    if existing:
        conn.execute(update(PROCESS).where(PROCESS.c.id == existing[0]).values(**values))
        pid = existing[0]
    else:
        pid = conn.execute(PROCESS.insert().values(**values)).inserted_primary_key[0]
    ld.ctx.record("loaded", None, key, entity="process", entity_id=pid)


# --- processes: running --------------------------------------------------------------


@dataclass(frozen=True)
class ProcessRunResult:
    process: str
    name: str
    occurrence_key: str
    occurrence_at: datetime
    item: str | None
    owner: str | None
    queue: str
    text: str


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


def _claim(ctx: Ctx, process_id: int, occurrence_key: str, at: datetime) -> int | None:
    """Insert the ProcessRun for one occurrence; None if it exists (already run)."""
    if ctx.conn.execute(select(RUN.c.id).where(RUN.c.occurrence_key == occurrence_key)).first():
        return None
    try:
        with ctx.conn.begin_nested():
            result = ctx.conn.execute(
                RUN.insert().values(
                    process_id=process_id,
                    occurrence_key=occurrence_key,
                    occurrence_at=at,
                    created_at=ctx.now,
                    unix_user=ctx.unix_user,
                )
            )
    except IntegrityError:
        return None
    return int(result.inserted_primary_key[0])


def _run_occurrence(
    ctx: Ctx, proc: Any, occurrence_key: str, at: datetime, trigger_item: q.ItemRecord | None = None
) -> ProcessRunResult | None:
    from .items import create_item_in

    run_id = _claim(ctx, proc.id, occurrence_key, at)
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
    owner = proc.owner_handle if proc.owner_handle and proc.owner_active else None
    data = {
        "process": proc.key,
        "occurrence": at.isoformat(),
        "checklist": [{"step": s, "done": False} for s in steps],
    }
    if trigger_item is not None:
        data["origin"] = trigger_item.key
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
    )
    if trigger_item is not None:
        ctx.conn.execute(
            LINK.insert().values(src_id=trigger_item.id, dst_id=item.id, kind="followup")
        )
    ctx.conn.execute(update(RUN).where(RUN.c.id == run_id).values(item_id=item.id))
    ctx.conn.execute(update(PROCESS).where(PROCESS.c.id == proc.id).values(last_run_at=ctx.now))
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
    return ProcessRunResult(
        process=proc.key,
        name=proc.name,
        occurrence_key=occurrence_key,
        occurrence_at=at,
        item=item.key,
        owner=owner,
        queue=proc.queue_slug,
        text=(
            f"would create an item in {proc.queue_slug} for process {proc.key}, {who}"
            if ctx.dry_run
            else f"created {item.key} in {proc.queue_slug} for process {proc.key}, {who}"
        ),
    )


#: One index-free probe of the (small) process table: does any active process fire on
#: this "kind:state"?  Most moves trigger nothing, and building and running the full
#: process query on every move cost ~0.3 ms of a ~2.5 ms transition.
_ANY_EVENT_PROCESS = (
    "SELECT 1 FROM process WHERE active = 1 AND trigger_kind = 'event' AND \"trigger\" = ? LIMIT 1"
)


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


def due_occurrences(db: Database, now: datetime | None = None) -> list[tuple[int, str, datetime]]:
    """(process id, occurrence key, time) of scheduled occurrences due and not yet run."""
    now = now or db.clock.now()
    with db.read() as conn:
        procs = _process_rows(conn, kinds=("cron", "rrule"))
        due = []
        for p in procs:
            if p.queue_slug is None:
                continue
            try:
                at = wfl.latest_occurrence(wfl.Trigger(p.trigger_kind, p.trigger, p.timezone), now)
            except wfl.TriggerError:
                continue
            if at is None:
                continue
            okey = f"{p.key}@{at.strftime('%Y-%m-%dT%H:%MZ')}"
            if not conn.execute(select(RUN.c.id).where(RUN.c.occurrence_key == okey)).first():
                due.append((int(p.id), okey, at))
    return due


def next_run_at(db: Database, now: datetime | None = None) -> datetime | None:
    """When the soonest scheduled process is next due (a terminal can sleep until then
    instead of polling); None if no process has a schedule."""
    now = now or db.clock.now()
    with db.read() as conn:
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

    Only the latest occurrence of each process is considered (no backlog flood), and each
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
            done = _run_occurrence(ctx, proc, okey, at)
            if done is not None:
                out.append(done)
    return out


# --- process catalog -----------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    #: no_owner | no_trigger | no_runbook | owner_away | owner_inactive | owner_lacks_skill |
    #: single_person | no_one_able
    kind: str
    process: str | None
    person: str | None
    text: str


@dataclass(frozen=True)
class ProcessInfo:
    key: str
    name: str
    owner: str | None
    owner_name: str | None
    owner_status: str  # none | active | away | inactive
    trigger_kind: str | None
    trigger: str | None
    trigger_text: str
    timezone: str
    queue: str | None
    next_run: datetime | None
    last_run: datetime | None
    last_item: str | None
    runs: int
    runbook: str
    steps: tuple[str, ...]
    skills: tuple[str, ...]
    able: tuple[str, ...]
    active: bool
    findings: tuple[str, ...]


@dataclass(frozen=True)
class ProcessCatalog:
    now: datetime
    processes: tuple[ProcessInfo, ...]
    findings: tuple[Finding, ...]


def process_catalog(db: Database, now: datetime | None = None) -> ProcessCatalog:
    """Every process with trigger, owner, next and last run, runbook, and the findings."""
    now = now or db.clock.now()
    today = now.date()
    with db.read() as conn:
        people = {p.id: p for p in q.list_people(conn)}
        rows = list(
            conn.execute(
                select(PROCESS, QUEUE.c.slug.label("queue_slug"))
                .select_from(PROCESS.join(QUEUE, QUEUE.c.id == PROCESS.c.queue_id, isouter=True))
                .order_by(PROCESS.c.key)
            )
        )
        last_runs: dict[int, tuple[datetime, str | None, int]] = {}
        latest = (
            select(RUN.c.process_id, func.max(RUN.c.id).label("rid"), func.count().label("n"))
            .group_by(RUN.c.process_id)
            .subquery()
        )
        for r in conn.execute(
            select(RUN.c.process_id, RUN.c.created_at, ITEM.c.key, latest.c.n)
            .join(latest, and_(latest.c.rid == RUN.c.id))
            .outerjoin(ITEM, ITEM.c.id == RUN.c.item_id)
        ):
            last_runs[r.process_id] = (r.created_at, r.key, int(r.n))

    def away(pid: int) -> bool:
        return any(start <= today <= end for start, end, _note in people[pid].away)

    procs: list[ProcessInfo] = []
    findings: list[Finding] = []
    for r in rows:
        notes: list[tuple[str, str | None, str]] = []
        owner = people.get(r.owner_id) if r.owner_id else None
        if owner is None:
            status = "none"
            notes.append(("no_owner", None, f"{r.key}: no owner (its items are created unowned)"))
        elif not owner.active:
            status = "inactive"
            notes.append(
                (
                    "owner_inactive",
                    owner.handle,
                    f"{r.key}: owner {owner.handle} is inactive (gone)",
                )
            )
        elif away(owner.id):
            status = "away"
            back = next((end for start, end, _n in owner.away if start <= today <= end), None)
            notes.append(
                ("owner_away", owner.handle, f"{r.key}: owner {owner.handle} is away until {back}")
            )
        else:
            status = "active"
        if not r.trigger_kind:
            notes.append(("no_trigger", None, f"{r.key}: no trigger (it never runs by itself)"))
        steps = tuple(wfl.runbook_steps(r.runbook))
        if not steps:
            notes.append(("no_runbook", None, f"{r.key}: no runbook steps"))
        skills = tuple(r.skills or ())
        able = (
            tuple(
                p.handle
                for p in sorted(people.values(), key=lambda p: p.handle)
                if p.active and set(skills) <= set(p.skills)
            )
            if skills
            else ()
        )
        if owner is not None and skills and not set(skills) <= set(owner.skills):
            missing = ", ".join(sorted(set(skills) - set(owner.skills)))
            notes.append(
                (
                    "owner_lacks_skill",
                    owner.handle,
                    f"{r.key}: owner {owner.handle} lacks the skill {missing}",
                )
            )
        if skills and not able:
            notes.append(("no_one_able", None, f"{r.key}: nobody active has {', '.join(skills)}"))
        elif skills and len(able) == 1:
            notes.append(
                (
                    "single_person",
                    able[0],
                    f"{r.key}: only {able[0]} can run it (skills: {', '.join(skills)})",
                )
            )
        trig = None
        next_run = None
        if r.trigger_kind:
            trig = wfl.Trigger(r.trigger_kind, r.trigger or "", r.timezone)
            try:
                next_run = wfl.next_occurrence(trig, now) if r.active else None
            except wfl.TriggerError:
                next_run = None
        last = last_runs.get(r.id)
        procs.append(
            ProcessInfo(
                key=r.key,
                name=r.name,
                owner=owner.handle if owner else None,
                owner_name=owner.name if owner else None,
                owner_status=status,
                trigger_kind=r.trigger_kind,
                trigger=r.trigger,
                trigger_text=trig.describe() if trig else "(no trigger)",
                timezone=r.timezone,
                queue=r.queue_slug,
                next_run=next_run,
                last_run=last[0] if last else None,
                last_item=last[1] if last else None,
                runs=last[2] if last else 0,
                runbook=r.runbook,
                steps=steps,
                skills=skills,
                able=able,
                active=bool(r.active),
                findings=tuple(n[2] for n in notes),
            )
        )
        findings.extend(Finding(kind, r.key, person, text) for kind, person, text in notes)
    return ProcessCatalog(now=now, processes=tuple(procs), findings=tuple(findings))


def catalog_json(cat: ProcessCatalog) -> dict[str, Any]:
    def iso(v: datetime | None) -> str | None:
        return v.isoformat() if v else None

    return {
        "now": cat.now.isoformat(),
        "processes": [
            {
                "key": p.key,
                "name": p.name,
                "owner": p.owner,
                "owner_status": p.owner_status,
                "trigger": {"kind": p.trigger_kind, "value": p.trigger, "text": p.trigger_text}
                if p.trigger_kind
                else None,
                "timezone": p.timezone,
                "queue": p.queue,
                "next_run": iso(p.next_run),
                "last_run": iso(p.last_run),
                "last_item": p.last_item,
                "runs": p.runs,
                "runbook": p.runbook,
                "steps": list(p.steps),
                "skills": list(p.skills),
                "able": list(p.able),
                "active": p.active,
                "findings": list(p.findings),
            }
            for p in cat.processes
        ],
        "findings": [
            {"kind": f.kind, "process": f.process, "person": f.person, "text": f.text}
            for f in cat.findings
        ],
    }


# --- describing ----------------------------------------------------------------------


def describe_action(action: dict[str, Any]) -> str:
    """One line for an action result, indented by its depth in the chain.

    Results made in a dry run already read "would ...".
    """
    text = str(action.get("text") or action.get("type") or "")
    return "  " * int(action.get("depth") or 0) + text


__all__ = [
    "approve",
    "check_approval",
    "next_run_at",
    "describe_action",
    "list_approvals",
    "load_process_entry",
    "process_catalog",
    "reject",
    "request_approval_in",
    "run_due",
    "run_transition_actions",
    "validate_actions",
]
