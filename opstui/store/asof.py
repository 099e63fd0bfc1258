"""The board as it stood at a past moment, rebuilt from the event log.

Every change to an item is an event (field, old, new, ts).  An item's value of a field at
time ``T`` is the ``old`` of the first event of that field after ``T`` or, when the field
has not changed since, its value today.  Items created after ``T`` did not exist.

:func:`first_values_after` is that rule as one query (SQLite and PostgreSQL);
:func:`board_at` reads the as-of board through it.  :func:`build_past` writes the past
into a new private SQLite file with the same schema: the items that existed at ``T``
(those open then, and those created or closed in the weeks before) holding their as-of
values, and the log, comments and work logs up to ``T``; every read the app and the CLI
already do (panes, figures, the review) then answers as of ``T`` through the same
definitions, with nothing written to the real database.  The SLA columns of the items
whose due times differ at ``T`` are recomputed by ``services.asof`` (the SLA engine
lives in services).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    func,
    literal_column,
    select,
)

from ..domain import models
from .past import stored as _stored

ITEM = models.Item.__table__
EVENT = models.Event.__table__
PERSON = models.Person.__table__
QUEUE = models.Queue.__table__
STATE = models.WorkflowState.__table__

#: The item fields the event log carries with their old value, as event field names.
REWOUND_FIELDS = ("status", "owner", "queue", "priority", "title", "kind", "estimate", "approval")

_AT = bindparam("at", type_=ITEM.c.created_at.type)


def first_values_after() -> Any:
    """(item_id, field, old) of each item that existed at ``:at``, its first event after
    ``:at`` per rewound field: the value the field had at ``:at`` (bind ``at``)."""
    first = (
        select(func.min(EVENT.c.id).label("id"))
        .where(
            EVENT.c.ts > _AT,
            EVENT.c.item_id.is_not(None),
            # inline literals: the same text serves the SQLite copy (build_past)
            EVENT.c.field.in_([literal_column(f"'{f}'") for f in REWOUND_FIELDS]),
            # items created after the moment did not exist then: their changes are not
            # grouped at all (most of the log after a moment long ago)
            EVENT.c.item_id.not_in(select(ITEM.c.id).where(ITEM.c.created_at > _AT)),
        )
        .group_by(EVENT.c.item_id, EVENT.c.field)
        .subquery("first_after")
    )
    return select(EVENT.c.item_id, EVENT.c.field, EVENT.c.old).join(first, first.c.id == EVENT.c.id)


@dataclass(frozen=True)
class BoardRow:
    """One item as it stood at the moment asked."""

    id: int
    key: str
    queue: str
    status: str
    owner: str | None
    priority: int


def board_at(conn: Connection, at: datetime) -> list[BoardRow]:
    """Every item that existed at ``at`` with its queue, state, owner and priority then
    (SQLite and PostgreSQL)."""
    firsts: dict[int, dict[str, str | None]] = {}
    for item_id, field, old in conn.execute(first_values_after(), {"at": at}):
        firsts.setdefault(item_id, {})[field] = old
    handles = dict(conn.execute(select(PERSON.c.id, PERSON.c.handle)).all())
    slugs = dict(conn.execute(select(QUEUE.c.id, QUEUE.c.slug)).all())
    rows = conn.execute(
        select(
            ITEM.c.id, ITEM.c.key, ITEM.c.queue_id, ITEM.c.status, ITEM.c.owner_id, ITEM.c.priority
        )
        .where(ITEM.c.created_at <= _AT)
        .order_by(ITEM.c.id),
        {"at": at},
    )
    out = []
    for r in rows:
        f = firsts.get(r.id, {})
        owner = f["owner"] if "owner" in f else handles.get(r.owner_id)
        prio = f.get("priority")
        out.append(
            BoardRow(
                id=r.id,
                key=r.key,
                queue=f["queue"] if f.get("queue") else slugs[r.queue_id],
                status=f["status"] if f.get("status") else r.status,
                owner=owner or None,
                priority=int(prio[1:]) if prio else r.priority,
            )
        )
    return out


# --- the private copy ------------------------------------------------------------------


#: Item indexes the past board builds: the panes' partial ones over open items (a few
#: thousand rows).  The full-table ones cost ~0.2 s each at 100k items and serve live
#: writers and the change feed, which a read-only past has none of.
_ITEM_INDEXES = (
    "ix_item_open_by_queue",
    "ix_item_open_id",
    "ix_item_open_due",
    "ix_item_open_by_owner",
)
#: Tables copied whole (definitions and people: small).
_WHOLE = (
    "meta",
    "person",
    "person_skill",
    "away_period",
    "workflow",
    "workflow_state",
    "workflow_transition",
    "queue",
    "process",
    "process_run",
    "business_calendar",
    "sla_policy",
    "review",
    "hook",
)
#: History kept before the moment for every item (the review's trends window is 8 weeks);
#: older history is kept for the items open at the moment.
HISTORY_DAYS = 63
#: The log kept of the items closed by then: the last two weeks (a week's review reads its
#: week); the items open then keep all of theirs.
LOG_DAYS = 14
#: Bytes of the source read through a memory map while building.
_MMAP = 1 << 30


def _sqlite_sql(stmt: Any) -> tuple[str, list[str]]:
    """``stmt`` as SQLite text with its positional parameter names."""
    from sqlalchemy.dialects import sqlite

    compiled = stmt.compile(dialect=sqlite.dialect())
    if set(compiled.positiontup or ()) != {"at"}:
        raise ValueError("the first-change query takes exactly one parameter, :at")
    return str(compiled), list(compiled.positiontup or ())


def build_past(source: Path, target: Path, at: datetime) -> list[int]:
    """Write the board of the SQLite file ``source`` as it stood at ``at`` into the new
    file ``target``: definitions and people as they are, the items that existed at ``at``
    with their rewound fields, and the log, comments and work logs up to ``at``.

    Returns the ids of the items whose SLA columns must be computed again as of ``at``
    (open then, with a state, queue, priority, kind or first response change after it).
    """
    t = _stored(at)
    since = _stored(at - timedelta(days=HISTORY_DAYS))
    recent = _stored(at - timedelta(days=LOG_DAYS))
    con = sqlite3.connect(f"file:{target}", uri=True, isolation_level=None)
    try:
        run = con.execute
        run("PRAGMA journal_mode=OFF")
        run("PRAGMA synchronous=OFF")
        run("PRAGMA temp_store=MEMORY")
        run("PRAGMA cache_size=-65536")  # 64 MiB: the copy never spills mid-build
        run("ATTACH ? AS src", (f"file:{source}?mode=ro",))
        run(f"PRAGMA src.mmap_size={_MMAP}")  # reads without a system call per page
        run("BEGIN")
        # the first change after T of each field: computed before main has an event table,
        # so that the query reads the source's
        sql, names = _sqlite_sql(first_values_after())
        args = [t for _n in names]
        run(f"CREATE TEMP TABLE asof_first AS {sql}", args)
        run("CREATE INDEX temp.asof_first_ix ON asof_first (item_id, field)")
        schema = run(
            "SELECT type, name, tbl_name, sql FROM src.sqlite_master WHERE sql IS NOT NULL"
            " AND name NOT LIKE 'sqlite%'"
        ).fetchall()
        for kind, _name, _table, sql in schema:
            if kind == "table":
                run(sql)
        indexes = {name for kind, name, _table, _sql in schema if kind == "index"}

        def by(index: str) -> str:
            """The hint to read down ``index``; none when the file lacks it (a read-only
            file an older build made), which is slower but the same rows."""
            return f"INDEXED BY {index}" if index in indexes else ""

        for table in _WHOLE:
            run(f"INSERT INTO main.{table} SELECT * FROM src.{table}")
        # the items that existed: those open now or changed since (open then, maybe), and
        # the ones created or closed in the last HISTORY_DAYS (the review's weeks)
        run(
            "INSERT INTO main.item SELECT * FROM src.item WHERE created_at <= ? AND"
            " (category != 'done' OR resolved_at >= ? OR created_at >= ?"
            " OR id IN (SELECT item_id FROM asof_first WHERE field = 'status'))",
            (t, since, since),
        )
        run(
            "CREATE TEMP TABLE asof_stale AS SELECT i.id AS item_id FROM main.item i"
            f" WHERE i.id IN (SELECT e.item_id FROM src.event e {by('ix_event_field_ts')}"
            " WHERE e.field >= 'sla' AND e.field < 'slb' AND e.ts > ?)",
            (t,),
        )
        _rewind_items(run, t)
        run(
            "DELETE FROM main.item WHERE category = 'done' AND resolved_at < ? AND created_at < ?",
            (since, since),
        )
        # their history up to T, and the log's other entries of the last HISTORY_DAYS
        # (two passes, each down the index that fits: the open items' whole history by
        # item, the closed ones' last LOG_DAYS by time; one join read the log by time)
        run(
            "INSERT INTO main.event SELECT e.* FROM main.item i CROSS JOIN"
            f" src.event e {by('ix_event_item')} ON e.item_id = i.id"
            " WHERE i.category != 'done' AND e.ts <= ?",
            (t,),
        )
        run(
            f"INSERT INTO main.event SELECT e.* FROM src.event e {by('ix_event_ts')}"
            " JOIN main.item i ON i.id = e.item_id"
            " WHERE e.ts >= ? AND e.ts <= ? AND i.category = 'done' ORDER BY e.id",
            (recent, t),
        )
        run(
            "INSERT INTO main.event SELECT * FROM src.event WHERE ts >= ? AND ts <= ?"
            " AND item_id IS NULL",
            (since, t),
        )
        run(
            "INSERT INTO main.comment SELECT c.* FROM main.item i JOIN src.comment c"
            " ON c.item_id = i.id WHERE c.created_at <= ?",
            (t,),
        )
        run(
            "INSERT INTO main.worklog SELECT * FROM src.worklog WHERE created_at <= ? AND at <= ?"
            " AND item_id IN (SELECT id FROM main.item)",
            (t, t),
        )
        for table in ("item_link",):
            run(
                f"INSERT INTO main.{table} SELECT * FROM src.{table} WHERE src_id IN"
                " (SELECT id FROM main.item) AND dst_id IN (SELECT id FROM main.item)"
            )
        run(
            "INSERT INTO main.approval SELECT * FROM src.approval"
            " WHERE item_id IN (SELECT id FROM main.item)"
        )
        run("INSERT OR REPLACE INTO main.meta (key, value) VALUES ('as_of', ?)", (at.isoformat(),))
        for kind, name, table, sql in schema:
            if kind == "index" and (table != "item" or name in _ITEM_INDEXES):
                run(sql)
        stale = _needs_sla(run, t)
        run("COMMIT")
        for pragma in ("application_id", "user_version"):  # what says "an opstui database"
            value = int(run(f"PRAGMA src.{pragma}").fetchone()[0])
            run(f"PRAGMA main.{pragma} = {value}")
        run("DETACH src")
    finally:
        con.close()
    return stale


def _needs_sla(run: Any, t: str) -> list[int]:
    """Items open at T whose SLA columns today do not hold at T: moved to another queue,
    priority or kind since (maybe another policy), or paused, resumed or reopened since
    (due times shift).  The other items open then and closed since keep their due times;
    their soonest open due time is set here."""
    run("CREATE TEMP TABLE asof_pause (name TEXT PRIMARY KEY) WITHOUT ROWID")
    run(
        "INSERT OR IGNORE INTO asof_pause SELECT j.value FROM src.sla_policy p,"
        " json_each(p.pause_in) j"
    )
    run("CREATE TEMP TABLE asof_turns (name TEXT PRIMARY KEY) WITHOUT ROWID")
    run(
        "INSERT OR IGNORE INTO asof_turns SELECT name FROM src.workflow_state"
        " WHERE category = 'done' UNION SELECT name FROM asof_pause"
    )
    run("CREATE TEMP TABLE asof_open (id INTEGER PRIMARY KEY)")
    run("INSERT INTO asof_open SELECT id FROM main.item WHERE category != 'done'")
    ids = sorted(
        {
            r[0]
            for r in run(
                "SELECT e.item_id FROM src.event e WHERE e.ts > ? AND +e.field = 'status'"
                " AND (e.old IN asof_turns OR e.new IN asof_pause)"
                " AND e.item_id IN asof_open",
                (t,),
            )
        }
        | {
            r[0]
            for r in run(
                "SELECT item_id FROM asof_first WHERE field IN ('queue', 'priority', 'kind')"
                " AND item_id IN asof_open"
            )
        }
    )
    run(
        "UPDATE main.item SET next_due_at = (SELECT min(v) FROM (SELECT CASE WHEN"
        " item.first_response_at IS NULL THEN item.sla_fr_due END AS v"
        " UNION ALL SELECT item.sla_res_due UNION ALL SELECT item.due_at)),"
        " sla_paused_since = NULL"
        " WHERE category != 'done' AND id IN (SELECT item_id FROM asof_first"
        " WHERE field = 'status') AND next_due_at IS NULL"
    )
    for table in ("asof_pause", "asof_turns", "asof_open"):
        run(f"DROP TABLE {table}")
    return ids


def _rewind_items(run: Any, t: str) -> None:
    """Each rewound field of the copied items takes its value at T (``asof_first``)."""
    first = "(SELECT old FROM asof_first f WHERE f.item_id = item.id AND f.field = '{}')"
    has = "id IN (SELECT item_id FROM asof_first WHERE field = '{}')"

    def set_(column: str, field: str, value: str, extra: str = "") -> None:
        run(f"UPDATE main.item SET {column} = {value} WHERE {has.format(field)}{extra}")

    f = first.format
    set_("status", "status", f("status"), f" AND {f('status')} IS NOT NULL")
    set_("owner_id", "owner", f"(SELECT p.id FROM main.person p WHERE p.handle = {f('owner')})")
    set_(
        "queue_id",
        "queue",
        f"(SELECT q.id FROM main.queue q WHERE q.slug = {f('queue')})",
        f" AND {f('queue')} IN (SELECT slug FROM main.queue)",
    )
    set_(
        "workflow_id",
        "queue",
        "(SELECT q.workflow_id FROM main.queue q WHERE q.id = item.queue_id)",
    )
    set_(
        "priority",
        "priority",
        f"CAST(substr({f('priority')}, 2) AS INTEGER)",
        f" AND {f('priority')} LIKE 'P_'",
    )
    set_("title", "title", f("title"), f" AND length({f('title')}) > 0")
    set_("kind", "kind", f("kind"), f" AND length({f('kind')}) > 0")
    set_("estimate_hours", "estimate", f"CAST({f('estimate')} AS REAL)")
    set_(
        "approval",
        "approval",
        f("approval"),
        f" AND {f('approval')} IN ('none', 'pending', 'approved', 'rejected')",
    )
    run(
        "UPDATE main.item SET category = COALESCE((SELECT s.category FROM main.workflow_state s"
        " WHERE s.workflow_id = item.workflow_id AND s.name = item.status), category)"
        f" WHERE {has.format('status')} OR {has.format('queue')}"
    )
    # times after T did not happen yet
    run("UPDATE main.item SET first_response_at = NULL WHERE first_response_at > ?", (t,))
    run(
        "UPDATE main.item SET resolved_at = NULL WHERE category != 'done'"
        " AND resolved_at IS NOT NULL"
    )
    run(
        "UPDATE main.item SET resolved_at = COALESCE((SELECT max(e.ts) FROM src.event e"
        " WHERE e.item_id = item.id AND e.field = 'status' AND e.ts <= ?), created_at)"
        " WHERE category = 'done' AND (resolved_at IS NULL OR resolved_at > ?)",
        (t, t),
    )
    run("UPDATE main.item SET sla_start = NULL WHERE sla_start > ?", (t,))
    run(
        "UPDATE main.item SET"
        " updated_at = COALESCE((SELECT max(e.ts) FROM src.event e"
        " WHERE e.item_id = item.id AND e.ts <= ?), created_at),"
        " version = COALESCE((SELECT max(e.item_version) FROM src.event e"
        " WHERE e.item_id = item.id AND e.ts <= ?), 1)"
        " WHERE updated_at > ?",
        (t, t, t),
    )
    run("UPDATE main.item SET parent_id = NULL WHERE parent_id NOT IN (SELECT id FROM main.item)")
    # crossings recorded after T were not known at T: the last one before stands
    for col, target in (("sla_fr_state", "first_response"), ("sla_res_state", "resolution")):
        run(
            f"UPDATE main.item SET {col} = (SELECT substr(e.field, 5) FROM src.event e"
            " WHERE e.item_id = item.id AND e.ts <= ? AND e.field IN"
            f" ('sla_warning', 'sla_breached') AND e.new LIKE '{target}%'"
            " ORDER BY e.id DESC LIMIT 1) WHERE id IN (SELECT item_id FROM asof_stale)",
            (t,),
        )


def latest_change(conn: Connection) -> datetime | None:
    """When the latest change to an item happened (``None``: none yet).  Changes to
    people, queues and definitions are not the board's history."""
    # newest first down the ts index, stopping at the first item event (a max() with a
    # WHERE would read the whole log)
    return conn.execute(
        select(EVENT.c.ts).where(EVENT.c.item_id.is_not(None)).order_by(EVENT.c.ts.desc()).limit(1)
    ).scalar()
