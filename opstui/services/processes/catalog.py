"""The process catalog: every process with its schedule, last and next run, and the
findings (what looks wrong) about it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select

from ...domain import models
from ...domain import workflow as wfl
from ...store import queries as q
from ...store.engine import Database
from .run import pending_in

ITEM = models.Item.__table__
PERSON = models.Person.__table__
SKILL = models.PersonSkill.__table__
AWAY = models.AwayPeriod.__table__
QUEUE = models.Queue.__table__
PROCESS = models.Process.__table__
RUN = models.ProcessRun.__table__


@dataclass(frozen=True)
class Finding:
    #: no_owner | no_trigger | no_runbook | owner_away | owner_inactive | owner_lacks_skill |
    #: single_person | no_one_able
    kind: str
    process: str | None
    person: str | None
    text: str


@dataclass(frozen=True)
class ProcessInfo:
    key: str
    name: str
    owner: str | None
    owner_name: str | None
    owner_status: str  # none | active | away | inactive
    trigger_kind: str | None
    trigger: str | None
    trigger_text: str
    timezone: str
    queue: str | None
    next_run: datetime | None
    last_run: datetime | None
    last_item: str | None
    runs: int
    runbook: str
    steps: tuple[str, ...]
    skills: tuple[str, ...]
    able: tuple[str, ...]
    active: bool
    findings: tuple[str, ...]
    #: ``next_run`` is an occurrence due and not yet created (``run-due`` creates it now).
    due_now: bool = False
    #: latest | all | skip (``workflow.CATCH_UP``).
    catch_up: str = "latest"


@dataclass(frozen=True)
class ProcessCatalog:
    now: datetime
    processes: tuple[ProcessInfo, ...]
    findings: tuple[Finding, ...]


def process_catalog(db: Database, now: datetime | None = None) -> ProcessCatalog:
    """Every process with trigger, owner, next and last run, runbook, and the findings."""
    now = now or db.clock.now()
    today = now.date()
    with db.read() as conn:
        people = {p.id: p for p in q.list_people(conn)}
        rows = list(
            conn.execute(
                select(PROCESS, QUEUE.c.slug.label("queue_slug"))
                .select_from(PROCESS.join(QUEUE, QUEUE.c.id == PROCESS.c.queue_id, isouter=True))
                .order_by(PROCESS.c.key)
            )
        )
        last_runs: dict[int, tuple[datetime, str | None, int]] = {}
        latest = (
            select(
                RUN.c.process_id, func.max(RUN.c.occurrence_at).label("at"), func.count().label("n")
            )
            .group_by(RUN.c.process_id)
            .subquery()
        )
        for r in conn.execute(
            select(RUN.c.process_id, RUN.c.occurrence_at, ITEM.c.key, latest.c.n)
            .join(
                latest,
                and_(latest.c.process_id == RUN.c.process_id, latest.c.at == RUN.c.occurrence_at),
            )
            .outerjoin(ITEM, ITEM.c.id == RUN.c.item_id)
        ):
            last_runs[r.process_id] = (r.occurrence_at, r.key, int(r.n))
        # what is due now: the same answer run-due acts on
        pending: dict[str, datetime] = {}
        for proc, _okey, at in pending_in(conn, now):
            pending.setdefault(proc.key, at)

    def away(pid: int) -> bool:
        return any(start <= today <= end for start, end, _note in people[pid].away)

    procs: list[ProcessInfo] = []
    findings: list[Finding] = []
    for r in rows:
        notes: list[tuple[str, str | None, str]] = []
        owner = people.get(r.owner_id) if r.owner_id else None
        if owner is None:
            status = "none"
            notes.append(("no_owner", None, f"{r.key}: no owner (its items are created unowned)"))
        elif not owner.active:
            status = "inactive"
            notes.append(
                (
                    "owner_inactive",
                    owner.handle,
                    f"{r.key}: owner {owner.handle} is inactive (gone)",
                )
            )
        elif away(owner.id):
            status = "away"
            back = next((end for start, end, _n in owner.away if start <= today <= end), None)
            notes.append(
                ("owner_away", owner.handle, f"{r.key}: owner {owner.handle} is away until {back}")
            )
        else:
            status = "active"
        if not r.trigger_kind:
            notes.append(("no_trigger", None, f"{r.key}: no trigger (it never runs by itself)"))
        steps = tuple(wfl.runbook_steps(r.runbook))
        if not steps:
            notes.append(("no_runbook", None, f"{r.key}: no runbook steps"))
        skills = tuple(r.skills or ())
        able = (
            tuple(
                p.handle
                for p in sorted(people.values(), key=lambda p: p.handle)
                if p.active and set(skills) <= set(p.skills)
            )
            if skills
            else ()
        )
        if owner is not None and skills and not set(skills) <= set(owner.skills):
            missing = ", ".join(sorted(set(skills) - set(owner.skills)))
            notes.append(
                (
                    "owner_lacks_skill",
                    owner.handle,
                    f"{r.key}: owner {owner.handle} lacks the skill {missing}",
                )
            )
        if skills and not able:
            notes.append(("no_one_able", None, f"{r.key}: nobody active has {', '.join(skills)}"))
        elif skills and len(able) == 1:
            notes.append(
                (
                    "single_person",
                    able[0],
                    f"{r.key}: only {able[0]} can run it (skills: {', '.join(skills)})",
                )
            )
        trig = None
        next_run = None
        if r.trigger_kind:
            trig = wfl.Trigger(r.trigger_kind, r.trigger or "", r.timezone)
            try:
                next_run = wfl.next_occurrence(trig, now) if r.active else None
            except wfl.TriggerError:
                next_run = None
        due_now = r.key in pending
        if due_now:
            next_run = pending[r.key]
        last = last_runs.get(r.id)
        procs.append(
            ProcessInfo(
                key=r.key,
                name=r.name,
                owner=owner.handle if owner else None,
                owner_name=owner.name if owner else None,
                owner_status=status,
                trigger_kind=r.trigger_kind,
                trigger=r.trigger,
                trigger_text=trig.describe() if trig else "(no trigger)",
                timezone=r.timezone,
                queue=r.queue_slug,
                next_run=next_run,
                last_run=last[0] if last else None,
                last_item=last[1] if last else None,
                runs=last[2] if last else 0,
                runbook=r.runbook,
                steps=steps,
                skills=skills,
                able=able,
                active=bool(r.active),
                findings=tuple(n[2] for n in notes),
                due_now=due_now,
                catch_up=r.catch_up or "latest",
            )
        )
        findings.extend(Finding(kind, r.key, person, text) for kind, person, text in notes)
    return ProcessCatalog(now=now, processes=tuple(procs), findings=tuple(findings))


def catalog_json(cat: ProcessCatalog) -> dict[str, Any]:
    def iso(v: datetime | None) -> str | None:
        return v.isoformat() if v else None

    return {
        "now": cat.now.isoformat(),
        "processes": [
            {
                "key": p.key,
                "name": p.name,
                "owner": p.owner,
                "owner_status": p.owner_status,
                "trigger": {"kind": p.trigger_kind, "value": p.trigger, "text": p.trigger_text}
                if p.trigger_kind
                else None,
                "timezone": p.timezone,
                "queue": p.queue,
                "next_run": iso(p.next_run),
                "due_now": p.due_now,
                "catch_up": p.catch_up,
                "last_run": iso(p.last_run),
                "last_item": p.last_item,
                "runs": p.runs,
                "runbook": p.runbook,
                "steps": list(p.steps),
                "skills": list(p.skills),
                "able": list(p.able),
                "active": p.active,
                "findings": list(p.findings),
            }
            for p in cat.processes
        ],
        "findings": [
            {"kind": f.kind, "process": f.process, "person": f.person, "text": f.text}
            for f in cat.findings
        ],
    }
