"""The ``[[items]]`` section: items and their history, replayed in time order through
the item services.  Each step runs with a context of its own (its time and actor), so
the load's context keeps its own clock.

An item's ``status`` puts it in that state when it is created (the same timestamps and
SLA rules as a transition, one ``status`` event by the actor ``loaded``).  A history
step may carry several changes; all of them are applied, in :data:`STEP_CHANGES` order,
each through the item services, at the step's time and as its actor.  Any change that
cannot be applied fails the whole load, naming file, entry, step and change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

from ...errors import OpsError
from ...store import definitions as defs
from ...store import queries as q
from .. import items as item_svc
from .. import transitions
from ..context import Ctx
from .base import LoadError, Loading, known, no_repeats, require, string_list, tables

ITEM_KEYS = {
    "ref",
    "queue",
    "title",
    "body",
    "kind",
    "priority",
    "owner",
    "estimate",
    "requester",
    "created",
    "due",
    "status",
    "history",
    "blocked_by",
    "parent",
    "approval",
}
#: Keys of an item that must be text when given.
ITEM_TEXT = ("ref", "queue", "title", "body", "kind", "owner", "requester", "status", "parent")
#: The changes a history step may carry, in the order they are applied: the queue first
#: (a transfer maps the state into the new queue's workflow), then the state, the owner,
#: the fields, and the comment last (it is written in the item as the step leaves it).
STEP_CHANGES = ("queue", "to", "assign", "priority", "estimate", "title", "comment")
STEP_KEYS = {"at", "by", *STEP_CHANGES}
STEP_TEXT = ("by", "queue", "to", "assign", "title", "comment")
#: Who the event of a loaded ``status`` is recorded as.
LOADED_ACTOR = "loaded"


class _StepError(Exception):
    """One change of a step failed: ``str()`` names the change and the reason."""


def _step_ctx(ld: Loading, at: datetime, handle: str | None, where: str) -> Ctx:
    """The context one replayed step runs in: at ``at``, as ``handle`` (None: the user
    running the load), with workflow actions and approval gates off."""
    ctx = ld.ctx
    if not handle:
        return replace(ctx, now=at, replay=True)
    row = defs.person_login(ctx.conn, handle)
    if row is None:
        raise LoadError(f"{where}: by {handle!r} is not a person")
    return replace(ctx, now=at, replay=True, unix_user=row.login or handle, person_id=row.id)


@contextmanager
def _change(name: str, value: Any) -> Iterator[None]:
    try:
        yield
    except OpsError as exc:
        raise _StepError(f"{name} {value!r}: {exc}") from None


def _transfer(ctx: Ctx, item: q.ItemRecord, queue: str, to: str | None) -> q.ItemRecord:
    """Move ``item`` to ``queue``.  Across workflows the state is mapped by category; a
    ``to`` of the step that is a state of the new workflow in the item's category is
    where the item lands (so an unclear mapping can be settled in the step itself)."""
    state = None
    if to is not None:
        qrow = item_svc.queue_row(ctx, queue)
        if qrow.workflow_id != item_svc.workflow_id_of(ctx, item):
            states = q.workflow_states(ctx.conn, qrow.workflow_id)
            if (to, item.category) in states:
                state = to
    return item_svc.transfer_in(ctx, item, queue, state=state)


def _apply(ctx: Ctx, key: str, step: dict[str, Any]) -> None:
    """Apply every change of one step, in :data:`STEP_CHANGES` order."""
    item = item_svc.item_for_update(ctx, key)
    to = step.get("to")
    landed = False
    if "queue" in step:
        with _change("queue", step["queue"]):
            item = _transfer(ctx, item, step["queue"], to)
        landed = to is not None and item.status == to
    if to is not None and not landed:
        with _change("to", to):
            item, _ = transitions.transition_in(ctx, item, to)
    if "assign" in step:
        with _change("assign", step["assign"]):
            item = item_svc.assign_in(ctx, item, step["assign"] or None)
    for name in ("priority", "estimate", "title"):
        if name in step:
            with _change(name, step[name]):
                item = item_svc.edit_in(ctx, item, {name: step[name]})
    if "comment" in step:
        with _change("comment", step["comment"]):
            item_svc.comment_in(ctx, item, step["comment"])


def _check_item(e: dict[str, Any], where: str) -> None:
    known(e, ITEM_KEYS, where)
    require(e, ("queue", "title"), where)
    for k in ITEM_TEXT:
        if k in e and not isinstance(e[k], str):
            raise LoadError(f"{where}: {k} must be text (got {e[k]!r})")
    if "approval" in e and (not isinstance(e["approval"], str) or not e["approval"].strip()):
        raise LoadError(f"{where}: approval must name the state the item waits to move to")
    string_list(e, "blocked_by", where)


def _check_step(step: dict[str, Any], where: str) -> None:
    known(step, STEP_KEYS, where)
    for k in STEP_TEXT:
        if k in step and not isinstance(step[k], str):
            raise LoadError(f"{where}: {k} must be text (got {step[k]!r})")
    if not any(k in step for k in STEP_CHANGES):
        raise LoadError(f"{where}: a history step needs at least one of {', '.join(STEP_CHANGES)}")


def _set_status(ld: Loading, at: datetime, key: str, status: str, where: str) -> None:
    """The item's ``status`` from the file, as if a transition took it there at creation,
    recorded as made by ``loaded``."""
    ctx = replace(_step_ctx(ld, at, None, where), unix_user=LOADED_ACTOR, person_id=None)
    item = item_svc.item_for_update(ctx, key)
    states = _states(ctx, item)
    if status.strip() not in states:
        raise LoadError(
            f"{where}: status {status!r} is not a state of queue {item.queue}'s workflow "
            f"(states: {', '.join(states)})"
        )
    try:
        transitions.set_state_in(ctx, item, status)
    except OpsError as exc:
        raise LoadError(f"{where}: status {status!r}: {exc}") from None


def _states(ctx: Ctx, item: q.ItemRecord) -> list[str]:
    return [n for n, _ in q.workflow_states(ctx.conn, item_svc.workflow_id_of(ctx, item))]


def _approval(ctx: Ctx, key: str, to_state: str, where: str) -> None:
    item = item_svc.item_for_update(ctx, key)
    states = _states(ctx, item)
    to_state = to_state.strip()
    if to_state not in states:
        raise LoadError(
            f"{where}: approval {to_state!r} is not a state of queue {item.queue}'s workflow "
            f"(states: {', '.join(states)})"
        )
    if to_state == item.status:
        raise LoadError(f"{where}: approval {to_state!r} is the state the item is in already")
    transitions.request_approval_in(ctx, item, to_state, note="loaded")


def load_items(ld: Loading, entries: list[dict[str, Any]]) -> None:
    """Items and their history, replayed in time order through the service functions."""
    ctx = ld.ctx
    steps: list[tuple[datetime, int, Callable[[datetime], None]]] = []
    refs: dict[str, str] = {}
    keys: dict[int, str] = {}
    seq = 0
    load_time = ctx.now
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            raise LoadError(f"{ld.source}: items[{i}] must be a table")
    no_repeats(ld, "items", entries, "ref")
    for i, e in enumerate(entries):
        where = ld.where("items", i, e, "title")
        _check_item(e, where)
        created = ld.when(e["created"], where, "created") if e.get("created") else load_time
        due = ld.when(e["due"], where, "due") if e.get("due") else None

        def create(
            at: datetime,
            i: int = i,
            e: dict[str, Any] = e,
            where: str = where,
            due: datetime | None = due,
        ) -> None:
            try:
                rec = item_svc.create_item_in(
                    _step_ctx(ld, at, None, where),
                    queue=e["queue"],
                    title=e["title"],
                    body=e.get("body", ""),
                    kind=e.get("kind", "task"),
                    priority=e.get("priority", 3),
                    owner=e.get("owner") or None,
                    estimate=e.get("estimate"),
                    requester=e.get("requester", ""),
                    due_at=due,
                    created_at=at,
                )
            except OpsError as exc:
                raise LoadError(f"{where}: {exc}") from None
            keys[i] = rec.key
            if e.get("ref"):
                refs[e["ref"]] = rec.key
            ld.report.items.append(rec.key)
            if e.get("status"):
                _set_status(ld, at, rec.key, e["status"], where)

        steps.append((created, seq, create))
        seq += 1
        last = created
        for j, step in enumerate(tables(e, "history", where)):
            swhere = f"{where} history[{j}]"
            _check_step(step, swhere)
            at = ld.when(step.get("at"), swhere, "at") if step.get("at") else last
            if at < last:
                raise LoadError(f"{swhere}: at {at.isoformat()} is before the step before it")
            last = at

            def apply(
                at: datetime, i: int = i, step: dict[str, Any] = step, swhere: str = swhere
            ) -> None:
                step_ctx = _step_ctx(ld, at, step.get("by"), swhere)
                try:
                    _apply(step_ctx, keys[i], step)
                except _StepError as exc:
                    raise LoadError(f"{swhere}: {exc}") from None
                except OpsError as exc:
                    raise LoadError(f"{swhere}: {exc}") from None

            steps.append((at, seq, apply))
            seq += 1
    for at, _seq, fn in sorted(steps, key=lambda s: (s[0], s[1])):
        fn(at)
    for i, e in enumerate(entries):
        where = ld.where("items", i, e, "title")
        for ref in string_list(e, "blocked_by", where):
            if ref not in refs:
                raise LoadError(f"{where}: blocked_by {ref!r} names no item ref in this file")
            if refs[ref] == keys[i]:
                raise LoadError(f"{where}: blocked_by {ref!r} is the item itself")
            blocker = item_svc.item_for_update(ctx, refs[ref])
            item = item_svc.item_for_update(ctx, keys[i])
            item_svc.block_in(ctx, item, blocker)
        if e.get("parent"):
            if e["parent"] not in refs:
                raise LoadError(f"{where}: parent {e['parent']!r} names no item ref in this file")
            if refs[e["parent"]] == keys[i]:
                raise LoadError(f"{where}: parent {e['parent']!r} is the item itself")
            parent = item_svc.item_for_update(ctx, refs[e["parent"]])
            item_svc.set_parent_in(ctx, item_svc.item_for_update(ctx, keys[i]), parent)
        if e.get("approval"):
            _approval(ctx, keys[i], e["approval"], where)
    ld.report.counts["items"] = len(entries)
