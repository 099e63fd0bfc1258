"""Aggregate queries behind the dashboard panes (SQLAlchemy Core, index-friendly).

Every query reads open items through one of the item indexes:
``(category, owner_id, estimate_hours)``, ``(category, queue_id)`` and
``(category, next_due_at)``.  Open means ``category IN ('new','active','waiting')``,
written as an ``IN`` list (not ``!= 'done'``) so SQLite can seek the index per category.

All functions take an open read connection and return frozen records that are safe to
hand to another thread.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select

from ..domain import figures as fig
from ..domain import models
from . import figures_sql as fsql
from .queries import AWAY, ITEM, PERSON, QUEUE, ItemFilter, holidays_in

POLICY = models.SlaPolicy.__table__
OPEN_CATEGORIES = fig.OPEN_CATEGORIES
_open = fsql.is_open


# --- queues --------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueStat:
    id: int
    slug: str
    name: str
    wip_limit: int | None
    triage_owner: str | None
    open: int
    new: int
    unowned: int
    active: int
    #: Open items breached (``figures.is_breached``).
    breaching: int
    warning: int
    oldest_open_at: datetime | None

    @property
    def over_wip(self) -> bool:
        """Work in progress (every open item) above the queue's limit."""
        return self.wip_limit is not None and self.open > self.wip_limit


def attention_key(q: QueueStat) -> tuple[int, int, bool, float, int, str]:
    """Where a queue goes in the Queues pane: what needs attention first.  Most items
    breached, then most warning, then the oldest open item (age), then most open, then
    by name."""
    oldest = q.oldest_open_at
    return (
        -q.breaching,
        -q.warning,
        oldest is None,
        oldest.timestamp() if oldest is not None else 0.0,
        -q.open,
        q.slug,
    )


def by_attention(stats: Iterable[QueueStat]) -> list[QueueStat]:
    """Queues in the order the Queues pane shows them (:func:`attention_key`); the one
    ordering for the query and the live pane model."""
    return sorted(stats, key=attention_key)


def queue_stats(conn: Connection, now: datetime) -> list[QueueStat]:
    """Per queue: open / new / unowned / breached / warning counts, oldest open, WIP
    (the rules: ``domain.figures``; their SQL: ``store.figures_sql``).

    Counts come from the covering index ``(category, queue_id)``; unowned, breaching and
    warning only look up the rows they count (through the owner and due-time indexes);
    the oldest open item is the lowest open id per queue (ids grow with creation), so
    at most one row per queue is read for its ``created_at``.  Ordered by
    :func:`by_attention`.
    """
    counts: dict[int, dict[str, int]] = {}
    oldest_id: dict[int, int] = {}
    for category, queue_id, n, min_id in conn.execute(
        select(ITEM.c.category, ITEM.c.queue_id, func.count(), func.min(ITEM.c.id))
        .where(_open())
        .group_by(ITEM.c.category, ITEM.c.queue_id)
    ):
        counts.setdefault(queue_id, {})[category] = int(n)
        oldest_id[queue_id] = min(oldest_id.get(queue_id, min_id), min_id)
    unowned = dict(
        conn.execute(
            select(ITEM.c.queue_id, func.count()).where(fsql.unowned()).group_by(ITEM.c.queue_id)
        ).all()
    )
    breaching = dict(
        conn.execute(
            select(ITEM.c.queue_id, func.count())
            .where(fsql.breached(now))
            .group_by(ITEM.c.queue_id)
        ).all()
    )
    warning = dict(
        conn.execute(
            select(ITEM.c.queue_id, func.count()).where(fsql.warning(now)).group_by(ITEM.c.queue_id)
        ).all()
    )
    created = dict(
        conn.execute(
            select(ITEM.c.id, ITEM.c.created_at).where(ITEM.c.id.in_(list(oldest_id.values())))
        ).all()
    )
    out = []
    for q in queue_meta(conn):
        c = counts.get(q.id, {})
        out.append(
            replace(
                q,
                open=sum(c.values()),
                new=c.get("new", 0),
                unowned=int(unowned.get(q.id, 0)),
                active=c.get("active", 0),
                breaching=int(breaching.get(q.id, 0)),
                warning=int(warning.get(q.id, 0)),
                oldest_open_at=created.get(oldest_id.get(q.id, -1)),
            )
        )
    return by_attention(out)


def queue_meta(conn: Connection) -> list[QueueStat]:
    """Every queue in display order with its WIP limit and triage owner, counts at zero
    (``queue_stats`` and the live pane model fill them in)."""
    triage = PERSON.alias("triage")
    return [
        QueueStat(
            id=q.id,
            slug=q.slug,
            name=q.name,
            wip_limit=q.wip_limit,
            triage_owner=q.triage_owner,
            open=0,
            new=0,
            unowned=0,
            active=0,
            breaching=0,
            warning=0,
            oldest_open_at=None,
        )
        for q in conn.execute(
            select(
                QUEUE.c.id,
                QUEUE.c.slug,
                QUEUE.c.name,
                QUEUE.c.wip_limit,
                triage.c.handle.label("triage_owner"),
            )
            .select_from(QUEUE.outerjoin(triage, triage.c.id == QUEUE.c.triage_owner_id))
            .order_by(QUEUE.c.id)
        )
    ]


# --- owners and capacity -------------------------------------------------------------


@dataclass(frozen=True)
class OwnerStat:
    """One person's open work; ``id`` None is the unowned row."""

    id: int | None
    handle: str | None
    name: str
    team: str
    active: bool
    capacity_hours: float
    open: int
    #: Open items breached (``figures.is_breached``), the same rule as the Queues pane.
    breached: int
    hours: float
    away_note: str | None  # set when away today
    #: Weekly capacity less time away in the planning window (``figures.available_hours``).
    available_hours: float = 0.0
    #: Working days of the planning window the person is away.
    away_days: int = 0
    #: Open items the forecast says will miss their date (``figures`` *drifting*).
    drifting: int = 0

    @property
    def is_away(self) -> bool:
        return self.away_note is not None

    @property
    def load(self) -> float | None:
        """Load % of this window's available hours (``figures.BASIS_AVAILABLE``)."""
        if self.id is None:
            return None
        return fig.load_share(self.hours, self.available_hours)

    @property
    def load_of_capacity(self) -> float | None:
        """Load % of nominal weekly capacity (``figures.BASIS_CAPACITY``): ignores time away."""
        if self.id is None:
            return None
        return fig.load_share(self.hours, self.capacity_hours)


def owner_stats(
    conn: Connection,
    now: datetime,
    today: date,
    *,
    default_estimate: float = fig.DEFAULT_ESTIMATE_HOURS,
) -> list[OwnerStat]:
    """Per person: open items, breached, hours of open estimate, available hours in the
    planning window (``domain.figures``); the unowned row last.

    Two index-only-friendly queries: counts and hours through
    ``(category, owner_id, estimate_hours)``, breached through ``(category, next_due_at)``.
    """
    loads = {
        r.owner_id: (int(r.n), float(r.hours or 0.0))
        for r in conn.execute(
            select(
                ITEM.c.owner_id,
                func.count().label("n"),
                fsql.load_hours(default_estimate).label("hours"),
            )
            .where(_open())
            .group_by(ITEM.c.owner_id)
        )
    }
    breached = {
        r.owner_id: int(r.n)
        for r in conn.execute(
            select(ITEM.c.owner_id, func.count().label("n"))
            .where(fsql.breached(now))
            .group_by(ITEM.c.owner_id)
        )
    }
    drifting = {
        r.owner_id: int(r.n)
        for r in conn.execute(
            select(ITEM.c.owner_id, func.count().label("n"))
            .where(fsql.drifting())
            .group_by(ITEM.c.owner_id)
        )
    }
    out = []
    for p in people_meta(conn, today):
        n, hours = loads.get(p.id, (0, 0.0))
        if not p.active and n == 0:
            continue  # people who left and hold nothing are not worth a row
        out.append(
            replace(
                p,
                open=n,
                breached=breached.get(p.id, 0),
                drifting=drifting.get(p.id, 0),
                hours=round(hours, 2),
            )
        )
    n, hours = loads.get(None, (0, 0.0))
    out.append(unowned_row(n, breached.get(None, 0), round(hours, 2), drifting.get(None, 0)))
    return out


def unowned_row(open_items: int, breached: int, hours: float, drifting: int = 0) -> OwnerStat:
    """The Owners pane's row for open items without an owner."""
    return OwnerStat(
        id=None,
        handle=None,
        name="unowned",
        team="",
        active=True,
        capacity_hours=0.0,
        open=open_items,
        breached=breached,
        drifting=drifting,
        hours=hours,
        away_note=None,
    )


def people_meta(conn: Connection, today: date) -> list[OwnerStat]:
    """Every person by handle with time away and available hours in the planning window
    starting ``today``, counts at zero (``owner_stats`` and the live pane model fill
    them in).  Bounded by the people, never by the items."""
    window = fig.working_window(today, holidays_in(conn))
    away: dict[int, str] = {}
    periods: dict[int, list[tuple[date, date]]] = {}
    for pid, start, end, note in conn.execute(
        select(AWAY.c.person_id, AWAY.c.start_date, AWAY.c.end_date, AWAY.c.note).where(
            AWAY.c.start_date <= max(window[-1], today), AWAY.c.end_date >= min(window[0], today)
        )
    ):
        periods.setdefault(pid, []).append((start, end))
        if start <= today <= end:
            away.setdefault(pid, note or "away")
    out = []
    for p in conn.execute(
        select(
            PERSON.c.id,
            PERSON.c.handle,
            PERSON.c.name,
            PERSON.c.team,
            PERSON.c.active,
            PERSON.c.capacity_hours,
        ).order_by(PERSON.c.handle)
    ):
        away_days = fig.away_days_in(periods.get(p.id, ()), window)
        capacity = float(p.capacity_hours or 0.0)
        out.append(
            OwnerStat(
                id=p.id,
                handle=p.handle,
                name=p.name,
                team=p.team or "",
                active=bool(p.active),
                capacity_hours=capacity,
                open=0,
                breached=0,
                hours=0.0,
                away_note=away.get(p.id),
                available_hours=round(
                    fig.available_hours(capacity, bool(p.active), len(window), away_days), 2
                ),
                away_days=away_days,
            )
        )
    return out


# --- SLA -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaRow:
    """What the SLA pane needs to tick without the database: cached due times."""

    id: int
    key: str
    title: str
    priority: int
    queue: str
    owner: str | None
    status: str
    category: str
    created_at: datetime
    first_response_at: datetime | None
    due_at: datetime | None
    sla_policy: str | None
    sla_fr_due: datetime | None
    sla_res_due: datetime | None
    sla_paused_since: datetime | None
    sla_fr_state: str | None
    sla_res_state: str | None
    next_due_at: datetime | None
    #: The policy's warning point (``80%``, ``10m``) when the item has a policy.
    warn_at: str | None = None
    #: Cached warning instants per target (computed by the SLA engine in its calendar).
    sla_fr_warn: datetime | None = None
    sla_res_warn: datetime | None = None
    #: The forecast says it will miss its date (``figures`` *drifting*).
    drifting: bool = False
    #: What it said then (``finishes ..., due ...: 21h late``); None unless drifting.
    drift_note: str | None = None


def _sla_columns(owner: Any) -> list[Any]:
    """The columns of an :class:`SlaRow`, in its field order."""
    return [
        ITEM.c.id,
        ITEM.c.key,
        ITEM.c.title,
        ITEM.c.priority,
        QUEUE.c.slug.label("queue"),
        owner.c.handle.label("owner"),
        ITEM.c.status,
        ITEM.c.category,
        ITEM.c.created_at,
        ITEM.c.first_response_at,
        ITEM.c.due_at,
        ITEM.c.sla_policy,
        ITEM.c.sla_fr_due,
        ITEM.c.sla_res_due,
        ITEM.c.sla_paused_since,
        ITEM.c.sla_fr_state,
        ITEM.c.sla_res_state,
        ITEM.c.next_due_at,
        POLICY.c.warn_at,
        ITEM.c.sla_fr_warn,
        ITEM.c.sla_res_warn,
        fsql.drifting().label("drifting"),
        fsql.drift_said().label("drift_note"),
    ]


def sla_rows(conn: Connection, limit: int = 100) -> list[SlaRow]:
    """Open items with a due time, soonest first.

    One ``ORDER BY next_due_at LIMIT n`` per open category (each a seek on
    ``(category, next_due_at)``), merged here: never a sort of all open items.
    """
    owner = PERSON.alias("owner")
    cols = _sla_columns(owner)
    rows: list[SlaRow] = []
    for category in OPEN_CATEGORIES:
        stmt = (
            select(*cols)
            .select_from(
                ITEM.join(QUEUE, QUEUE.c.id == ITEM.c.queue_id)
                .outerjoin(owner, owner.c.id == ITEM.c.owner_id)
                .outerjoin(POLICY, POLICY.c.name == ITEM.c.sla_policy)
            )
            .where(ITEM.c.category == category, ITEM.c.next_due_at.is_not(None))
            .order_by(ITEM.c.next_due_at, ITEM.c.id)
            .limit(limit)
        )
        rows.extend(SlaRow(**dict(r._mapping)) for r in conn.execute(stmt))
    rows.sort(key=lambda r: (r.next_due_at, r.id))
    return rows[:limit]


# --- the open items behind every pane (the live pane model) -------------------------


@dataclass(frozen=True, slots=True)
class OpenItem:
    """One open item: what each pane counts it by, and its SLA pane row.

    ``sync.delta.PaneModel`` keeps these for the open items and derives the panes from
    them with the rules of ``domain.figures``; a change re-reads only the changed items.
    """

    id: int
    queue_id: int
    owner_id: int | None
    estimate_hours: float | None
    resolved_at: datetime | None
    row: SlaRow

    # the attributes ``domain.figures`` reads
    @property
    def category(self) -> str:
        return self.row.category

    @property
    def next_due_at(self) -> datetime | None:
        return self.row.next_due_at

    @property
    def sla_paused_since(self) -> datetime | None:
        return self.row.sla_paused_since

    @property
    def first_response_at(self) -> datetime | None:
        return self.row.first_response_at

    @property
    def sla_fr_due(self) -> datetime | None:
        return self.row.sla_fr_due

    @property
    def sla_fr_warn(self) -> datetime | None:
        return self.row.sla_fr_warn

    @property
    def sla_res_due(self) -> datetime | None:
        return self.row.sla_res_due

    @property
    def sla_res_warn(self) -> datetime | None:
        return self.row.sla_res_warn


#: Ids per ``IN (...)`` list (SQLite's default limit on bound parameters is 999 on old builds).
_ID_CHUNK = 900


def open_items(conn: Connection, ids: Collection[int] | None = None) -> list[OpenItem]:
    """The open items (``ids`` given: only those of them still open; a query bounded by
    the ids, through the primary key)."""
    owner = PERSON.alias("owner")
    stmt = select(
        ITEM.c.queue_id,
        ITEM.c.owner_id,
        ITEM.c.estimate_hours,
        ITEM.c.resolved_at,
        *_sla_columns(owner),
    ).select_from(
        ITEM.join(QUEUE, QUEUE.c.id == ITEM.c.queue_id)
        .outerjoin(owner, owner.c.id == ITEM.c.owner_id)
        .outerjoin(POLICY, POLICY.c.name == ITEM.c.sla_policy)
    )

    def build(rows: Any) -> list[OpenItem]:
        out = []
        for r in rows:
            queue_id, owner_id, estimate, resolved, *rest = r
            row = SlaRow(*rest)
            out.append(OpenItem(row.id, queue_id, owner_id, estimate, resolved, row))
        return out

    if ids is None:
        return build(conn.execute(stmt.where(_open())))
    wanted = sorted(set(ids))
    out: list[OpenItem] = []
    for i in range(0, len(wanted), _ID_CHUNK):
        chunk = wanted[i : i + _ID_CHUNK]
        out += build(conn.execute(stmt.where(ITEM.c.id.in_(chunk), _open())))
    return out


# --- item list -----------------------------------------------------------------------


def item_ids(
    conn: Connection, flt: ItemFilter, *, now: datetime | None = None, limit: int | None = None
) -> list[int]:
    """Ids of matching items, newest first (SLA-state lists: soonest due first).

    Ints only: a virtual list holds all ids and fetches the visible rows by id.
    Queue and owner are resolved to ids first so the common cases need no join.
    """
    stmt = select(ITEM.c.id)
    if flt.queue:
        qid = conn.execute(select(QUEUE.c.id).where(QUEUE.c.slug == flt.queue)).scalar()
        if qid is None:
            return []
        stmt = stmt.where(ITEM.c.queue_id == qid)
    if flt.owner == "-":
        stmt = stmt.where(ITEM.c.owner_id.is_(None))
    elif flt.owner:
        pid = conn.execute(select(PERSON.c.id).where(PERSON.c.handle == flt.owner)).scalar()
        if pid is None:
            return []
        stmt = stmt.where(ITEM.c.owner_id == pid)
    if flt.status:
        stmt = stmt.where(ITEM.c.status == flt.status)
    if flt.priority:
        stmt = stmt.where(ITEM.c.priority == flt.priority)
    if flt.kind:
        stmt = stmt.where(ITEM.c.kind == flt.kind)
    if flt.open_only or flt.sla_state:
        stmt = stmt.where(_open())
    if flt.text:
        escaped = flt.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        needle = f"%{escaped}%"
        stmt = stmt.where(
            or_(ITEM.c.title.ilike(needle, escape="\\"), ITEM.c.key.ilike(needle, escape="\\"))
        )
    order = [ITEM.c.id.desc()]
    if flt.sla_state:
        when = now or datetime.now().astimezone()
        state = flt.sla_state
        stmt = stmt.where(fsql.sla_state(state, when))
        order = [ITEM.c.next_due_at, ITEM.c.id]
    if flt.drifting:
        stmt = stmt.where(fsql.drifting())
    stmt = stmt.order_by(*order)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [r[0] for r in conn.execute(stmt)]


# --- pickers -------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


def filter_choices(conn: Connection) -> dict[str, list[Choice]]:
    """Values offered by the item list's filter form."""
    queues = [
        Choice(r.slug, r.name)
        for r in conn.execute(select(QUEUE.c.slug, QUEUE.c.name).order_by(QUEUE.c.id))
    ]
    people = [
        Choice(r.handle, r.name)
        for r in conn.execute(select(PERSON.c.handle, PERSON.c.name).order_by(PERSON.c.handle))
    ]
    state = models.WorkflowState.__table__
    statuses = sorted({r[0] for r in conn.execute(select(state.c.name))})
    return {
        "queue": queues,
        "owner": people,
        "status": [Choice(s, s) for s in statuses],
    }
