"""Recording a held review: the review's one write."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ...domain.text import one_line
from ...store import review_queries as rq
from ...store.engine import Database
from ..context import writing


def record_review(
    db: Database,
    start: datetime,
    end: datetime,
    decisions: Sequence[dict[str, Any]],
    notes: str = "",
) -> int:
    """Record a held review (who, when, which week, decisions); returns its id."""
    cleaned = [
        {k: (one_line(str(v), 500) if isinstance(v, str) else v) for k, v in d.items()}
        for d in decisions
    ]
    if notes.strip():
        cleaned.append({"kind": "note", "text": one_line(notes, 2000)})
    with writing(db) as ctx:
        held_by = ctx.unix_user
        if ctx.person_id is not None:
            held_by = rq.person_handle(ctx.conn, ctx.person_id) or held_by
        review_id = rq.insert_review(
            ctx.conn,
            held_by=held_by,
            person_id=ctx.person_id,
            held_at=ctx.now,
            week_start=start,
            week_end=end,
            decisions=cleaned,
        )
        ctx.record(
            "review_held",
            None,
            f"week of {start:%Y-%m-%d}: {len(cleaned)} decision(s)",
            entity="review",
            entity_id=review_id,
        )
        return review_id
