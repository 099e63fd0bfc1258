"""People and queues."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, select, update

from ..domain import models
from ..domain.fields import (
    PREFIX_RE,
    SLUG_RE,
    check_handle,
    parse_capacity,
    parse_date,
    parse_skills,
)
from ..errors import NotFound, ValidationError
from ..store import queries as q
from ..store.engine import Database
from .context import Ctx, writing
from .items import person_id

PERSON = models.Person.__table__
SKILL = models.PersonSkill.__table__
AWAY = models.AwayPeriod.__table__
QUEUE = models.Queue.__table__
WORKFLOW = models.Workflow.__table__


def add_person_in(
    ctx: Ctx,
    *,
    handle: str,
    name: str = "",
    team: str = "",
    capacity: Any = 40,
    skills: Any = (),
    login: str | None = None,
    email: str = "",
    active: bool = True,
    away: list[dict[str, Any]] | None = None,
) -> int:
    handle = check_handle(handle)
    if ctx.conn.execute(select(PERSON.c.id).where(PERSON.c.handle == handle)).first():
        raise ValidationError(f"a person with handle {handle!r} exists already")
    pid = ctx.conn.execute(
        PERSON.insert().values(
            handle=handle,
            name=(name or handle).strip(),
            team=(team or "").strip(),
            login=(login or None),
            capacity_hours=parse_capacity(capacity),
            active=bool(active),
            email=email or "",
        )
    ).inserted_primary_key[0]
    _set_skills(ctx, pid, parse_skills(skills))
    for period in away or []:
        _add_away(ctx, pid, period)
    ctx.record("created", None, handle, entity="person", entity_id=pid)
    return int(pid)


def _set_skills(ctx: Ctx, pid: int, skills: list[str]) -> None:
    ctx.conn.execute(delete(SKILL).where(SKILL.c.person_id == pid))
    if skills:
        ctx.conn.execute(SKILL.insert(), [{"person_id": pid, "skill": s} for s in skills])


def _add_away(ctx: Ctx, pid: int, period: dict[str, Any]) -> None:
    start = parse_date(period.get("start") or period.get("from"))
    end = parse_date(period.get("end") or period.get("to") or start)
    if end < start:
        raise ValidationError(f"away period ends ({end}) before it starts ({start})")
    ctx.conn.execute(
        AWAY.insert().values(
            person_id=pid, start_date=start, end_date=end, note=period.get("note", "")
        )
    )


def update_loaded_person_in(ctx: Ctx, pid: int, **fields: Any) -> None:
    """Overwrite a person's details from a loaded file: name, team, capacity, login,
    email, active and skills are replaced; ``away`` periods are added."""
    ctx.conn.execute(
        update(PERSON)
        .where(PERSON.c.id == pid)
        .values(
            name=fields.get("name", fields["handle"]),
            team=fields.get("team", ""),
            capacity_hours=parse_capacity(fields.get("capacity", 40)),
            login=fields.get("login"),
            email=fields.get("email", ""),
            active=bool(fields.get("active", True)),
        )
    )
    _set_skills(ctx, pid, parse_skills(fields.get("skills", [])))
    for period in fields.get("away", []):
        _add_away(ctx, pid, period)


def add_person(db: Database, **fields: Any) -> q.PersonRecord:
    with writing(db) as ctx:
        add_person_in(ctx, **fields)
        person = q.get_person(ctx.conn, fields["handle"].strip())
    db.forget_person()
    assert person is not None
    return person


def edit_person(db: Database, handle: str, **fields: Any) -> q.PersonRecord:
    """Change name, team, capacity, skills, login, email, active; add an away period."""
    allowed = {"name", "team", "capacity", "skills", "login", "email", "active", "away"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"cannot edit {', '.join(sorted(unknown))} of a person")
    with writing(db) as ctx:
        pid = person_id(ctx, handle)
        before = ctx.conn.execute(select(PERSON).where(PERSON.c.id == pid)).mappings().one()
        column_values: dict[str, Any] = {}
        for name in ("name", "team", "login", "email"):
            if fields.get(name) is not None:
                column_values[name] = str(fields[name]).strip() or (None if name == "login" else "")
        if fields.get("capacity") is not None:
            column_values["capacity_hours"] = parse_capacity(fields["capacity"])
        if fields.get("active") is not None:
            column_values["active"] = bool(fields["active"])
        for column, value in column_values.items():
            if before[column] != value:
                ctx.record(column, before[column], value, entity="person", entity_id=pid)
        if column_values:
            ctx.conn.execute(update(PERSON).where(PERSON.c.id == pid).values(**column_values))
        if fields.get("skills") is not None:
            old = sorted(
                r[0]
                for r in ctx.conn.execute(select(SKILL.c.skill).where(SKILL.c.person_id == pid))
            )
            new = parse_skills(fields["skills"])
            if old != new:
                _set_skills(ctx, pid, new)
                ctx.record("skills", ",".join(old), ",".join(new), entity="person", entity_id=pid)
        if fields.get("away"):
            _add_away(ctx, pid, fields["away"])
            ctx.record(
                "away",
                None,
                f"{fields['away'].get('start')}..{fields['away'].get('end')}",
                entity="person",
                entity_id=pid,
            )
        person = q.get_person(ctx.conn, handle.strip())
    db.forget_person()
    assert person is not None
    return person


def _wip_limit(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValidationError(f"WIP limit must be a whole number (got {value!r})")
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise ValidationError(f"WIP limit must be a whole number (got {value!r})") from None
    if limit != value and not (isinstance(value, str) and value.strip() == str(limit)):
        raise ValidationError(f"WIP limit must be a whole number (got {value!r})")
    if limit <= 0:
        raise ValidationError("WIP limit must be positive")
    return limit


def add_queue_in(
    ctx: Ctx,
    *,
    slug: str,
    name: str = "",
    prefix: str | None = None,
    workflow: str = "default",
    triage_owner: str | None = None,
    wip_limit: int | None = None,
    description: str = "",
) -> int:
    slug = (slug or "").strip().lower()
    if not SLUG_RE.match(slug):
        raise ValidationError(f"queue name {slug!r} must be a short slug (letters, digits, - _)")
    if ctx.conn.execute(select(QUEUE.c.id).where(QUEUE.c.slug == slug)).first():
        raise ValidationError(f"a queue {slug!r} exists already")
    prefix = (prefix or re.sub(r"[^A-Za-z0-9]", "", slug)[:3]).upper()
    if not PREFIX_RE.match(prefix):
        raise ValidationError(f"key prefix {prefix!r} must be 1-8 capital letters or digits")
    if ctx.conn.execute(select(QUEUE.c.id).where(QUEUE.c.prefix == prefix)).first():
        raise ValidationError(f"key prefix {prefix!r} is used by another queue")
    wf = ctx.conn.execute(select(WORKFLOW.c.id).where(WORKFLOW.c.name == workflow)).first()
    if wf is None:
        raise NotFound(f"no workflow {workflow!r}")
    wip_limit = _wip_limit(wip_limit)
    qid = ctx.conn.execute(
        QUEUE.insert().values(
            slug=slug,
            name=(name or slug.title()).strip(),
            prefix=prefix,
            workflow_id=wf[0],
            triage_owner_id=person_id(ctx, triage_owner) if triage_owner else None,
            wip_limit=wip_limit,
            description=description or "",
        )
    ).inserted_primary_key[0]
    ctx.record("created", None, slug, entity="queue", entity_id=qid)
    return int(qid)


def update_loaded_queue_in(ctx: Ctx, queue_id: int, **fields: Any) -> None:
    """Overwrite a queue's name, workflow, triage owner, WIP limit and description from
    a loaded file.  Its slug and key prefix stay: a different ``prefix`` is refused, as
    the keys its items have cannot change."""
    current = ctx.conn.execute(select(QUEUE.c.prefix).where(QUEUE.c.id == queue_id)).scalar_one()
    prefix = fields.get("prefix")
    if prefix is not None and str(prefix).strip().upper() != current:
        raise ValidationError(
            f"key prefix {prefix!r} differs from the queue's prefix {current!r}, which cannot "
            "change (its items have keys with it)"
        )
    wf = ctx.conn.execute(
        select(WORKFLOW.c.id).where(WORKFLOW.c.name == fields.get("workflow", "default"))
    ).first()
    if wf is None:
        raise ValidationError(f"no workflow {fields.get('workflow')!r}")
    ctx.conn.execute(
        update(QUEUE)
        .where(QUEUE.c.id == queue_id)
        .values(
            name=fields.get("name", fields["slug"]),
            triage_owner_id=person_id(ctx, fields["triage_owner"])
            if fields.get("triage_owner")
            else None,
            wip_limit=_wip_limit(fields.get("wip_limit")),
            description=fields.get("description", ""),
            workflow_id=wf[0],
        )
    )


def add_queue(db: Database, **fields: Any) -> q.QueueRecord:
    with writing(db) as ctx:
        add_queue_in(ctx, **fields)
        slug = fields["slug"].strip().lower()
        return next(r for r in q.list_queues(ctx.conn) if r.slug == slug)


def edit_queue(db: Database, slug: str, **fields: Any) -> q.QueueRecord:
    allowed = {"name", "triage_owner", "wip_limit", "description"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"cannot edit {', '.join(sorted(unknown))} of a queue")
    with writing(db) as ctx:
        row = ctx.conn.execute(select(QUEUE).where(QUEUE.c.slug == slug.strip().lower())).first()
        if row is None:
            raise NotFound(f"no queue {slug!r}")
        values: dict[str, Any] = {}
        if fields.get("name"):
            values["name"] = fields["name"].strip()
        if fields.get("description") is not None:
            values["description"] = fields["description"]
        if "triage_owner" in fields:
            h = fields["triage_owner"]
            values["triage_owner_id"] = person_id(ctx, h) if h else None
        if "wip_limit" in fields:
            w = fields["wip_limit"]
            if w is not None and int(w) <= 0:
                raise ValidationError("WIP limit must be positive")
            values["wip_limit"] = int(w) if w is not None else None
        for column, value in values.items():
            if row._mapping[column] != value:
                ctx.record(column, row._mapping[column], value, entity="queue", entity_id=row.id)
        if values:
            ctx.conn.execute(update(QUEUE).where(QUEUE.c.id == row.id).values(**values))
        return next(r for r in q.list_queues(ctx.conn) if r.id == row.id)
