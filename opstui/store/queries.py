"""Read queries (SQLAlchemy Core: big lists and aggregates never build ORM objects).

Each function takes an open connection from ``Database.read()`` (or a write context) and
returns plain immutable records that are safe to hand to another thread.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, or_, select

from ..domain import models
from . import figures_sql
from .dialect import driver_rows
from .prepared import SqliteStatement
from .records import CommentRecord, EventRecord, ItemFilter, ItemRecord, TransitionRecord

ITEM = models.Item.__table__
PERSON = models.Person.__table__
QUEUE = models.Queue.__table__
EVENT = models.Event.__table__
COMMENT = models.Comment.__table__
STATE = models.WorkflowState.__table__
TRANSITION = models.WorkflowTransition.__table__
WORKFLOW = models.Workflow.__table__
SKILL = models.PersonSkill.__table__
AWAY = models.AwayPeriod.__table__
LINK = models.ItemLink.__table__
APPROVAL = models.Approval.__table__
CALENDAR = models.BusinessCalendar.__table__

OWNER = PERSON.alias("owner")
REQUESTER = PERSON.alias("req")


ITEM_COLUMNS = [
    ITEM.c.id,
    ITEM.c.key,
    ITEM.c.title,
    ITEM.c.body,
    ITEM.c.kind,
    ITEM.c.priority,
    QUEUE.c.slug.label("queue"),
    QUEUE.c.name.label("queue_name"),
    ITEM.c.status,
    ITEM.c.category,
    OWNER.c.handle.label("owner"),
    OWNER.c.name.label("owner_name"),
    ITEM.c.requester,
    ITEM.c.estimate_hours,
    ITEM.c.created_at,
    ITEM.c.updated_at,
    ITEM.c.first_response_at,
    ITEM.c.resolved_at,
    ITEM.c.due_at,
    ITEM.c.approval,
    ITEM.c.version,
    ITEM.c.parent_id,
    ITEM.c.sla_policy,
    ITEM.c.sla_fr_due,
    ITEM.c.sla_res_due,
    ITEM.c.sla_paused_since,
    ITEM.c.sla_fr_state,
    ITEM.c.sla_res_state,
    ITEM.c.next_due_at,
    ITEM.c.data,
    ITEM.c.sla_fr_warn,
    ITEM.c.sla_res_warn,
    ITEM.c.sla_res_start,
]


def _item_select() -> Any:
    return select(*ITEM_COLUMNS).select_from(
        ITEM.join(QUEUE, QUEUE.c.id == ITEM.c.queue_id).outerjoin(
            OWNER, OWNER.c.id == ITEM.c.owner_id
        )
    )


def _record(row: Any) -> ItemRecord:
    # Positional: ITEM_COLUMNS is in ItemRecord's field order (checked at import below);
    # building a dict per row cost ~40% of a 200-row page.
    values = list(row)
    values[_DATA_AT] = values[_DATA_AT] or {}
    return ItemRecord(*values)


#: ``data`` (JSON) is not the last column: a NULL there reads as ``{}``.
_DATA_AT = [c.name for c in ITEM_COLUMNS].index("data")

assert [c.name for c in ITEM_COLUMNS] == [f.name for f in fields(ItemRecord)], (
    "ITEM_COLUMNS must list ItemRecord's fields in order"
)


class _Prepared:
    """One hot single-row item lookup, compiled once per dialect.

    Every change reads its item two or three times; building the 30-column select and its
    cache key cost ~1 ms of CPU per read, most of a change's budget (benchmarks/writers.py).
    This keeps the SQL text and the columns' result processors and runs the statement on
    the connection's DBAPI cursor (same connection and transaction); on any driver error it
    reruns through SQLAlchemy so callers see the usual wrapped exception.
    """

    def __init__(self, where: Any) -> None:
        self._stmt = _item_select().where(where)
        self._by_dialect: dict[str, tuple[str, list[Any], bool]] = {}

    def __call__(self, conn: Connection, value: Any) -> ItemRecord | None:
        prepared = self._by_dialect.get(conn.dialect.name)
        if prepared is None:
            compiled = self._stmt.compile(dialect=conn.dialect)
            named = conn.dialect.paramstyle == "pyformat"  # psycopg: %(v)s
            if not named and (not compiled.positional or len(compiled.positiontup or ()) != 1):
                row = conn.execute(self._stmt, {"v": value}).first()
                return _record(row) if row else None
            processors = [c.type.result_processor(conn.dialect, None) for c in ITEM_COLUMNS]
            prepared = (compiled.string, processors, named)
            self._by_dialect[conn.dialect.name] = prepared
        sql, processors, named = prepared
        try:
            cursor = conn.connection.cursor()
            try:
                cursor.execute(sql, {"v": value} if named else (value,))
                raw = cursor.fetchone()
            finally:
                cursor.close()
        except Exception:  # let SQLAlchemy run it again and raise its usual wrapped error
            row = conn.execute(self._stmt, {"v": value}).first()
            return _record(row) if row else None
        if raw is None:
            return None
        values = [
            v if proc is None or v is None else proc(v)
            for v, proc in zip(raw, processors, strict=True)
        ]
        values[_DATA_AT] = values[_DATA_AT] or {}
        return ItemRecord(*values)


def raw_rows(conn: Connection, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of a small literal SQL read on the connection's DBAPI cursor (same transaction).

    For hot reads on every change whose values need no type processing: going through
    ``exec_driver_sql`` costs ~0.1 ms of result-object setup per statement.  On any driver
    error it reruns through SQLAlchemy so callers see the usual wrapped exception.
    """
    if conn.dialect.name != "sqlite":  # values shaped as on SQLite (JSON, times as text)
        return driver_rows(conn, sql, params)
    try:
        cursor = conn.connection.cursor()
        try:
            cursor.execute(sql, params)
            return cursor.fetchall()
        finally:
            cursor.close()
    except Exception:
        return [tuple(r) for r in conn.exec_driver_sql(sql, params).fetchall()]


_ITEM_BY_KEY = _Prepared(ITEM.c.key == bindparam("v"))
_ITEM_BY_ID = _Prepared(ITEM.c.id == bindparam("v"))
_ITEM_BY_EXTERNAL = _Prepared(ITEM.c.external_key == bindparam("v"))


def get_item(conn: Connection, key: str) -> ItemRecord | None:
    """The item with our key, or else with this key in the system it was imported from."""
    key = key.strip()
    return (
        _ITEM_BY_KEY(conn, key.upper())
        or _ITEM_BY_EXTERNAL(conn, key)
        or _ITEM_BY_EXTERNAL(conn, key.upper())
    )


def get_item_by_id(conn: Connection, item_id: int) -> ItemRecord | None:
    return _ITEM_BY_ID(conn, int(item_id))


def items_by_ids(conn: Connection, ids: list[int]) -> list[ItemRecord]:
    if not ids:
        return []
    rows = conn.execute(_item_select().where(ITEM.c.id.in_(ids))).all()
    return [_record(r) for r in rows]


def _apply_filter(stmt: Any, flt: ItemFilter, now: datetime | None = None) -> Any:
    if flt.queue:
        stmt = stmt.where(QUEUE.c.slug == flt.queue)
    if flt.owner == "-":
        stmt = stmt.where(ITEM.c.owner_id.is_(None))
    elif flt.owner:
        stmt = stmt.where(OWNER.c.handle == flt.owner)
    if flt.status:
        stmt = stmt.where(ITEM.c.status == flt.status)
    if flt.priority:
        stmt = stmt.where(ITEM.c.priority == flt.priority)
    if flt.kind:
        stmt = stmt.where(ITEM.c.kind == flt.kind)
    if flt.open_only:
        stmt = stmt.where(ITEM.c.category != "done")
    if flt.text:
        escaped = flt.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        needle = f"%{escaped}%"
        stmt = stmt.where(
            or_(
                ITEM.c.title.ilike(needle, escape="\\"),
                ITEM.c.key.ilike(needle, escape="\\"),
                ITEM.c.external_key.ilike(needle, escape="\\"),
            )
        )
    if flt.sla_state and now is not None:
        stmt = stmt.where(figures_sql.sla_state(flt.sla_state, now))
    if flt.drifting:
        stmt = stmt.where(figures_sql.drifting())
    return stmt


def list_items(
    conn: Connection,
    flt: ItemFilter = ItemFilter(),
    *,
    after_id: int | None = None,
    limit: int | None = 200,
    newest_first: bool = True,
    now: datetime | None = None,
) -> list[ItemRecord]:
    """Items matching ``flt``, keyset-paged on id (newest first by default)."""
    stmt = _apply_filter(_item_select(), flt, now)
    if after_id is not None:
        stmt = stmt.where(ITEM.c.id < after_id if newest_first else ITEM.c.id > after_id)
    stmt = stmt.order_by(ITEM.c.id.desc() if newest_first else ITEM.c.id.asc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_record(r) for r in conn.execute(stmt)]


def _filter_from(flt: ItemFilter) -> Any:
    """Only the joins the filter needs: a bare ``item`` scan can be answered from a
    covering index (count of open items at 100k: 10 ms with both joins, 0.3 ms without)."""
    source = ITEM
    if flt.queue:
        source = source.join(QUEUE, QUEUE.c.id == ITEM.c.queue_id)
    if flt.owner and flt.owner != "-":
        source = source.outerjoin(OWNER, OWNER.c.id == ITEM.c.owner_id)
    return source


def count_items(
    conn: Connection, flt: ItemFilter = ItemFilter(), now: datetime | None = None
) -> int:
    stmt = select(func.count()).select_from(_filter_from(flt))
    return int(conn.execute(_apply_filter(stmt, flt, now)).scalar_one())


def item_ids_page(conn: Connection, flt: ItemFilter, *, now: datetime | None = None) -> list[int]:
    """All matching ids (newest first): cheap (ints only), used to page a virtual list."""
    stmt = select(ITEM.c.id).select_from(_filter_from(flt))
    stmt = _apply_filter(stmt, flt, now).order_by(ITEM.c.id.desc())
    return [r[0] for r in conn.execute(stmt)]


# --- people and queues ---------------------------------------------------------------


@dataclass(frozen=True)
class PersonRecord:
    id: int
    handle: str
    name: str
    team: str
    login: str | None
    capacity_hours: float
    active: bool
    email: str
    skills: tuple[str, ...] = ()
    away: tuple[tuple[Any, Any, str], ...] = ()


def person_id_for_login(conn: Connection, login: str, me: str | None = None) -> int | None:
    if me:
        row = conn.execute(select(PERSON.c.id).where(PERSON.c.handle == me)).first()
        return row[0] if row else None
    row = conn.execute(
        select(PERSON.c.id)
        .where(
            or_(PERSON.c.login == login, and_(PERSON.c.login.is_(None), PERSON.c.handle == login))
        )
        .order_by(PERSON.c.login.is_(None))
    ).first()
    return row[0] if row else None


def list_people(conn: Connection, *, include_inactive: bool = True) -> list[PersonRecord]:
    stmt = select(PERSON).order_by(PERSON.c.handle)
    if not include_inactive:
        stmt = stmt.where(PERSON.c.active.is_(True))
    people = conn.execute(stmt).all()
    skills: dict[int, list[str]] = {}
    for pid, skill in conn.execute(
        select(SKILL.c.person_id, SKILL.c.skill).order_by(SKILL.c.skill)
    ):
        skills.setdefault(pid, []).append(skill)
    away: dict[int, list[tuple[Any, Any, str]]] = {}
    for pid, start, end, note in conn.execute(
        select(AWAY.c.person_id, AWAY.c.start_date, AWAY.c.end_date, AWAY.c.note).order_by(
            AWAY.c.start_date
        )
    ):
        away.setdefault(pid, []).append((start, end, note))
    return [
        PersonRecord(
            id=p.id,
            handle=p.handle,
            name=p.name,
            team=p.team,
            login=p.login,
            capacity_hours=p.capacity_hours,
            active=p.active,
            email=p.email,
            skills=tuple(skills.get(p.id, ())),
            away=tuple(away.get(p.id, ())),
        )
        for p in people
    ]


def get_person(conn: Connection, handle: str) -> PersonRecord | None:
    for p in list_people(conn):
        if p.handle == handle:
            return p
    return None


def holidays_in(conn: Connection) -> frozenset[date]:
    """Holidays listed in the business calendars (a small shop has one office)."""
    out: set[date] = set()
    for (days,) in conn.execute(select(CALENDAR.c.holidays)):
        for text in days or ():
            try:
                out.add(date.fromisoformat(str(text)))
            except ValueError:
                continue
    return frozenset(out)


@dataclass(frozen=True)
class QueueRecord:
    id: int
    slug: str
    name: str
    prefix: str
    workflow: str
    triage_owner: str | None
    wip_limit: int | None
    description: str


def list_queues(conn: Connection) -> list[QueueRecord]:
    triage = PERSON.alias("triage")
    rows = conn.execute(
        select(
            QUEUE.c.id,
            QUEUE.c.slug,
            QUEUE.c.name,
            QUEUE.c.prefix,
            WORKFLOW.c.name.label("workflow"),
            triage.c.handle.label("triage_owner"),
            QUEUE.c.wip_limit,
            QUEUE.c.description,
        )
        .select_from(
            QUEUE.join(WORKFLOW, WORKFLOW.c.id == QUEUE.c.workflow_id).outerjoin(
                triage, triage.c.id == QUEUE.c.triage_owner_id
            )
        )
        .order_by(QUEUE.c.id)
    ).all()
    return [QueueRecord(**dict(r._mapping)) for r in rows]


# --- workflow ------------------------------------------------------------------------


# Built once (every move runs it): constructing it per call cost ~0.3 ms of CPU.
_ALLOWED_TRANSITIONS = (
    select(TRANSITION)
    .where(
        TRANSITION.c.workflow_id == bindparam("workflow_id"),
        or_(TRANSITION.c.from_state == bindparam("status"), TRANSITION.c.from_state == "*"),
        TRANSITION.c.to_state != bindparam("status"),
    )
    .order_by(TRANSITION.c.id)
)


def allowed_transitions(conn: Connection, workflow_id: int, status: str) -> list[TransitionRecord]:
    rows = conn.execute(_ALLOWED_TRANSITIONS, {"workflow_id": workflow_id, "status": status}).all()
    seen: set[str] = set()
    out = []
    for r in rows:  # a specific from-state wins over '*'
        if r.to_state in seen:
            continue
        seen.add(r.to_state)
        out.append(
            TransitionRecord(
                id=r.id,
                from_state=r.from_state,
                to_state=r.to_state,
                name=r.name,
                requires_approval=bool(r.requires_approval),
                actions=tuple(r.actions or ()),
            )
        )
    return out


def next_states_for_item(conn: Connection, key: str) -> list[TransitionRecord]:
    row = conn.execute(select(ITEM.c.workflow_id, ITEM.c.status).where(ITEM.c.key == key)).first()
    if row is None:
        return []
    return allowed_transitions(conn, row.workflow_id, row.status)


def workflow_states(conn: Connection, workflow_id: int) -> list[tuple[str, str]]:
    return [
        (r.name, r.category)
        for r in conn.execute(
            select(STATE.c.name, STATE.c.category)
            .where(STATE.c.workflow_id == workflow_id)
            .order_by(STATE.c.position, STATE.c.id)
        )
    ]


def all_state_names(conn: Connection) -> list[str]:
    return sorted({r[0] for r in conn.execute(select(STATE.c.name))})


# --- comments and events -------------------------------------------------------------


def item_comments(conn: Connection, item_id: int) -> list[CommentRecord]:
    rows = conn.execute(
        select(
            COMMENT.c.id,
            PERSON.c.handle.label("author"),
            COMMENT.c.unix_user,
            COMMENT.c.body,
            COMMENT.c.created_at,
        )
        .select_from(COMMENT.outerjoin(PERSON, PERSON.c.id == COMMENT.c.author_id))
        .where(COMMENT.c.item_id == item_id)
        .order_by(COMMENT.c.id)
    ).all()
    return [CommentRecord(**dict(r._mapping)) for r in rows]


def _event_select() -> Any:
    return select(
        EVENT.c.id,
        EVENT.c.ts,
        EVENT.c.unix_user,
        PERSON.c.handle.label("person"),
        EVENT.c.entity,
        EVENT.c.entity_id,
        EVENT.c.item_id,
        ITEM.c.key.label("item_key"),
        EVENT.c.field,
        EVENT.c.old,
        EVENT.c.new,
        EVENT.c.item_version,
    ).select_from(
        EVENT.outerjoin(PERSON, PERSON.c.id == EVENT.c.person_id).outerjoin(
            ITEM, ITEM.c.id == EVENT.c.item_id
        )
    )


#: Built once: every change reaches every terminal through this read (sync.live).
_EVENTS_AFTER = _event_select().where(EVENT.c.id > bindparam("cursor")).order_by(EVENT.c.id)
_EVENTS_AFTER_LIMIT = _EVENTS_AFTER.limit(bindparam("limit"))


def events_after(conn: Connection, cursor: int, limit: int | None = None) -> list[EventRecord]:
    if limit:
        rows = conn.execute(_EVENTS_AFTER_LIMIT, {"cursor": cursor, "limit": limit})
    else:
        rows = conn.execute(_EVENTS_AFTER, {"cursor": cursor})
    return [EventRecord(*r) for r in rows]  # the select's columns in the record's order


class _EventsAfterSqlite:
    """:func:`events_after` with a limit, compiled once for SQLite and run on a plain
    ``sqlite3`` connection (the file watcher's own, sync.watcher).

    Every change reaches every terminal through this read.  Through SQLAlchemy it also
    checks a connection out of the pool, emits BEGIN and COMMIT and builds a result object;
    this keeps the same SQL text and the columns' result processors, so the records are the
    same (tests/test_sync.py compares the two).  One statement is its own read snapshot.
    """

    def __init__(self) -> None:
        self._prepared: SqliteStatement | None = None

    def _prepare(self, dialect: Any) -> SqliteStatement:
        if self._prepared is None:
            prepared = SqliteStatement(
                _EVENTS_AFTER_LIMIT, dialect, placeholders={"cursor": 0, "limit": 0}
            )
            if not {"cursor", "limit"} <= set(prepared.names):  # not a positional compile
                raise ValueError(f"events_after compiled with parameters {prepared.names}")
            self._prepared = prepared
        return self._prepared

    def __call__(self, dbapi_conn: Any, dialect: Any, cursor: int, limit: int) -> list[EventRecord]:
        values = {"cursor": int(cursor), "limit": int(limit)}
        return [EventRecord(*r) for r in self._prepare(dialect).rows(dbapi_conn, values)]


#: ``events_after_sqlite(sqlite3_conn, engine.dialect, cursor, limit)``: the events after
#: ``cursor`` (at most ``limit``, in id order) read on a ``sqlite3`` connection.
events_after_sqlite = _EventsAfterSqlite()


def recent_events(
    conn: Connection,
    limit: int = 50,
    item_id: int | None = None,
    *,
    since_version: int | None = None,
) -> list[EventRecord]:
    stmt = _event_select()
    if item_id is not None:
        stmt = stmt.where(EVENT.c.item_id == item_id)
    if since_version is not None:
        stmt = stmt.where(EVENT.c.item_version > since_version)
    stmt = stmt.order_by(EVENT.c.id.desc()).limit(limit)
    return list(reversed([EventRecord(**dict(r._mapping)) for r in conn.execute(stmt)]))


def last_event_id(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(EVENT.c.id), 0))).scalar_one())


def first_event_id(conn: Connection) -> int | None:
    """The oldest event still kept (None: no events).  A follower whose cursor is below
    it minus one has missed pruned events and must reload instead of applying deltas."""
    value = raw_rows(conn, "SELECT min(id) FROM event")[0][0]  # on every applied change
    return None if value is None else int(value)


def schema_stamp(conn: Connection) -> int | None:
    """What changes when the schema does (a migration, an index), for followers that
    cache derived data: SQLite's ``schema_version`` counter; None on other engines."""
    if conn.dialect.name != "sqlite":
        return None
    return int(raw_rows(conn, "PRAGMA schema_version")[0][0])
