"""What the pickers need beyond the pane figures: people's skills, a queue's team."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from .queries import PERSON, QUEUE, SKILL


@dataclass(frozen=True)
class PickContext:
    """Skills per person handle, every known skill, and the team of each queue
    (the team of its triage owner; queues have no team of their own)."""

    skills: dict[str, tuple[str, ...]]
    known_skills: tuple[str, ...]
    queue_teams: dict[str, str]


def pick_context(conn: Connection) -> PickContext:
    skills: dict[str, list[str]] = {}
    for handle, skill in conn.execute(
        select(PERSON.c.handle, SKILL.c.skill)
        .select_from(SKILL.join(PERSON, PERSON.c.id == SKILL.c.person_id))
        .order_by(SKILL.c.skill)
    ):
        skills.setdefault(handle, []).append(skill)
    triage = PERSON.alias("triage")
    teams = {
        slug: team
        for slug, team in conn.execute(
            select(QUEUE.c.slug, triage.c.team).select_from(
                QUEUE.join(triage, triage.c.id == QUEUE.c.triage_owner_id)
            )
        )
        if team
    }
    known = tuple(sorted({s for v in skills.values() for s in v}))
    return PickContext({k: tuple(v) for k, v in skills.items()}, known, teams)
