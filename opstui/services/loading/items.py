"""The ``[[items]]`` section: items and their history, replayed in time order through
the item services.  Each step runs with a context of its own (its time and actor), so
the load's context keeps its own clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from ...errors import OpsError, ValidationError
from ...store import definitions as defs
from .. import items as item_svc
from .. import transitions
from ..context import Ctx
from .base import LoadError, Loading, known, require

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
STEP_KEYS = {"at", "by", "to", "assign", "comment", "priority", "estimate", "title", "queue"}


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


def _apply(ctx: Ctx, key: str, step: dict[str, Any]) -> None:
    item = item_svc.item_for_update(ctx, key)
    if "to" in step:
        transitions.transition_in(ctx, item, step["to"])
    elif "queue" in step:  # a transfer, optionally to a named owner
        item_svc.transfer_in(ctx, item, step["queue"], owner=step.get("assign") or None)
    elif "assign" in step:
        item_svc.assign_in(ctx, item, step["assign"] or None)
    elif "comment" in step:
        item_svc.comment_in(ctx, item, step["comment"])
    else:
        fields = {k: step[k] for k in ("priority", "estimate", "title") if k in step}
        if not fields:
            raise ValidationError(
                "a history step needs to, assign, comment, priority, estimate or title"
            )
        changes, events = {}, []
        for name, value in fields.items():
            column, clean = item_svc.EDITABLE[name]
            changes[column] = clean(value)
            events.append((name, getattr(item, column), changes[column]))
        item_svc.update_item(ctx, item, changes, events)


def load_items(ld: Loading, entries: list[dict[str, Any]]) -> None:
    """Items and their history, replayed in time order through the service functions."""
    ctx = ld.ctx
    steps: list[tuple[datetime, int, Callable[[datetime], None]]] = []
    refs: dict[str, str] = {}
    keys: dict[int, str] = {}
    seq = 0
    load_time = ctx.now
    for i, e in enumerate(entries):
        where = ld.where("items", i, e, "title")
        known(e, ITEM_KEYS, where)
        require(e, ("queue", "title"), where)
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

        steps.append((created, seq, create))
        seq += 1
        last = created
        for j, step in enumerate(e.get("history", [])):
            swhere = f"{where} history[{j}]"
            known(step, STEP_KEYS, swhere)
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
                except OpsError as exc:
                    raise LoadError(f"{swhere}: {exc}") from None

            steps.append((at, seq, apply))
            seq += 1
    for at, _seq, fn in sorted(steps, key=lambda s: (s[0], s[1])):
        fn(at)
    for i, e in enumerate(entries):
        where = ld.where("items", i, e, "title")
        for ref in e.get("blocked_by", []):
            if ref not in refs:
                raise LoadError(f"{where}: blocked_by {ref!r} names no item ref in this file")
            blocker = item_svc.item_for_update(ctx, refs[ref])
            item = item_svc.item_for_update(ctx, keys[i])
            item_svc.block_in(ctx, item, blocker)
        if e.get("parent"):
            if e["parent"] not in refs:
                raise LoadError(f"{where}: parent {e['parent']!r} names no item ref in this file")
            parent = item_svc.item_for_update(ctx, refs[e["parent"]])
            item_svc.set_parent_in(ctx, item_svc.item_for_update(ctx, keys[i]), parent)
        if e.get("approval"):
            item = item_svc.item_for_update(ctx, keys[i])
            transitions.request_approval_in(ctx, item, str(e["approval"]), note="loaded")
    ld.report.counts["items"] = len(entries)
