"""The single-point-of-failure audit's reads: SQL only, rows out (rules in
:mod:`opstui.domain.audit`, use cases in :mod:`opstui.services.processes.audit`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, exists, select

from ..domain import audit as dom
from ..domain import models
from . import figures_sql as fsql

ITEM = models.Item.__table__
PERSON = models.Person.__table__
QUEUE = models.Queue.__table__
EVENT = models.Event.__table__
COMMENT = models.Comment.__table__
PROCESS = models.Process.__table__
RUN = models.ProcessRun.__table__

#: The kind of the audit's items (left out of "who touched a queue").
AUDIT_KIND = dom.AUDIT_KIND
#: The event an applied answer records on its audit item.
APPLIED_FIELD = "audit_applied"


def queue_touchers(conn: Connection, since: datetime) -> dict[str, set[str]]:
    """Queue slug -> handles of the people who recorded an event on one of its items since
    ``since`` (SLA engine records and the audit's own items left out)."""
    rows = conn.execute(
        select(QUEUE.c.slug, PERSON.c.handle)
        .distinct()
        .select_from(
            EVENT.join(ITEM, ITEM.c.id == EVENT.c.item_id)
            .join(QUEUE, QUEUE.c.id == ITEM.c.queue_id)
            .join(PERSON, PERSON.c.id == EVENT.c.person_id)
        )
        .where(
            EVENT.c.ts >= since,
            ~EVENT.c.field.like("sla\\_%", escape="\\"),
            ITEM.c.kind != AUDIT_KIND,
        )
    )
    out: dict[str, set[str]] = {}
    for slug, handle in rows:
        out.setdefault(slug, set()).add(handle)
    return out


@dataclass(frozen=True)
class AuditItemRow:
    """One person's audit item of one month."""

    person_id: int
    handle: str
    key: str
    item_id: int
    done: bool
    #: The person commented on it, or its answers were applied, or it is closed.
    answered: bool
    #: ``opstui audit apply`` ran on it.
    applied: bool


def audit_items(conn: Connection, prefix: str) -> list[AuditItemRow]:
    """The audit items whose occurrence key starts with ``prefix`` (one month)."""
    answered = exists().where(
        and_(COMMENT.c.item_id == ITEM.c.id, COMMENT.c.author_id == ITEM.c.owner_id)
    )
    applied = exists().where(and_(EVENT.c.item_id == ITEM.c.id, EVENT.c.field == APPLIED_FIELD))
    rows = conn.execute(
        select(
            RUN.c.occurrence_key,
            ITEM.c.id,
            ITEM.c.key,
            fsql.done().label("done"),
            answered.label("answered"),
            applied.label("applied"),
        )
        .select_from(RUN.join(ITEM, ITEM.c.id == RUN.c.item_id))
        .where(RUN.c.occurrence_key.like(prefix.replace("_", "\\_") + "%", escape="\\"))
        .order_by(ITEM.c.id)
    )
    out = []
    people = dict(conn.execute(select(PERSON.c.id, PERSON.c.handle)).all())
    for r in rows:
        try:
            pid = int(r.occurrence_key.rsplit(":", 1)[1])
        except ValueError:
            continue
        out.append(
            AuditItemRow(
                person_id=pid,
                handle=people.get(pid, f"#{pid}"),
                key=r.key,
                item_id=int(r.id),
                done=bool(r.done),
                answered=bool(r.answered) or bool(r.done) or bool(r.applied),
                applied=bool(r.applied),
            )
        )
    return out


def audit_process(conn: Connection, key: str) -> object | None:
    """The audit's process row with its queue slug and owner handle (None: not defined)."""
    owner = PERSON.alias("po")
    return conn.execute(
        select(
            PROCESS,
            QUEUE.c.slug.label("queue_slug"),
            owner.c.handle.label("owner_handle"),
        )
        .select_from(
            PROCESS.outerjoin(QUEUE, QUEUE.c.id == PROCESS.c.queue_id).outerjoin(
                owner, owner.c.id == PROCESS.c.owner_id
            )
        )
        .where(PROCESS.c.key == key)
    ).first()


def runbook_documented(conn: Connection, since: datetime) -> set[str]:
    """Keys of processes whose runbook an applied audit answer changed since ``since``."""
    rows = conn.execute(
        select(PROCESS.c.key)
        .distinct()
        .select_from(EVENT.join(PROCESS, PROCESS.c.id == EVENT.c.entity_id))
        .where(EVENT.c.entity == "process", EVENT.c.field == "runbook", EVENT.c.ts >= since)
    )
    return {r[0] for r in rows}
