"""The weekly review's reads and its one write: SQL only, rows out (the services turn
them into the review's records; see :mod:`opstui.services.review`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, func, select

from ..domain import models
from . import figures_sql as fsql

ITEM = models.Item.__table__
PERSON = models.Person.__table__
QUEUE = models.Queue.__table__
EVENT = models.Event.__table__
LINK = models.ItemLink.__table__
APPROVAL = models.Approval.__table__
REVIEW = models.Review.__table__
COMMENT = models.Comment.__table__
PROCESS = models.Process.__table__
RUN = models.ProcessRun.__table__

OWNER = PERSON.alias("owner")


def _items_from() -> Any:
    return ITEM.join(QUEUE, QUEUE.c.id == ITEM.c.queue_id).outerjoin(
        OWNER, OWNER.c.id == ITEM.c.owner_id
    )


_MISS_COLS = (
    ITEM.c.id,
    ITEM.c.key,
    ITEM.c.title,
    QUEUE.c.slug.label("queue"),
    OWNER.c.handle.label("owner"),
    ITEM.c.created_at,
    ITEM.c.first_response_at,
    ITEM.c.resolved_at,
    ITEM.c.sla_fr_due,
    ITEM.c.sla_res_due,
    ITEM.c.due_at,
)


def sla_candidates(
    conn: Connection, start: datetime, end: datetime, lookback: timedelta
) -> Sequence[Row[Any]]:
    """Items with a due time in ``[start - lookback, end)`` or a target met in the week."""
    return conn.execute(
        select(*_MISS_COLS)
        .select_from(_items_from())
        .where(
            (ITEM.c.sla_fr_due < end) & (ITEM.c.sla_fr_due >= start - lookback)
            | (ITEM.c.sla_res_due < end) & (ITEM.c.sla_res_due >= start - lookback)
            | (ITEM.c.due_at < end) & (ITEM.c.due_at >= start - lookback)
            | ITEM.c.first_response_at.between(start, end)
            | ITEM.c.resolved_at.between(start, end)
        )
    ).all()


def sla_crossing_events(conn: Connection, start: datetime, end: datetime) -> Sequence[Row[Any]]:
    """``sla_breached`` / ``sla_warning`` events written in ``[start, end)``, oldest first."""
    return conn.execute(
        select(EVENT.c.item_id, EVENT.c.field, EVENT.c.old, EVENT.c.new, *_MISS_COLS[1:5])
        .select_from(
            EVENT.join(ITEM, ITEM.c.id == EVENT.c.item_id)
            .join(QUEUE, QUEUE.c.id == ITEM.c.queue_id)
            .outerjoin(OWNER, OWNER.c.id == ITEM.c.owner_id)
        )
        .where(
            EVENT.c.field.in_(("sla_breached", "sla_warning")),
            EVENT.c.ts >= start,
            EVENT.c.ts < end,
        )
        .order_by(EVENT.c.id)
    ).all()


def blocked_links(conn: Connection) -> Sequence[Row[Any]]:
    """Open items with an open blocker: one row per (item, blocker)."""
    src = ITEM.alias("src")
    src_owner = PERSON.alias("src_owner")
    return conn.execute(
        select(
            ITEM.c.id,
            ITEM.c.key,
            ITEM.c.title,
            QUEUE.c.slug.label("queue"),
            OWNER.c.handle.label("owner"),
            ITEM.c.status,
            src.c.key.label("b_key"),
            src.c.title.label("b_title"),
            src_owner.c.handle.label("b_owner"),
            src.c.status.label("b_status"),
        )
        .select_from(
            _items_from()
            .join(LINK, (LINK.c.dst_id == ITEM.c.id) & (LINK.c.kind == "blocks"))
            .join(src, src.c.id == LINK.c.src_id)
            .outerjoin(src_owner, src_owner.c.id == src.c.owner_id)
        )
        .where(fsql.is_open(), fsql.is_open(src))
        .order_by(ITEM.c.priority, ITEM.c.id, src.c.id)
    ).all()


def in_blocked_state(conn: Connection) -> Sequence[Row[Any]]:
    """Open items in a state called ``blocked``."""
    return conn.execute(
        select(
            ITEM.c.id,
            ITEM.c.key,
            ITEM.c.title,
            QUEUE.c.slug.label("queue"),
            OWNER.c.handle.label("owner"),
            ITEM.c.status,
        )
        .select_from(_items_from())
        .where(fsql.is_open(), ITEM.c.status == "blocked")
        .order_by(ITEM.c.priority, ITEM.c.id)
    ).all()


def open_item_activity(conn: Connection) -> Sequence[Row[Any]]:
    """Every open item with the time of its newest event (``last_ts``) and ``updated_at``."""
    # the newest event per open item: the (item_id, id) index answers each lookup
    newest = EVENT.alias("newest")
    last_id = (
        select(func.max(newest.c.id))
        .where(newest.c.item_id == ITEM.c.id)
        .correlate(ITEM)
        .scalar_subquery()
    )
    last_ts = select(EVENT.c.ts).where(EVENT.c.id == last_id).correlate(ITEM).scalar_subquery()
    return conn.execute(
        select(
            ITEM.c.key,
            ITEM.c.title,
            QUEUE.c.slug.label("queue"),
            OWNER.c.handle.label("owner"),
            ITEM.c.status,
            ITEM.c.updated_at,
            last_ts.label("last_ts"),
        )
        .select_from(_items_from())
        .where(fsql.is_open())
    ).all()


def unowned_open(conn: Connection) -> Sequence[Row[Any]]:
    """Open items without an owner, most urgent first."""
    return conn.execute(
        select(
            ITEM.c.key,
            ITEM.c.title,
            QUEUE.c.slug.label("queue"),
            ITEM.c.priority,
            ITEM.c.status,
            ITEM.c.created_at,
            ITEM.c.next_due_at,
            ITEM.c.version,
        )
        .select_from(ITEM.join(QUEUE, QUEUE.c.id == ITEM.c.queue_id))
        .where(fsql.unowned())
        .order_by(ITEM.c.priority, ITEM.c.created_at)
    ).all()


def pending_approvals(conn: Connection) -> Sequence[Row[Any]]:
    """Approvals still pending, oldest request first."""
    return conn.execute(
        select(
            APPROVAL.c.id.label("approval_id"),
            ITEM.c.key,
            ITEM.c.title,
            OWNER.c.handle.label("owner"),
            APPROVAL.c.to_state,
            APPROVAL.c.requested_by,
            APPROVAL.c.requested_at,
            APPROVAL.c.note,
            ITEM.c.version,
        )
        .select_from(
            APPROVAL.join(ITEM, ITEM.c.id == APPROVAL.c.item_id).outerjoin(
                OWNER, OWNER.c.id == ITEM.c.owner_id
            )
        )
        .where(APPROVAL.c.status == "pending")
        .order_by(APPROVAL.c.requested_at, APPROVAL.c.id)
    ).all()


def process_runs_created(conn: Connection, start: datetime, end: datetime) -> Sequence[Row[Any]]:
    """Process runs created in ``[start, end)`` with their process and item, oldest first."""
    return conn.execute(
        select(
            PROCESS.c.key.label("process"),
            PROCESS.c.name,
            ITEM.c.key.label("item"),
            RUN.c.occurrence_at,
            RUN.c.created_at,
        )
        .select_from(
            RUN.join(PROCESS, PROCESS.c.id == RUN.c.process_id).outerjoin(
                ITEM, ITEM.c.id == RUN.c.item_id
            )
        )
        .where(
            RUN.c.created_at >= start,
            RUN.c.created_at < end,
            # the audit's per-person claims (domain.audit.person_key) are parts of one run
            ~RUN.c.occurrence_key.like("%#person:%"),
        )
        .order_by(RUN.c.created_at, RUN.c.id)
    ).all()


def done_between(conn: Connection, first: datetime, upto: datetime) -> Sequence[Row[Any]]:
    """(queue slug, created_at, resolved_at) of items resolved in ``[first, upto)``."""
    return conn.execute(
        select(QUEUE.c.slug, ITEM.c.created_at, ITEM.c.resolved_at)
        .select_from(ITEM.join(QUEUE, QUEUE.c.id == ITEM.c.queue_id))
        .where(fsql.done(), ITEM.c.resolved_at >= first, ITEM.c.resolved_at < upto)
    ).all()


def queue_slugs(conn: Connection) -> list[str]:
    """Every queue's slug, in creation order."""
    return [r[0] for r in conn.execute(select(QUEUE.c.slug).order_by(QUEUE.c.id))]


def newest_review(conn: Connection) -> Row[Any] | None:
    """The most recently held review, or None."""
    return conn.execute(
        select(REVIEW).order_by(REVIEW.c.held_at.desc(), REVIEW.c.id.desc()).limit(1)
    ).first()


def reviews_ended_between(
    conn: Connection, lo: datetime, hi: datetime, held_before: datetime
) -> Sequence[Row[Any]]:
    """Held reviews whose reviewed week ended in ``[lo, hi)``, held before
    ``held_before``, oldest first."""
    return conn.execute(
        select(REVIEW)
        .where(REVIEW.c.week_end >= lo, REVIEW.c.week_end < hi, REVIEW.c.held_at < held_before)
        .order_by(REVIEW.c.held_at, REVIEW.c.id)
    ).all()


def last_comments(
    conn: Connection, keys: Sequence[str], per_item: int
) -> dict[str, list[Row[Any]]]:
    """The last ``per_item`` comments (author handle or unix user, body, created_at) of
    each item in ``keys``, oldest first."""
    if not keys:
        return {}
    rows = conn.execute(
        select(
            ITEM.c.key,
            func.coalesce(PERSON.c.handle, COMMENT.c.unix_user).label("author"),
            COMMENT.c.body,
            COMMENT.c.created_at,
        )
        .select_from(
            COMMENT.join(ITEM, ITEM.c.id == COMMENT.c.item_id).outerjoin(
                PERSON, PERSON.c.id == COMMENT.c.author_id
            )
        )
        .where(ITEM.c.key.in_(list(keys)))
        .order_by(COMMENT.c.created_at.desc(), COMMENT.c.id.desc())
    ).all()
    out: dict[str, list[Row[Any]]] = {}
    for r in rows:
        got = out.setdefault(r.key, [])
        if len(got) < per_item:
            got.append(r)
    return {k: v[::-1] for k, v in out.items()}


def person_handle(conn: Connection, person_id: int) -> str | None:
    return conn.execute(select(PERSON.c.handle).where(PERSON.c.id == person_id)).scalar()


def insert_review(
    conn: Connection,
    *,
    held_by: str,
    person_id: int | None,
    held_at: datetime,
    week_start: datetime,
    week_end: datetime,
    decisions: list[dict[str, Any]],
) -> int:
    """Insert a held review row; returns its id (inside the caller's write transaction)."""
    review_id = conn.execute(
        REVIEW.insert().values(
            held_by=held_by,
            person_id=person_id,
            held_at=held_at,
            week_start=week_start,
            week_end=week_end,
            decisions=decisions,
        )
    ).inserted_primary_key[0]
    return int(review_id)
