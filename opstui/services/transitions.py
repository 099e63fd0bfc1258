"""Moving an item along its workflow: the move itself, the approval gate in front of
it, and the transition actions that run after it (which may move other items, so the
two call each other and live together).

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
rejected when the workflow is loaded (``loading.actions``) and again at run time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from ..domain import models
from ..domain import workflow as wfl
from ..domain.actions import MAX_CHAIN_DEPTH
from ..domain.text import one_line
from ..errors import InvalidTransition, ValidationError
from ..store import queries as q
from ..store.engine import Database
from .assignees import handle_of, queue_named, resolve_assignee
from .context import Ctx, writing
from .items import (
    assign_in,
    check_version,
    create_item_in,
    item_for_update,
    item_queue_id,
    state_category,
    transfer_in,
    update_item,
    workflow_id_of,
)
from .processes.run import run_event_processes

ITEM = models.Item.__table__
LINK = models.ItemLink.__table__
APPROVAL = models.Approval.__table__


# --- moving --------------------------------------------------------------------------


def find_transition(ctx: Ctx, item: q.ItemRecord, state: str) -> q.TransitionRecord:
    state = state.strip()
    wf_id = workflow_id_of(ctx, item)
    allowed = q.allowed_transitions(ctx.conn, wf_id, item.status)
    for t in allowed:
        if t.to_state == state:
            return t
    if state == item.status:
        raise InvalidTransition(f"{item.key} is already {state!r}")
    names = ", ".join(t.to_state for t in allowed) or "none"
    known = {n for n, _ in q.workflow_states(ctx.conn, wf_id)}
    if state not in known:
        raise InvalidTransition(
            f"{state!r} is not a state of {item.key}'s workflow (next states: {names})"
        )
    raise InvalidTransition(
        f"{item.key} cannot move from {item.status!r} to {state!r} (next states: {names})"
    )


def transition_in(
    ctx: Ctx, item: q.ItemRecord, state: str
) -> tuple[q.ItemRecord, list[dict[str, Any]]]:
    """Move ``item`` to ``state`` and run the transition's actions (same transaction)."""
    t = find_transition(ctx, item, state)
    gate = check_approval(ctx, item, t)
    if gate is not None:
        return item_for_update(ctx, item.key), [gate]
    changes = _state_changes(ctx, item, t.to_state)
    if t.requires_approval:
        changes["approval"] = "none"  # the approval was used by this move
    update_item(ctx, item, changes, [("status", item.status, t.to_state)])
    moved = item_for_update(ctx, item.key)
    done = run_transition_actions(ctx, moved, t)
    if not t.actions and not done:
        return moved, done  # nothing ran after the move: ``moved`` is current
    return item_for_update(ctx, item.key), done


def _state_changes(ctx: Ctx, item: q.ItemRecord, state: str) -> dict[str, Any]:
    """The columns an item entering ``state`` gets: its category, the first response
    when it leaves a new state, the resolution time when it is done (cleared when it
    reopens).  One definition for transitions and loaded states."""
    category = state_category(ctx, workflow_id_of(ctx, item), state)
    changes: dict[str, Any] = {"status": state, "category": category}
    if item.category == "new" and category != "new" and item.first_response_at is None:
        changes["first_response_at"] = ctx.now
    if category == "done" and item.category != "done":
        changes["resolved_at"] = ctx.now
    elif category != "done" and item.category == "done":
        changes["resolved_at"] = None  # reopened: resolution clock restarts
    return changes


def set_state_in(ctx: Ctx, item: q.ItemRecord, state: str) -> q.ItemRecord:
    """Put ``item`` in ``state`` without a transition (a state given by a load file):
    the same timestamps and SLA rules as a transition, one ``status`` event, no actions
    and no approval gate.  The state must be one of the item's workflow."""
    state = state.strip()
    states = [name for name, _cat in q.workflow_states(ctx.conn, workflow_id_of(ctx, item))]
    if state not in states:
        raise InvalidTransition(
            f"{state!r} is not a state of {item.key}'s workflow (states: {', '.join(states)})"
        )
    if state == item.status:
        return item
    update_item(ctx, item, _state_changes(ctx, item, state), [("status", item.status, state)])
    return item_for_update(ctx, item.key)


def transition(
    db: Database,
    key: str,
    state: str,
    *,
    expected_version: int | None = None,
    dry_run: bool = False,
) -> tuple[q.ItemRecord, list[dict[str, Any]]]:
    """Move an item along its workflow.  Returns the item and what the actions did."""
    with writing(db, dry_run=dry_run) as ctx:
        item = item_for_update(ctx, key)
        check_version(ctx, item, expected_version)
        return transition_in(ctx, item, state)


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


def action_result(
    ctx: Ctx, kind: str, item: q.ItemRecord, plan: str, done: str, depth: int = 0, **extra: Any
) -> dict[str, Any]:
    """An action result.  ``text`` is "would <plan>" in a dry run, else ``done``."""
    text = f"would {plan}" if ctx.dry_run else done
    return {"type": kind, "text": text, "item": item.key, "depth": depth, **extra}


# --- actions -------------------------------------------------------------------------


def _act_move(ctx: Ctx, item: q.ItemRecord, action: dict[str, Any], depth: int) -> dict[str, Any]:
    qrow = queue_named(ctx, action["queue"])
    current = item_queue_id(ctx, item.id)
    if qrow.id == current:
        same = f"keep {item.key} in queue {qrow.slug} (already there)"
        return action_result(
            ctx, "move", item, same, same[0].upper() + same[1:], depth, queue=qrow.slug
        )
    # A transfer: across workflows the state is mapped by category, and the new queue's
    # SLA policy starts its clock at the move.
    moved = transfer_in(ctx, item_for_update(ctx, item.key), qrow.slug)
    return action_result(
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
    handle, why = resolve_assignee(ctx, action, item.queue, item.id)
    rule = action.get("rule")
    if handle is None:
        keep = f"with {item.owner}" if item.owner else "UNOWNED"
        return action_result(
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
        return action_result(
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
    return action_result(
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
        qrow = queue_named(ctx, action["triage_of"])
        handle = handle_of(ctx, qrow.triage_owner_id)
        why = f" (triage owner of {qrow.slug})"
    message = wfl.render(action.get("message") or "{key}: {title}", _values(item))
    if handle is None:
        why = f"queue {action.get('triage_of')} has no triage owner"
        return action_result(
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
    return action_result(
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
        action_result(
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
                action_result(
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


# --- the approval gate ---------------------------------------------------------------


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
        return action_result(
            ctx,
            "approval",
            item,
            f"wait: {item.key} is already waiting for approval to move to {transition.to_state}",
            f"{item.key} is already waiting for approval to move to {transition.to_state}",
            status="pending",
            to_state=transition.to_state,
        )
    request_approval_in(ctx, item, transition.to_state)
    return action_result(
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
