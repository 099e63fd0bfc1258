"""Capacity per person, bus factor and rebalancing suggestions (rules: domain.capacity)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from ..domain import figures, models
from ..domain.capacity import (
    BUSIEST_SHARE_WARN,
    DEFAULT_ESTIMATE_HOURS,
    OVERLOAD_AT,
    RECEIVER_MAX,
    CapacityReport,
    OpenItem,
    PersonIn,
    ProcessIn,
)
from ..domain.capacity import capacity_report as build_report
from ..store import figures_sql as fsql
from ..store import queries as q
from ..store.engine import Database

__all__ = [
    "DEFAULT_ESTIMATE_HOURS",
    "people_overview",
    "capacity_report",
    "report_in",
    "report_json",
]

ITEM = models.Item.__table__
PERSON = models.Person.__table__
QUEUE = models.Queue.__table__
PROCESS = models.Process.__table__


holidays_in = q.holidays_in


def people_in(conn: Connection) -> list[PersonIn]:
    return [
        PersonIn(
            handle=p.handle,
            name=p.name,
            team=p.team,
            capacity_hours=float(p.capacity_hours),
            active=bool(p.active),
            skills=p.skills,
            away=tuple((a[0], a[1]) for a in p.away),
        )
        for p in q.list_people(conn)
    ]


def open_items_in(conn: Connection, now: datetime) -> list[OpenItem]:
    owner = PERSON.alias("o")
    rows = conn.execute(
        select(
            ITEM.c.key,
            ITEM.c.title,
            owner.c.handle.label("owner"),
            ITEM.c.estimate_hours,
            ITEM.c.priority,
            ITEM.c.category,
            ITEM.c.kind,
            QUEUE.c.slug.label("queue"),
            ITEM.c.status,
            ITEM.c.version,
            ITEM.c.next_due_at,
            ITEM.c.sla_paused_since,
            ITEM.c.data,
        )
        .select_from(
            ITEM.join(QUEUE, QUEUE.c.id == ITEM.c.queue_id).join(
                owner, owner.c.id == ITEM.c.owner_id
            )
        )
        .where(fsql.is_open(), ITEM.c.owner_id.is_not(None))
        .order_by(ITEM.c.id)
    )
    out = []
    for r in rows:
        data = r.data or {}
        skills = data.get("skills") if isinstance(data, dict) else None
        out.append(
            OpenItem(
                key=r.key,
                title=r.title,
                owner=r.owner,
                estimate_hours=r.estimate_hours,
                priority=r.priority,
                category=r.category,
                kind=r.kind,
                queue=r.queue,
                status=r.status,
                version=r.version,
                next_due_at=r.next_due_at,
                sla_breached=figures.is_breached(r, now),
                skills=tuple(str(s) for s in skills) if isinstance(skills, list) else (),
            )
        )
    return out


def processes_in(conn: Connection) -> list[ProcessIn]:
    owner = PERSON.alias("po")
    rows = conn.execute(
        select(PROCESS.c.key, PROCESS.c.name, owner.c.handle, PROCESS.c.skills, PROCESS.c.active)
        .select_from(PROCESS.outerjoin(owner, owner.c.id == PROCESS.c.owner_id))
        .order_by(PROCESS.c.key)
    )
    return [
        ProcessIn(
            key=r.key,
            name=r.name,
            owner=r.handle,
            skills=tuple(r.skills or ()),
            active=bool(r.active),
        )
        for r in rows
    ]


def report_in(conn: Connection, now: datetime) -> CapacityReport:
    return build_report(
        people_in(conn), open_items_in(conn, now), processes_in(conn), now, holidays_in(conn)
    )


def capacity_report(db: Database, now: datetime | None = None) -> CapacityReport:
    with db.read() as conn:
        return report_in(conn, now or db.clock.now())


def report_json(report: CapacityReport) -> dict[str, Any]:
    """The stable ``opstui capacity --json`` shape."""

    def pct(v: float | None) -> float | None:
        return None if v is None else round(v, 3)

    return {
        "window": {"start": report.window_start.isoformat(), "end": report.window_end.isoformat()},
        "rules": {
            "load_basis": figures.BASIS_AVAILABLE,
            "default_estimate_hours": DEFAULT_ESTIMATE_HOURS,
            "overload_above": OVERLOAD_AT,
            "receiver_max_utilisation": RECEIVER_MAX,
            "busiest_share_warn_above": BUSIEST_SHARE_WARN,
        },
        "people": [
            {
                **{k: v for k, v in asdict(p).items() if k not in ("utilisation", "skills")},
                "utilisation": pct(p.utilisation),
                "load_of_capacity": pct(figures.load_share(p.load_hours, p.capacity_hours)),
                "skills": list(p.skills),
            }
            for p in report.people
        ],
        "total_load_hours": report.total_load_hours,
        "total_available_hours": report.total_available_hours,
        "busiest": {
            "handle": report.busiest,
            "share": pct(report.busiest_share),
            "warning": report.busiest_warning,
        },
        "skills": [
            {"skill": c.name, "people": list(c.people), "count": c.count, "risk": c.risk}
            for c in report.skills
        ],
        "processes": [
            {
                "process": c.name,
                "owner": c.owner,
                "skills": list(c.skills),
                "people": list(c.people),
                "count": c.count,
                "risk": c.risk,
            }
            for c in report.processes
        ],
        "suggestions": [
            {
                "item": m.key,
                "title": m.title,
                "from": m.from_handle,
                "to": m.to_handle,
                "hours": m.hours,
                "priority": f"P{m.priority}",
                "version": m.version,
                "reason": m.reason,
            }
            for m in report.moves
        ],
        "unresolved": [{"person": h, "reason": r} for h, r in report.unresolved],
    }


def people_overview(db: Database) -> list[dict[str, Any]]:
    """Rows for ``opstui people ls``: load against this window's available hours."""
    report = capacity_report(db)
    out = []
    for p in report.people:
        notes = []
        if not p.active:
            notes.append("inactive")
        if p.away_days:
            notes.append(f"away {p.away_days}d")
        if p.overloaded:
            notes.append("overloaded")
        if report.busiest == p.handle and report.busiest_warning and report.busiest_share:
            notes.append(f"{report.busiest_share:.0%} of load")
        single = [c.name for c in report.skills if c.count == 1 and c.people == (p.handle,)]
        if single:
            notes.append("sole " + ",".join(single))
        out.append(
            {
                "handle": p.handle,
                "name": p.name,
                "team": p.team,
                "active": p.active,
                "open_items": p.open_items,
                "load_hours": round(p.load_hours, 1),
                "capacity_hours": p.capacity_hours,
                "available_hours": round(p.available_hours, 1),
                "utilisation": p.utilisation,
                "overloaded": p.overloaded,
                "skills": list(p.skills),
                "note": "; ".join(notes),
            }
        )
    return out
