"""SLA bookkeeping: which policy an item falls under, its cached due and warning times,
pauses, reopen, and the warning/breach events.

One place computes an item's SLA: :func:`compute_item_sla` replays the item's status
history (creation, status events) against the matching policy and its calendar, so the
answer never depends on which write happened to run it.  :func:`refresh_item_sla` turns
that into column updates on every write (``apply_sla``); the item row then carries
everything the panes, ``ls --json`` and ``opstui sla`` need without arithmetic or a query:

* ``sla_policy``, ``sla_fr_due`` / ``sla_res_due`` (due times, pushed out by pauses),
  ``sla_fr_warn`` / ``sla_res_warn`` (when warning starts), ``sla_res_start``;
* ``sla_paused_since`` while the item is in one of the policy's ``pause_in`` states;
* ``next_due_at``: the soonest open target due (or the item's own ``due_at``);
* ``sla_fr_state`` / ``sla_res_state``: the last state *recorded in the event log*
  (NULL, ``warning``, ``breached``, ``met``), and ``sla_check_at``: the next instant a
  crossing may need recording.

:func:`record_sla_crossings` is what every terminal calls on a timer: it finds rows with
``sla_check_at <= now`` (an index scan), and writes ``sla_warning`` / ``sla_breached``
events with a conditional UPDATE inside one IMMEDIATE transaction, so however many
processes check at once, each crossing is written exactly once.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, or_, select, update

from ..domain import models
from ..domain import sla as dom
from ..domain.sla import ALWAYS, ALWAYS_CALENDAR, Calendar, Policy, SlaError
from ..store import queries as q
from ..store.engine import Database
from .context import Ctx, display, writing

ITEM = models.Item.__table__
POLICY = models.SlaPolicy.__table__
CAL = models.BusinessCalendar.__table__
STATE = models.WorkflowState.__table__
QUEUE = models.Queue.__table__
EVENT = models.Event.__table__

TARGETS = ("first_response", "resolution")
LABELS = {"first_response": "first response", "resolution": "resolution"}
SEVERITY = {None: 0, "ok": 0, "paused": 0, "met": 0, "warning": 1, "breached": 2}

# --- rules: policies and calendars, parsed once per process --------------------------

_lock = threading.Lock()
_calendars: dict[tuple[Any, ...], Calendar] = {}
_policies: dict[tuple[Any, ...], Policy] = {}


def _cal_key(row: Any) -> tuple[Any, ...]:
    return (
        row.name,
        row.timezone,
        json.dumps(row.hours or {}, sort_keys=True),
        tuple(row.holidays or ()),
        row.country,
        row.subdivision,
    )


def calendar_from_row(row: Any) -> Calendar:
    key = _cal_key(row)
    with _lock:
        cal = _calendars.get(key)
    if cal is None:
        cal = dom.make_calendar(
            row.name,
            row.timezone,
            row.hours or {},
            row.holidays or (),
            row.country,
            row.subdivision,
        )
        with _lock:
            if len(_calendars) > 256:
                _calendars.clear()
            _calendars[key] = cal
    return cal


def policy_from_row(row: Any) -> Policy:
    key = tuple(json.dumps(v, sort_keys=True) if isinstance(v, list | dict) else v for v in row)
    with _lock:
        pol = _policies.get(key)
    if pol is None:
        pol = Policy(
            name=row.name,
            position=row.position,
            queue_id=row.queue_id,
            kinds=frozenset(row.kinds or ()),
            priorities=frozenset(int(p) for p in row.priorities or ()),
            calendar=row.calendar or ALWAYS,
            first_response=dom.parse_target(row.first_response) if row.first_response else None,
            resolution=dom.parse_target(row.resolution) if row.resolution else None,
            warn=dom.parse_warn(row.warn_at or "80%"),
            pause_in=frozenset(row.pause_in or ()),
        )
        with _lock:
            if len(_policies) > 1024:
                _policies.clear()
            _policies[key] = pol
    return pol


@dataclass(frozen=True)
class Rules:
    policies: tuple[Policy, ...]
    calendars: dict[str, Calendar]
    #: Stored rules that cannot be used (written by hand or by an older opstui): skipped,
    #: so a bad row never blocks a write; ``opstui sla`` reports them.
    problems: tuple[str, ...] = ()

    def calendar(self, name: str) -> Calendar:
        return self.calendars.get(name, ALWAYS_CALENDAR)


_rules_cache: dict[tuple[Any, ...], Rules] = {}


def load_rules(conn: Connection) -> Rules:
    """All policies (in match order) and calendars.

    Runs on every write, so it is two raw reads of two small tables and a dictionary
    lookup; parsing (zones, holidays, targets) happens once per process per change.
    """
    pol_rows = tuple(
        q.raw_rows(
            conn,
            "SELECT id, name, position, queue_id, kinds, priorities, calendar, first_response,"
            " resolution, warn_at, pause_in FROM sla_policy ORDER BY position, id",
        )
    )
    cal_rows = tuple(
        q.raw_rows(
            conn,
            "SELECT name, timezone, hours, holidays, country, subdivision FROM business_calendar",
        )
    )
    key = (pol_rows, cal_rows)
    with _lock:
        rules = _rules_cache.get(key)
    if rules is not None:
        return rules
    problems: list[str] = []
    calendars: dict[str, Calendar] = {}
    for r in cal_rows:
        try:
            calendars[r[0]] = calendar_from_row(_CalRow(*r))
        except (SlaError, TypeError, ValueError) as exc:
            problems.append(f"calendar {r[0]!r} is unusable: {exc}")
    policies: list[Policy] = []
    for r in pol_rows:
        try:
            pol = policy_from_row(_PolicyRow(*r))
        except (SlaError, TypeError, ValueError) as exc:
            problems.append(f"SLA policy {r[1]!r} is unusable: {exc}")
            continue
        if pol.calendar != ALWAYS and pol.calendar not in calendars:
            problems.append(
                f"SLA policy {pol.name!r} names a missing or unusable calendar {pol.calendar!r}"
            )
            continue
        policies.append(pol)
    rules = Rules(tuple(policies), calendars, tuple(problems))
    with _lock:
        if len(_rules_cache) > 32:
            _rules_cache.clear()
        _rules_cache[key] = rules
    return rules


def _json_value(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


@dataclass(frozen=True)
class _PolicyRow:
    id: int
    name: str
    position: int
    queue_id: int | None
    kinds: Any
    priorities: Any
    calendar: str
    first_response: str | None
    resolution: str | None
    warn_at: str
    pause_in: Any

    def __post_init__(self) -> None:
        for f in ("kinds", "priorities", "pause_in"):
            object.__setattr__(self, f, _json_value(getattr(self, f)))

    def __iter__(self) -> Any:
        return iter(
            (
                self.id,
                self.name,
                self.position,
                self.queue_id,
                json.dumps(self.kinds),
                json.dumps(self.priorities),
                self.calendar,
                self.first_response,
                self.resolution,
                self.warn_at,
                json.dumps(self.pause_in),
            )
        )


@dataclass(frozen=True)
class _CalRow:
    name: str
    timezone: str
    hours: Any
    holidays: Any
    country: str | None
    subdivision: str | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "hours", _json_value(self.hours))
        object.__setattr__(self, "holidays", _json_value(self.holidays))


def _utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


# --- computing one item --------------------------------------------------------------


@dataclass
class TargetCalc:
    due: datetime | None = None
    warn: datetime | None = None
    start: datetime | None = None
    met_at: datetime | None = None

    def extend(self, cal: Calendar, paused_at: datetime, resumed_at: datetime) -> None:
        if self.met_at is not None and self.met_at <= paused_at:
            return
        self.due = dom.extend_for_pause(cal, self.due, paused_at, resumed_at)
        self.warn = dom.extend_for_pause(cal, self.warn, paused_at, resumed_at)


@dataclass
class ItemSla:
    policy: Policy
    calendar: Calendar
    first_response: TargetCalc
    resolution: TargetCalc
    paused_since: datetime | None


def _start(target: dom.Target | None, policy: Policy, cal: Calendar, at: datetime) -> TargetCalc:
    if target is None:
        return TargetCalc(start=at)
    due = target.due(cal, at)
    return TargetCalc(due=due, warn=policy.warn.at(cal, at, due), start=at)


def status_timeline(
    conn: Connection, item_id: int, created_at: datetime, status: str
) -> list[tuple[datetime, str]]:
    """(time, status) from creation on, from the item's ``status`` events."""
    rows = q.raw_rows(
        conn,
        "SELECT ts, old, new FROM event WHERE item_id = ? AND field = 'status' ORDER BY id",
        (item_id,),
    )
    first = rows[0][1] if rows and rows[0][1] else status
    timeline = [(created_at, first)]
    for ts, _old, new in rows:
        at = max(_utc(ts), timeline[-1][0])  # a clock set back never runs the replay backwards
        timeline.append((at, new))
    if timeline[-1][1] != status:
        timeline.append((timeline[-1][0], status))
    return timeline


def compute_item_sla(
    policy: Policy,
    cal: Calendar,
    timeline: list[tuple[datetime, str]],
    categories: dict[str, str],
    first_response_at: datetime | None,
    resolved_at: datetime | None,
) -> ItemSla:
    """Replay an item's status history under ``policy`` (pure)."""
    created = timeline[0][0]
    fr = _start(policy.first_response, policy, cal, created)
    res = _start(policy.resolution, policy, cal, created)
    fr.met_at = first_response_at or resolved_at
    paused: datetime | None = None
    prev_done = False
    for i, (at, status) in enumerate(timeline):
        done = categories.get(status, "active") == "done"
        if i and prev_done and not done:  # reopened: the resolution clock restarts
            res = _start(policy.resolution, policy, cal, at)
        pause = not done and status in policy.pause_in
        if pause and paused is None:
            paused = at
        elif not pause and paused is not None:
            fr.extend(cal, paused, at)
            res.extend(cal, paused, at)
            paused = None
        prev_done = done
    if paused is not None and fr.met_at is not None and fr.met_at > paused:
        fr.extend(cal, paused, fr.met_at)  # answered while paused: the clock was stopped
    res.met_at = resolved_at
    return ItemSla(policy, cal, fr, res, paused)


def _categories(conn: Connection, workflow_id: int) -> dict[str, str]:
    return dict(
        q.raw_rows(
            conn, "SELECT name, category FROM workflow_state WHERE workflow_id = ?", (workflow_id,)
        )
    )


def _crossing_text(target: str, policy: str | None, due: datetime | None) -> str:
    when = due.isoformat() if due else "-"
    return f"{target} due {when} ({policy or '-'})"


def _insert_event(
    conn: Connection,
    *,
    ts: datetime,
    unix_user: str,
    person_id: int | None,
    item_id: int,
    item_version: int | None,
    field: str,
    old: str | None,
    new: str,
) -> int:
    result = conn.execute(
        EVENT.insert().values(
            ts=ts,
            unix_user=unix_user,
            person_id=person_id,
            entity="item",
            entity_id=item_id,
            item_id=item_id,
            field=field,
            old=old,
            new=new,
            item_version=item_version,
        )
    )
    return int(result.inserted_primary_key[0])


def _no_policy(values: dict[str, Any]) -> dict[str, Any]:
    open_ = values.get("category") != "done"
    return {
        "sla_policy": None,
        "sla_fr_due": None,
        "sla_res_due": None,
        "sla_fr_warn": None,
        "sla_res_warn": None,
        "sla_res_start": None,
        "sla_paused_since": None,
        "sla_fr_state": None,
        "sla_res_state": None,
        "sla_check_at": None,
        "next_due_at": values.get("due_at") if open_ else None,
    }


def refresh_item_sla(ctx: Ctx, item_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """Column updates for the SLA cache of an item whose row is now ``values``.

    May append one ``sla_breached`` event: a target met late whose breach no checker
    recorded (so the log holds every breach, even ones nobody was watching).
    """
    rules = load_rules(ctx.conn)
    policy = dom.match_policy(
        rules.policies, values.get("queue_id"), values.get("kind"), values.get("priority")
    )
    if policy is None:
        return _no_policy(values)
    cal = rules.calendar(policy.calendar)
    timeline = status_timeline(ctx.conn, item_id, values["created_at"], values["status"])
    sla = compute_item_sla(
        policy,
        cal,
        timeline,
        _categories(ctx.conn, values["workflow_id"]),
        values.get("first_response_at"),
        values.get("resolved_at") if values.get("category") == "done" else None,
    )
    now = ctx.now
    eff_now = sla.paused_since or now
    out: dict[str, Any] = {
        "sla_policy": policy.name,
        "sla_fr_due": sla.first_response.due,
        "sla_res_due": sla.resolution.due,
        "sla_fr_warn": sla.first_response.warn,
        "sla_res_warn": sla.resolution.warn,
        "sla_res_start": sla.resolution.start if sla.resolution.due else None,
        "sla_paused_since": sla.paused_since,
    }
    pending: list[datetime] = []
    dues: list[datetime] = []
    for name, calc, col in (
        ("first_response", sla.first_response, "sla_fr_state"),
        ("resolution", sla.resolution, "sla_res_state"),
    ):
        recorded = values.get(col)
        if values.get("sla_policy") != policy.name and recorded != "met":
            recorded = None  # a new policy: its targets have recorded nothing yet
        if calc.due is None:
            out[col] = None
            continue
        if calc.met_at is not None:
            if calc.met_at > calc.due and recorded not in ("breached", "met"):
                _insert_event(
                    ctx.conn,
                    ts=now,
                    unix_user=ctx.unix_user,
                    person_id=ctx.person_id,
                    item_id=item_id,
                    item_version=values.get("version"),
                    field="sla_breached",
                    old=recorded or "ok",
                    new=_crossing_text(name, policy.name, calc.due),
                )
            out[col] = "met"
            continue
        dues.append(calc.due)
        computed = dom.target_state(eff_now, calc.due, calc.warn)
        if recorded == "met" or SEVERITY.get(recorded, 0) > SEVERITY[computed]:
            recorded = computed if computed == "warning" else None
        out[col] = recorded
        if sla.paused_since is None:
            if SEVERITY.get(recorded, 0) < 1 and calc.warn is not None:
                pending.append(calc.warn)
            if SEVERITY.get(recorded, 0) < 2:
                pending.append(calc.due)
    out["sla_check_at"] = min(pending) if pending else None
    if values.get("category") != "done":
        if values.get("due_at"):
            dues.append(values["due_at"])
        out["next_due_at"] = min(dues) if dues else None
    else:
        out["next_due_at"] = None
    return out


#: The columns :func:`refresh_item_sla` reads (its inputs and the cache it may rewrite).
#: Reading these instead of the whole row (with ``body`` and ``data``) and building the
#: statements once took about a quarter off a change's CPU (benchmarks/RESULTS.md).
_SLA_INPUTS = (
    "id",
    "queue_id",
    "kind",
    "priority",
    "created_at",
    "status",
    "workflow_id",
    "first_response_at",
    "resolved_at",
    "category",
    "due_at",
    "version",
    "sla_policy",
    "sla_fr_due",
    "sla_res_due",
    "sla_fr_warn",
    "sla_res_warn",
    "sla_res_start",
    "sla_paused_since",
    "sla_fr_state",
    "sla_res_state",
    "sla_check_at",
    "next_due_at",
)
_SLA_ROW = select(*(ITEM.c[c] for c in _SLA_INPUTS)).where(ITEM.c.id == bindparam("item_id"))
_SLA_UPDATES: dict[tuple[str, ...], Any] = {}


def _sla_update(columns: tuple[str, ...]) -> Any:
    stmt = _SLA_UPDATES.get(columns)
    if stmt is None:
        stmt = (
            update(ITEM)
            .where(ITEM.c.id == bindparam("w_id"))
            .values({c: bindparam(f"v_{c}", type_=ITEM.c[c].type) for c in columns})
        )
        _SLA_UPDATES[columns] = stmt
    return stmt


def apply_sla(ctx: Ctx, item_id: int) -> None:
    """Recompute an item's SLA cache inside the current write (called on every write)."""
    row = ctx.conn.execute(_SLA_ROW, {"item_id": item_id}).mappings().one()
    changes = refresh_item_sla(ctx, item_id, dict(row))
    changes = {k: v for k, v in changes.items() if row[k] != v}
    if changes:
        params = {f"v_{k}": v for k, v in changes.items()}
        params["w_id"] = item_id
        ctx.conn.execute(_sla_update(tuple(sorted(changes))), params)


def recompute_in(ctx: Ctx, *, open_only: bool = True) -> int:
    """Recompute every (open) item's SLA cache inside an open write (e.g. after a load
    that changed policies or calendars).  Returns how many items were looked at."""
    stmt = select(ITEM.c.id)
    if open_only:
        stmt = stmt.where(ITEM.c.category != "done")
    ids = [r[0] for r in ctx.conn.execute(stmt)]
    for item_id in ids:
        apply_sla(ctx, item_id)
    return len(ids)


def recompute_all(db: Database, *, open_only: bool = True) -> int:
    """Recompute every (open) item's SLA cache: after a policy change or an upgrade."""
    with writing(db) as ctx:
        return recompute_in(ctx, open_only=open_only)


# --- crossings: warning and breach events, exactly once ------------------------------


def next_check_at(db: Database) -> datetime | None:
    """The soonest moment an SLA crossing (warning or breach) becomes due for recording."""
    with db.read() as conn:
        value = conn.execute(
            select(ITEM.c.sla_check_at)
            .where(ITEM.c.sla_check_at.is_not(None))
            .order_by(ITEM.c.sla_check_at)
            .limit(1)
        ).scalar()
    return value


def pending_crossings(conn: Connection, now: datetime) -> bool:
    """Is any crossing due for recording?  One index probe; cheap enough for a timer."""
    row = conn.execute(
        select(ITEM.c.id)
        .where(ITEM.c.sla_check_at.is_not(None), ITEM.c.sla_check_at <= now)
        .limit(1)
    ).first()
    return row is not None


def record_sla_crossings(db: Database, *, limit: int = 5000) -> list[q.EventRecord]:
    """Write an event for every target that crossed into warning or breach by now.

    Safe to call from any number of processes at once: each crossing is written once
    (a conditional UPDATE of the recorded state inside an IMMEDIATE transaction), and
    a call with nothing due costs one read.  Returns the events written by this call.
    """
    if db.readonly:
        return []
    now = db.clock.now()
    with db.read() as conn:
        if not pending_crossings(conn, now):
            return []
    ids: list[int] = []
    with writing(db) as ctx:
        rows = (
            ctx.conn.execute(
                select(ITEM)
                .where(
                    ITEM.c.sla_check_at.is_not(None),
                    ITEM.c.sla_check_at <= now,
                    ITEM.c.category != "done",
                )
                .order_by(ITEM.c.sla_check_at)
                .limit(limit)
            )
            .mappings()
            .all()
        )
        for row in rows:
            ids.extend(_record_item_crossings(ctx, row, now))
        if not ids:
            return []
        return [
            q.EventRecord(**dict(r._mapping))
            for r in ctx.conn.execute(
                q._event_select().where(EVENT.c.id.in_(ids)).order_by(EVENT.c.id)
            )
        ]


def _record_item_crossings(ctx: Ctx, row: Any, now: datetime) -> list[int]:
    written: list[int] = []
    pending: list[datetime] = []
    paused = row["sla_paused_since"] is not None
    for name, due_col, warn_col, state_col in (
        ("first_response", "sla_fr_due", "sla_fr_warn", "sla_fr_state"),
        ("resolution", "sla_res_due", "sla_res_warn", "sla_res_state"),
    ):
        due, warn, recorded = row[due_col], row[warn_col], row[state_col]
        if due is None or recorded == "met" or paused:
            continue
        if name == "first_response" and row["first_response_at"] is not None:
            continue
        state = dom.target_state(now, due, warn)
        if SEVERITY[state] > SEVERITY.get(recorded, 0):
            blocked = ["breached", "met"] if state == "breached" else ["warning", "breached", "met"]
            result = ctx.conn.execute(
                update(ITEM)
                .where(
                    ITEM.c.id == row["id"],
                    or_(ITEM.c[state_col].is_(None), ITEM.c[state_col].not_in(blocked)),
                )
                .values({state_col: state})
            )
            if result.rowcount == 1:
                written.append(
                    _insert_event(
                        ctx.conn,
                        ts=now,
                        unix_user=ctx.unix_user,
                        person_id=ctx.person_id,
                        item_id=row["id"],
                        item_version=row["version"],
                        field=f"sla_{state}",
                        old=recorded or "ok",
                        new=_crossing_text(name, row["sla_policy"], due),
                    )
                )
            recorded = state
        if SEVERITY.get(recorded, 0) < 1 and warn is not None:
            pending.append(warn)
        if SEVERITY.get(recorded, 0) < 2:
            pending.append(due)
    ctx.conn.execute(
        update(ITEM)
        .where(ITEM.c.id == row["id"])
        .values(sla_check_at=min(pending) if pending and not paused else None)
    )
    return written


# --- reading: JSON, show lines, the at-risk list --------------------------------------


def _target_view(item: Any, name: str, now: datetime) -> dict[str, Any] | None:
    if name == "first_response":
        due, warn = item.sla_fr_due, getattr(item, "sla_fr_warn", None)
        met = item.first_response_at or item.resolved_at
    else:
        due, warn = item.sla_res_due, getattr(item, "sla_res_warn", None)
        met = item.resolved_at if item.category == "done" else None
    if due is None:
        return None
    paused = item.sla_paused_since if met is None else None
    state = dom.target_state(now, due, warn, met, paused)
    ref = met or paused or now
    return {
        "policy": item.sla_policy,
        "due": due.isoformat(),
        "remaining_s": int((due - ref).total_seconds()),
        "state": state,
        "warn_at": warn.isoformat() if warn else None,
        "met_at": met.isoformat() if met else None,
    }


def item_sla_json(item: Any, now: datetime) -> dict[str, Any]:
    """``{"first_response": {policy, due, remaining_s, state, ...}, "resolution": {...}}``.

    ``remaining_s`` is wall-clock seconds to the due time (negative once breached); when
    met, the margin it was met with; while paused, what was left when the pause began.
    ``{}`` when no policy applies.
    """
    if not getattr(item, "sla_policy", None):
        return {}
    out: dict[str, Any] = {}
    for name in TARGETS:
        view = _target_view(item, name, now)
        if view is not None:
            out[name] = view
    return out


def item_sla_lines(item: Any, now: datetime) -> list[str]:
    """Lines for ``opstui show``."""
    data = item_sla_json(item, now)
    if not data:
        return []
    lines = [f"  SLA policy {item.sla_policy}"]
    for name in TARGETS:
        v = data.get(name)
        if v is None:
            continue
        due = datetime.fromisoformat(v["due"])
        left = dom.format_remaining(v["remaining_s"])
        if v["state"] == "met":
            tail = f"met {left} early"
        elif v["state"] == "breached" and v["met_at"]:
            tail = f"breached: met {left.lstrip('-')} late"
        elif v["state"] == "breached":
            tail = f"breached {left.lstrip('-')} ago"
        elif v["state"] == "paused":
            tail = f"paused with {left} left"
        else:
            tail = f"{v['state']}, {left} left"
        lines.append(f"    {LABELS[name]:<15} due {due:%Y-%m-%d %H:%M} UTC   {tail}")
    return lines


@dataclass(frozen=True)
class SlaRow:
    """One open target for ``opstui sla`` and the SLA pane."""

    item: q.ItemRecord
    target: str
    due: datetime
    remaining_s: int
    state: str

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.item.key,
            "title": self.item.title,
            "queue": self.item.queue,
            "owner": self.item.owner,
            "priority": self.item.priority_label,
            "status": self.item.status,
            "target": self.target,
            "policy": self.item.sla_policy,
            "due": self.due.isoformat(),
            "remaining_s": self.remaining_s,
            "state": self.state,
        }


def open_targets(conn: Connection, now: datetime) -> list[SlaRow]:
    """Every open, unmet SLA target, most urgent first (breached, warning, then by due)."""
    stmt = q._item_select().where(
        ITEM.c.category != "done",
        ITEM.c.sla_policy.is_not(None),
        or_(
            and_(ITEM.c.sla_fr_due.is_not(None), ITEM.c.first_response_at.is_(None)),
            ITEM.c.sla_res_due.is_not(None),
        ),
    )
    rows: list[SlaRow] = []
    for r in conn.execute(stmt):
        item = q._record(r)
        for name, view in item_sla_json(item, now).items():
            if view["state"] in ("met", None):
                continue
            rows.append(
                SlaRow(
                    item=item,
                    target=name,
                    due=datetime.fromisoformat(view["due"]),
                    remaining_s=view["remaining_s"],
                    state=view["state"],
                )
            )
    order = {"breached": 0, "warning": 1, "ok": 2, "paused": 3}
    rows.sort(key=lambda r: (order.get(r.state, 9), r.due, r.item.key, r.target))
    return rows


# --- saving loaded rules ---------------------------------------------------------------


def save_calendar_in(ctx: Ctx, values: dict[str, Any]) -> None:
    """Store a business calendar (replaced by name); ``values`` are its columns."""
    conn = ctx.conn
    existing = conn.execute(select(CAL.c.id).where(CAL.c.name == values["name"])).first()
    if existing:
        conn.execute(CAL.update().where(CAL.c.id == existing[0]).values(**values))
    else:
        conn.execute(CAL.insert().values(**values))


def save_policy_in(ctx: Ctx, values: dict[str, Any]) -> None:
    """Store an SLA policy (replaced by name); ``values`` are its columns."""
    conn = ctx.conn
    existing = conn.execute(select(POLICY.c.id).where(POLICY.c.name == values["name"])).first()
    if existing:
        conn.execute(POLICY.update().where(POLICY.c.id == existing[0]).values(**values))
    else:
        conn.execute(POLICY.insert().values(**values))


__all__ = [
    "apply_sla",
    "display",
    "item_sla_json",
    "item_sla_lines",
    "record_sla_crossings",
    "recompute_all",
    "recompute_in",
    "refresh_item_sla",
]
