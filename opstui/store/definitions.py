"""Reads of the configured things (people, skills, queues, workflows, calendars,
transitions) by name, as the loader and the rule checks need them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from ..domain import models

PERSON = models.Person.__table__
SKILL = models.PersonSkill.__table__
QUEUE = models.Queue.__table__
WORKFLOW = models.Workflow.__table__
STATE = models.WorkflowState.__table__
TRANSITION = models.WorkflowTransition.__table__
CAL = models.BusinessCalendar.__table__


def person_id(conn: Connection, handle: str) -> int | None:
    row = conn.execute(select(PERSON.c.id).where(PERSON.c.handle == handle)).first()
    return int(row[0]) if row else None


def person_login(conn: Connection, handle: str) -> Any:
    """(id, login) of the person with ``handle``, or None."""
    return conn.execute(
        select(PERSON.c.id, PERSON.c.login).where(PERSON.c.handle == handle)
    ).first()


def people_active(conn: Connection) -> dict[str, bool]:
    return {
        r.handle: bool(r.active) for r in conn.execute(select(PERSON.c.handle, PERSON.c.active))
    }


def skills(conn: Connection) -> set[str]:
    return {r[0] for r in conn.execute(select(SKILL.c.skill).distinct())}


def queue_id(conn: Connection, slug: str) -> int | None:
    row = conn.execute(select(QUEUE.c.id).where(QUEUE.c.slug == slug)).first()
    return int(row[0]) if row else None


def queue_slugs(conn: Connection) -> list[str]:
    return [r[0] for r in conn.execute(select(QUEUE.c.slug).order_by(QUEUE.c.id))]


def queue_workflow_id(conn: Connection, queue_id: int) -> int:
    return int(conn.execute(select(QUEUE.c.workflow_id).where(QUEUE.c.id == queue_id)).scalar_one())


def queues_with_workflow(conn: Connection) -> dict[str, Any]:
    """Queue rows by slug with ``id, slug, workflow_id, workflow, initial_state``."""
    return {
        r.slug: r
        for r in conn.execute(
            select(
                QUEUE.c.id,
                QUEUE.c.slug,
                QUEUE.c.workflow_id,
                WORKFLOW.c.name.label("workflow"),
                WORKFLOW.c.initial_state,
            ).join(WORKFLOW, WORKFLOW.c.id == QUEUE.c.workflow_id)
        )
    }


def states_by_workflow(conn: Connection) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for wf_id, name in conn.execute(select(STATE.c.workflow_id, STATE.c.name)):
        out.setdefault(wf_id, set()).add(name)
    return out


def state_categories(conn: Connection, workflow_id: int | None = None) -> dict[str, str]:
    """State name -> category, of one workflow or (None) of every workflow."""
    stmt = select(STATE.c.name, STATE.c.category)
    if workflow_id is not None:
        stmt = stmt.where(STATE.c.workflow_id == workflow_id)
    return dict(conn.execute(stmt).all())


def state_exists(conn: Connection, name: str) -> bool:
    """Does any workflow have a state ``name``?"""
    return conn.execute(select(STATE.c.id).where(STATE.c.name == name)).first() is not None


def calendar_names(conn: Connection) -> list[str]:
    return [r[0] for r in conn.execute(select(CAL.c.name).order_by(CAL.c.name))]


def transitions_with_actions(conn: Connection) -> list[Any]:
    """Every transition with its workflow's name and initial state, in definition order."""
    return conn.execute(
        select(
            TRANSITION.c.id,
            TRANSITION.c.workflow_id,
            WORKFLOW.c.name,
            TRANSITION.c.from_state,
            TRANSITION.c.to_state,
            TRANSITION.c.actions,
            WORKFLOW.c.initial_state,
        )
        .join(WORKFLOW, WORKFLOW.c.id == TRANSITION.c.workflow_id)
        .order_by(WORKFLOW.c.id, TRANSITION.c.id)
    ).all()


def queue_row(conn: Connection, slug: str) -> Any:
    """The queue with ``slug`` (case-insensitive), or None."""
    return conn.execute(select(QUEUE).where(QUEUE.c.slug == str(slug).strip().lower())).first()


def person_handle(conn: Connection, person_id: int) -> str | None:
    return conn.execute(
        select(PERSON.c.handle).where(PERSON.c.id == person_id)
    ).scalar_one_or_none()


def person_active(conn: Connection, handle: str) -> Any:
    """(id, active) of the person with ``handle``, or None."""
    return conn.execute(
        select(PERSON.c.id, PERSON.c.active).where(PERSON.c.handle == handle)
    ).first()
