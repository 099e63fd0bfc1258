"""Applying the answers of an audit item: skills to people, steps to runbooks
(answer lines: :mod:`opstui.domain.audit`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from ..domain import audit as dom
from ..domain import models
from ..errors import ValidationError
from ..store import audit_sql
from ..store import queries as q
from ..store.engine import Database
from .context import Ctx, writing
from .items import comment_in, item_for_update

PERSON = models.Person.__table__
SKILL = models.PersonSkill.__table__
PROCESS = models.Process.__table__

#: The first line of the comment an apply writes (its lines are never answers).
APPLIED_HEADER = "Applied by opstui audit apply:"


class NoAnswers(ValidationError):
    """The item's comments hold no answer line (free text only, or no comment)."""


@dataclass(frozen=True)
class Applied:
    key: str
    person: str
    #: What changed, one line each (``bob has the skill postgres``).
    changes: tuple[str, ...]
    #: Answers that were already true (applied before, or already in the data).
    unchanged: tuple[str, ...]


def _skills_of(ctx: Ctx, pid: int) -> list[str]:
    rows = ctx.conn.execute(select(SKILL.c.skill).where(SKILL.c.person_id == pid))
    return sorted(r[0] for r in rows)


def _add_skill(ctx: Ctx, pid: int, skill: str) -> bool:
    old = _skills_of(ctx, pid)
    if skill in old:
        return False
    ctx.conn.execute(SKILL.insert().values(person_id=pid, skill=skill))
    new = sorted([*old, skill])
    ctx.record("skills", ",".join(old), ",".join(new), entity="person", entity_id=pid)
    return True


def _person(ctx: Ctx, handle: str, where: str) -> tuple[int, str]:
    row = ctx.conn.execute(
        select(PERSON.c.id, PERSON.c.handle, PERSON.c.active).where(PERSON.c.handle == handle)
    ).first()
    if row is None:
        raise ValidationError(f"{where}: unknown person {handle!r}")
    if not row.active:
        raise ValidationError(f"{where}: {handle} is inactive (cannot cover anything)")
    return int(row.id), str(row.handle)


def apply_answers(db: Database, key: str, *, dry_run: bool = False) -> Applied:
    """Apply every answer line in the comments of the audit item ``key``, all or nothing.

    ``skill: SKILL -> HANDLE``: HANDLE gets SKILL, and so does the audited person when the
    data did not know they have it (they just said they do it).  ``runbook: PROCESS: TEXT``:
    TEXT becomes the process's next runbook step.  Answers already true change nothing."""
    with writing(db, dry_run=dry_run) as ctx:
        item = item_for_update(ctx, key)
        audit = item.data.get("audit") if isinstance(item.data, dict) else None
        if item.kind != audit_sql.AUDIT_KIND or not isinstance(audit, dict):
            raise ValidationError(f"{item.key} is not an audit item (see `opstui audit status`)")
        bodies = [
            c.body
            for c in q.item_comments(ctx.conn, item.id)
            if not c.body.startswith(APPLIED_HEADER)
        ]
        try:
            answers = dom.parse_answers(bodies)
        except dom.AuditError as exc:
            raise ValidationError(f"{item.key}: {exc}") from None
        if not answers:
            raise NoAnswers(
                f"{item.key} has no answer lines yet: comment with 'skill: SKILL -> HANDLE' "
                "or 'runbook: PROCESS: TEXT'"
            )
        audited = str(audit.get("person") or item.owner or "")
        # check everything first: one bad line applies nothing
        plan: list[tuple[dom.Answer, list[tuple[int, str]], object]] = []
        for a in answers:
            if a.kind == "skill":
                people = [_person(ctx, h, f"{item.key}: {a.where}") for h in a.values]
                plan.append((a, people, None))
            else:
                proc = ctx.conn.execute(
                    select(PROCESS.c.id, PROCESS.c.runbook).where(PROCESS.c.key == a.target)
                ).first()
                if proc is None:
                    raise ValidationError(f"{item.key}: {a.where}: unknown process {a.target!r}")
                plan.append((a, [], proc))
        changes: list[str] = []
        unchanged: list[str] = []
        for a, people, _proc in plan:
            if a.kind == "skill":
                receivers = list(people)
                if audited and audited not in {h for _pid, h in receivers}:
                    me = ctx.conn.execute(
                        select(PERSON.c.id).where(PERSON.c.handle == audited)
                    ).first()
                    if me is not None and _add_skill(ctx, int(me.id), a.target):
                        changes.append(f"{audited} has the skill {a.target} (said so)")
                for pid, handle in receivers:
                    text = f"{handle} has the skill {a.target}"
                    (changes if _add_skill(ctx, pid, a.target) else unchanged).append(text)
            else:
                row = ctx.conn.execute(
                    select(PROCESS.c.id, PROCESS.c.runbook).where(PROCESS.c.key == a.target)
                ).one()
                step = a.values[0]
                new = dom.runbook_with(row.runbook or "", step)
                text = f"runbook of {a.target}: {step}"
                if new is None:
                    unchanged.append(text)
                    continue
                ctx.conn.execute(update(PROCESS).where(PROCESS.c.id == row.id).values(runbook=new))
                ctx.record("runbook", None, step, entity="process", entity_id=row.id)
                changes.append(text)
        if changes:
            comment_in(ctx, item, "\n".join([APPLIED_HEADER, *(f"- {c}" for c in changes)]))
            ctx.record(
                audit_sql.APPLIED_FIELD,
                None,
                "; ".join(changes)[:200],
                item_id=item.id,
                item_version=item.version,
            )
    return Applied(item.key, audited, tuple(changes), tuple(unchanged))
