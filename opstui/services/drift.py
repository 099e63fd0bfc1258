"""Drift as something people are told about and can act on.

* :func:`record_drift` writes a ``drifting`` event the first time an item starts drifting
  (new value: what the forecast says, e.g. ``finishes Fri 11 Dec 10:08, due Wed 09 Dec 17:00:
  1d17h late``) and one with an empty value when it is back on time, so each episode is told
  once.  Exactly once across terminals: the marks are re-read inside the write transaction.
* :func:`rescues_in` turns :func:`opstui.domain.forecast.suggest_rescues` into the same
  :class:`~opstui.domain.capacity.Move` the review's rebalancing accepts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from ..domain import forecast as fc
from ..domain.capacity import Move, OpenItem, can_take
from ..store import queries as q
from ..store import worklog as wq
from ..store.engine import Database
from .capacity import people_in
from .context import writing
from .forecast import ForecastView, Settings, describe, forecast_in


def _changes(view: ForecastView, marks: dict[int, bool]) -> list[tuple[int, str | None]]:
    out: list[tuple[int, str | None]] = []
    for row in view.rows:
        item_id = row.item_id
        now_drifting = row.projection.drifting(view.now)
        if now_drifting != marks.get(item_id, False):
            out.append((item_id, describe(row, view.calendar) if now_drifting else None))
    return out


def record_drift(db: Database, settings: Settings | None = None) -> int:
    """Record drift starting and ending since the last look; returns how many events."""
    with db.read() as conn:
        now = db.clock.now()
        view = forecast_in(conn, now, settings)  # the one read of the open items
        if not _changes(view, wq.drift_marks(conn)):
            return 0  # the common case: no write transaction at all
    with writing(db) as ctx:
        changes = _changes(view, wq.drift_marks(ctx.conn))
        versions = {r.id: r.version for r in q.items_by_ids(ctx.conn, [i for i, _ in changes])}
        for item_id, text in changes:
            if item_id in versions:
                ctx.record("drifting", None, text, item_id=item_id, item_version=versions[item_id])
        return len(changes)


def rescues_in(
    conn: Connection, now: datetime, settings: Settings | None = None
) -> tuple[ForecastView, list[Move]]:
    """The reassignments that bring drifting items back on time, as review moves."""
    settings = settings or Settings()
    view = forecast_in(conn, now, settings)
    people = {p.handle: p for p in people_in(conn)}
    known = {s for p in people.values() for s in p.skills}
    work = {w.key: w for w in wq.open_work(conn)}
    records = {r.key: r for r in q.items_by_ids(conn, [w.id for w in work.values()])}

    def open_item(w: wq.OpenWork) -> OpenItem:
        skills = (w.data or {}).get("skills") if isinstance(w.data, dict) else None
        return OpenItem(
            key=w.key,
            title=w.title,
            owner=w.owner,
            estimate_hours=w.estimate_hours,
            priority=w.priority,
            kind=w.kind,
            queue=w.queue,
            skills=tuple(str(s) for s in skills) if isinstance(skills, list) else (),
        )

    def taker(item: fc.WorkItem, handle: str) -> bool:
        w = work[item.key]
        owner = people.get(w.owner) if w.owner else None
        cand = people.get(handle)
        return cand is not None and can_take(cand, owner, open_item(w), known)

    cal = view.calendar
    moves = []
    for rescue in fc.suggest_rescues(view.workers, view.items, now, taker, view.triage):
        w = work[rescue.key]
        late = rescue.finish_before
        why = (
            f"drifting: due {rescue.target_at.astimezone(cal.tz):%a %d %b %H:%M}; "
            f"with {rescue.to_handle} it finishes "
            f"{rescue.finish_after.astimezone(cal.tz):%a %d %b %H:%M}"
            + ("" if late is None else f" instead of {late.astimezone(cal.tz):%a %d %b %H:%M}")
        )
        moves.append(
            Move(
                key=w.key,
                title=w.title,
                from_handle=w.owner or "(unowned)",
                to_handle=rescue.to_handle,
                hours=float(w.estimate_hours or 0.0),
                priority=w.priority,
                version=records[w.key].version,
                reason=why,
            )
        )
    return view, moves
