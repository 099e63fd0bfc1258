"""What the assign rules read: who is in today, who is away until when, each person's
open hours, and who a round robin assigned last."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, func, select

from ..domain import models

ITEM = models.Item.__table__
PERSON = models.Person.__table__
SKILL = models.PersonSkill.__table__
AWAY = models.AwayPeriod.__table__
EVENT = models.Event.__table__


def available(conn: Connection, today: date, skill: str | None) -> list[tuple[int, str]]:
    """Active people (with ``skill``) who are not away ``today``, by handle."""
    away = select(AWAY.c.person_id).where(AWAY.c.start_date <= today, AWAY.c.end_date >= today)
    stmt = select(PERSON.c.id, PERSON.c.handle).where(
        PERSON.c.active.is_(True), PERSON.c.id.not_in(away)
    )
    if skill:
        stmt = stmt.where(
            PERSON.c.id.in_(select(SKILL.c.person_id).where(SKILL.c.skill == skill.lower()))
        )
    return [(r.id, r.handle) for r in conn.execute(stmt.order_by(PERSON.c.handle))]


def away_until(conn: Connection, person_id: int, today: date) -> date | None:
    """The end of the away period ``person_id`` is in ``today``, if any."""
    return conn.execute(
        select(AWAY.c.end_date).where(
            AWAY.c.person_id == person_id, AWAY.c.start_date <= today, AWAY.c.end_date >= today
        )
    ).scalar()


def open_hours(
    conn: Connection, person_ids: list[int], *, exclude_item: int | None, default_estimate: float
) -> dict[int, float]:
    """Estimated hours of each person's open items (``default_estimate`` for an item
    without an estimate), leaving out item ``exclude_item``."""
    return dict(
        conn.execute(
            select(
                ITEM.c.owner_id,
                func.sum(func.coalesce(ITEM.c.estimate_hours, default_estimate)),
            )
            .where(
                ITEM.c.category != "done",
                ITEM.c.owner_id.in_(person_ids),
                ITEM.c.id != (exclude_item if exclude_item is not None else -1),
            )
            .group_by(ITEM.c.owner_id)
        ).all()
    )


def last_assigned(conn: Connection, handles: list[str]) -> str | None:
    """Which of ``handles`` was most recently made an owner (by the event log)."""
    return conn.execute(
        select(EVENT.c.new)
        .where(EVENT.c.field == "owner", EVENT.c.new.in_(handles))
        .order_by(EVENT.c.id.desc())
        .limit(1)
    ).scalar_one_or_none()
