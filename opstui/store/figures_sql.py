"""The SQL forms of the figures defined in ``domain/figures.py``: the only place each
figure's predicate is written for the database.

Every predicate here says what the matching function in ``domain.figures`` says, over the
SLA engine's cached columns, and stays index-friendly: open is an ``IN`` list (a seek per
category on the item indexes), breached is a range on ``next_due_at`` (the
``(category, next_due_at)`` index) refined by the pause.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select

from ..domain import models
from ..domain.figures import DEFAULT_ESTIMATE_HOURS, DONE_CATEGORY, OPEN_CATEGORIES

ITEM = models.Item.__table__
EVENT = models.Event.__table__


def is_open(table: Any = ITEM) -> Any:
    """``domain.figures.is_open`` (of ``table``: the item table or an alias of it)."""
    return table.c.category.in_(OPEN_CATEGORIES)


def done(table: Any = ITEM) -> Any:
    """``domain.figures.is_done``: the item reached a done state."""
    return table.c.category == DONE_CATEGORY


def unowned() -> Any:
    """``domain.figures.is_unowned``: open, no owner."""
    return and_(is_open(), ITEM.c.owner_id.is_(None))


def load_hours(default_estimate: float = DEFAULT_ESTIMATE_HOURS) -> Any:
    """``domain.figures.item_hours`` summed: load hours of the rows grouped (open items)."""
    return func.sum(func.coalesce(ITEM.c.estimate_hours, default_estimate))


def breached(now: datetime) -> Any:
    """``domain.figures.is_breached``: an open target past due, at the pause if paused.

    A pause always starts in the past, so ``next_due_at <= now`` holds for every breached
    item (the index range); a paused item is breached when its target fell due before
    the pause began.
    """
    return and_(
        is_open(),
        ITEM.c.next_due_at <= now,
        or_(
            ITEM.c.sla_paused_since.is_(None),
            ITEM.c.sla_paused_since >= ITEM.c.next_due_at,
        ),
    )


def paused(now: datetime) -> Any:
    """``item_sla_state == "paused"``: the clock is stopped and no target fell due before."""
    return and_(
        is_open(),
        ITEM.c.sla_paused_since.is_not(None),
        ITEM.c.next_due_at.is_not(None),
        ITEM.c.next_due_at > ITEM.c.sla_paused_since,
    )


def warning(now: datetime) -> Any:
    """``item_sla_state == "warning"``: running, not breached, an unmet target past its
    cached warning instant.  Never NULL for an open running item, so ``~warning`` is safe."""
    return and_(
        is_open(),
        ITEM.c.sla_paused_since.is_(None),
        ITEM.c.next_due_at > now,
        or_(
            and_(
                ITEM.c.sla_fr_due.is_not(None),
                ITEM.c.first_response_at.is_(None),
                ITEM.c.resolved_at.is_(None),
                ITEM.c.sla_fr_warn.is_not(None),
                ITEM.c.sla_fr_warn <= now,
            ),
            and_(
                ITEM.c.sla_res_due.is_not(None),
                ITEM.c.sla_res_warn.is_not(None),
                ITEM.c.sla_res_warn <= now,
            ),
        ),
    )


def sla_ok(now: datetime) -> Any:
    """``item_sla_state == "ok"``: has an open target, running, neither breached nor warning."""
    return and_(
        is_open(),
        ITEM.c.sla_paused_since.is_(None),
        ITEM.c.next_due_at > now,
        ~warning(now),
    )


def sla_state(state: str, now: datetime) -> Any:
    """The predicate for an item SLA state name (``at_risk`` = warning, ``due`` = any)."""
    if state == "breached":
        return breached(now)
    if state == "paused":
        return paused(now)
    if state in ("warning", "at_risk"):
        return warning(now)
    if state == "ok":
        return sla_ok(now)
    if state == "due":
        return and_(is_open(), ITEM.c.next_due_at.is_not(None))
    raise ValueError(f"unknown SLA state {state!r}: breached, warning, paused, ok or due")


def latest_drift_event() -> Any:
    """The id of the item's latest ``drifting`` event (correlated to ``item``)."""
    ev = EVENT.alias("drift_ev")
    return (
        select(func.max(ev.c.id))
        .where(ev.c.item_id == ITEM.c.id, ev.c.field == "drifting")
        .correlate(ITEM)
        .scalar_subquery()
    )


def drift_said() -> Any:
    """What the latest drift event of a *drifting* item said (``finishes ..., due ...:
    21h late``), NULL for other items: evaluated only for drifting ones."""
    said = select(EVENT.c.new).where(EVENT.c.id == latest_drift_event()).scalar_subquery()
    return case((drifting(), said), else_=None)


def drifting() -> Any:
    """``domain.figures`` *drifting*: open, and the latest drift event says it drifts."""
    said = select(EVENT.c.id).where(
        EVENT.c.id == latest_drift_event(), EVENT.c.new.is_not(None), EVENT.c.new != ""
    )
    return and_(is_open(), exists(said))
