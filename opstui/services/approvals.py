"""Approvals: listing them, and approving (which applies the move) or rejecting one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from ..domain import models
from ..errors import InvalidTransition, ValidationError
from ..store import queries as q
from ..store.engine import Database
from .context import Ctx, writing
from .items import item_for_update, update_item
from .transitions import action_result, transition_in

ITEM = models.Item.__table__
APPROVAL = models.Approval.__table__


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
    with writing(db, dry_run=dry_run) as ctx:
        item = item_for_update(ctx, key)
        row = _pending(ctx, item)
        _decide(ctx, item, row, "approved", note)
        results = [
            action_result(
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
            action_result(
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
    with writing(db) as ctx:
        item = item_for_update(ctx, key)
        row = _pending(ctx, item)
        _decide(ctx, item, row, "rejected", note)
        return item_for_update(ctx, key)
