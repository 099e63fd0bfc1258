"""Workflow transition actions, run inside the transition's own transaction."""

from __future__ import annotations

from typing import Any

from ..store.queries import ItemRecord, TransitionRecord
from .context import Ctx


def run_transition_actions(
    ctx: Ctx, item: ItemRecord, transition: TransitionRecord
) -> list[dict[str, Any]]:
    """Run ``transition.actions`` for ``item``; return a description of what was done."""
    if ctx.replay:
        return []
    return []


def check_approval(
    ctx: Ctx, item: ItemRecord, transition: TransitionRecord
) -> dict[str, Any] | None:
    """If the move needs an approval that is not given, say so (None lets it proceed)."""
    if ctx.replay or not transition.requires_approval or item.approval == "approved":
        return None
    from ..errors import InvalidTransition

    raise InvalidTransition(
        f"{item.key}: moving to {transition.to_state!r} needs an approval first"
    )


def validate_actions(ctx: Ctx, source: str) -> None:
    """Check every stored transition action (filled in by the automation work)."""
    from sqlalchemy import select

    from ..domain import models

    t = models.WorkflowTransition.__table__
    wf = models.Workflow.__table__
    for name, frm, to, actions in ctx.conn.execute(
        select(wf.c.name, t.c.from_state, t.c.to_state, t.c.actions).join(wf, wf.c.id == t.c.workflow_id)
    ):
        pass  # validated by the automation engine


def load_process_entry(ld: Any, where: str, entry: dict[str, Any]) -> None:
    from sqlalchemy import select

    from ..domain import models
    from .items import person_id
    from .loader import LoadError

    proc = models.Process.__table__
    if not entry.get("key"):
        raise LoadError(f"{where}: missing required key 'key'")
    values = {
        "key": entry["key"],
        "name": entry.get("name", entry["key"]),
        "owner_id": person_id(ld.ctx, entry["owner"]) if entry.get("owner") else None,
        "trigger_kind": next(iter(entry["trigger"]), None) if entry.get("trigger") else None,
        "trigger": next(iter(entry["trigger"].values()), None) if entry.get("trigger") else None,
        "timezone": entry.get("timezone", "UTC"),
        "runbook": entry.get("runbook", ""),
        "skills": list(entry.get("skills", [])),
    }
    existing = ld.ctx.conn.execute(select(proc.c.id).where(proc.c.key == entry["key"])).first()
    if existing:
        ld.ctx.conn.execute(proc.update().where(proc.c.id == existing[0]).values(**values))
    else:
        ld.ctx.conn.execute(proc.insert().values(**values))


def request_approval_in(ctx: Ctx, item: ItemRecord, to_state: str, note: str = "") -> None:
    from sqlalchemy import update

    from ..domain import models

    ctx.conn.execute(
        models.Approval.__table__.insert().values(
            item_id=item.id, to_state=to_state, status="pending", requested_by=ctx.unix_user,
            requested_at=ctx.now, note=note,
        )
    )
    ctx.conn.execute(
        update(models.Item.__table__).where(models.Item.__table__.c.id == item.id).values(approval="pending")
    )
    ctx.record("approval", item.approval, "pending", item_id=item.id, item_version=item.version)


def describe_action(action: dict[str, Any]) -> str:
    """One line for an action result."""
    return str(action.get("text") or action)
