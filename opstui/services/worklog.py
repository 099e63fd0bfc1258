"""Time logging: ``opstui log KEY 1h30m`` and the ``t`` key on an item."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..domain.fields import clean_body
from ..domain.forecast import parse_time_spent, remaining_hours
from ..domain.sla import format_remaining
from ..errors import ValidationError
from ..store import worklog as wq
from ..store.engine import Database
from .context import writing
from .items import item_for_update, person_id

#: ``--at`` may be this far ahead of the clock (clocks of two machines differ a little).
FUTURE_SLACK = timedelta(minutes=5)


@dataclass(frozen=True)
class Logged:
    key: str
    seconds: int
    at: datetime
    total_seconds: int
    estimate_hours: float | None
    remaining_hours: float
    over_estimate: bool


def log_time(
    db: Database,
    key: str,
    spent: str | int,
    *,
    note: str = "",
    at: datetime | None = None,
    by: str | None = None,
) -> Logged:
    """Record time spent on an item (one event ``logged``).  Never conflicts with edits.

    The time is ``by`` that person's (default: the person running opstui, if any); time
    that is nobody's still counts on the item but teaches no one's focus factor.
    """
    if isinstance(spent, int):
        seconds = spent
    else:
        try:
            seconds = parse_time_spent(spent)
        except ValueError as exc:
            raise ValidationError(f"time spent: {exc}") from None
    note = clean_body(note.strip()) if note and note.strip() else ""
    with writing(db) as ctx:
        item = item_for_update(ctx, key)
        when = at or ctx.now
        if when > ctx.now + FUTURE_SLACK:
            raise ValidationError(f"--at {when.isoformat()} is in the future")
        if when < item.created_at:
            raise ValidationError(
                f"--at {when.isoformat()} is before {item.key} was created "
                f"({item.created_at.isoformat()})"
            )
        wq.insert_worklog(
            ctx.conn,
            item_id=item.id,
            person_id=ctx.person_id if by is None else person_id(ctx, by),
            unix_user=ctx.unix_user,
            seconds=seconds,
            note=note,
            at=when,
            created_at=ctx.now,
        )
        text = format_remaining(seconds) + (f" by {by}" if by else "")
        ctx.record("logged", None, text, item_id=item.id, item_version=item.version)
        total = wq.logged_seconds(ctx.conn, item.id)
    left, over = remaining_hours(item.estimate_hours, total / 3600)
    return Logged(item.key, seconds, when, total, item.estimate_hours, left, over)
