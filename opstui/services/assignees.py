"""Assign rules: who ``{rule="person"|"triage"|"least_loaded"|"round_robin"}`` picks."""

from __future__ import annotations

from typing import Any

from ..errors import NotFound, ValidationError
from ..store import assignees as store
from ..store import definitions as defs
from .capacity import DEFAULT_ESTIMATE_HOURS
from .context import Ctx


def queue_named(ctx: Ctx, slug: str) -> Any:
    """The queue row for ``slug``; NotFound if there is none."""
    row = defs.queue_row(ctx.conn, slug)
    if row is None:
        raise NotFound(f"no queue {slug!r}")
    return row


def handle_of(ctx: Ctx, person_id: int | None) -> str | None:
    if person_id is None:
        return None
    return defs.person_handle(ctx.conn, person_id)


def _away_note(ctx: Ctx, person_id: int) -> str:
    end = store.away_until(ctx.conn, person_id, ctx.now.date())
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
        row = defs.person_active(ctx.conn, handle)
        if row is None:
            raise NotFound(f"assign: no person {handle!r}")
        if not row.active:
            return None, f"{handle} is inactive"
        return handle, "named" + _away_note(ctx, row.id)
    if kind == "triage":
        slug = rule.get("queue") or queue_slug
        qrow = queue_named(ctx, slug)
        handle = handle_of(ctx, qrow.triage_owner_id)
        if handle is None:
            return None, f"queue {qrow.slug} has no triage owner"
        return handle, f"triage owner of {qrow.slug}" + _away_note(ctx, qrow.triage_owner_id)
    people = store.available(ctx.conn, ctx.now.date(), skill)
    what = f"with skill {skill}" if skill else "available"
    if not people:
        return None, f"nobody {what} is active and in today"
    if kind == "least_loaded":
        loads = store.open_hours(
            ctx.conn,
            [pid for pid, _ in people],
            exclude_item=item_id,
            default_estimate=DEFAULT_ESTIMATE_HOURS,
        )
        pid, handle = min(people, key=lambda p: (float(loads.get(p[0]) or 0.0), p[1]))
        return handle, f"least loaded {what} ({float(loads.get(pid) or 0):g}h open)"
    if kind == "round_robin":
        handles = [h for _, h in people]
        last = store.last_assigned(ctx.conn, handles)
        if last is None:
            return handles[0], f"round robin {what}"
        return handles[
            (handles.index(last) + 1) % len(handles)
        ], f"round robin {what} (after {last})"
    raise ValidationError(f"assign: unknown rule {kind!r}")
