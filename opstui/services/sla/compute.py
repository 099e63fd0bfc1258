"""One item's SLA: replaying its status history against its policy and calendar
(:func:`compute_item_sla`), and writing the result onto the item row on every change
(:func:`refresh_item_sla`, :func:`apply_sla`, :func:`recompute_in`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from ...domain import models
from ...domain import sla as dom
from ...domain.sla import Calendar, Policy
from ...store import queries as q
from ...store.engine import Database
from ..context import Ctx, writing
from .rules import Rules, as_utc, load_rules

ITEM = models.Item.__table__
EVENT = models.Event.__table__

SEVERITY = {None: 0, "ok": 0, "paused": 0, "met": 0, "warning": 1, "breached": 2}

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
        at = max(as_utc(ts), timeline[-1][0])  # a clock set back never runs the replay backwards
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


def workflow_categories(conn: Connection, workflow_id: int) -> dict[str, str]:
    return dict(
        q.raw_rows(
            conn, "SELECT name, category FROM workflow_state WHERE workflow_id = ?", (workflow_id,)
        )
    )


def crossing_text(target: str, policy: str | None, due: datetime | None) -> str:
    when = due.isoformat() if due else "-"
    return f"{target} due {when} ({policy or '-'})"


_EVENT_INSERT = EVENT.insert()


def insert_event(
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
        _EVENT_INSERT,  # built once: a .values() per call cost ~1 ms (bulk imports)
        {
            "ts": ts,
            "unix_user": unix_user,
            "person_id": person_id,
            "entity": "item",
            "entity_id": item_id,
            "item_id": item_id,
            "field": field,
            "old": old,
            "new": new,
            "item_version": item_version,
        },
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


def refresh_item_sla(
    ctx: Ctx,
    item_id: int,
    values: dict[str, Any],
    *,
    statuses: list[tuple[datetime, str]] | None = None,
    rules: Rules | None = None,
    categories: dict[str, str] | None = None,
    breaches: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Column updates for the SLA cache of an item whose row is now ``values``.

    May append one ``sla_breached`` event: a target met late whose breach no checker
    recorded (so the log holds every breach, even ones nobody was watching).
    ``statuses`` is the item's (time, status) history from creation when the caller
    holds it already (a bulk import); otherwise it is read from the status events.
    ``rules`` and ``categories`` (the item's workflow's state categories) likewise: a
    caller that refreshes many items in one transaction reads them once.  With
    ``breaches``, that ``sla_breached`` event is appended there (the arguments of
    ``Ctx.record``) for the caller to insert with the rest of its batch.
    """
    if rules is None:
        rules = load_rules(ctx.conn)
    policy = dom.match_policy(
        rules.policies, values.get("queue_id"), values.get("kind"), values.get("priority")
    )
    if policy is None:
        return _no_policy(values)
    cal = rules.calendar(policy.calendar)
    # The clock starts at creation, or at the transfer that put the item under this policy.
    start = max(values["created_at"], values.get("sla_start") or values["created_at"])
    if statuses is None:
        timeline = status_timeline(ctx.conn, item_id, start, values["status"])
    else:
        timeline = [(start, statuses[0][1])]
        for at, status in statuses[1:]:
            timeline.append((max(at, timeline[-1][0]), status))
    sla = compute_item_sla(
        policy,
        cal,
        timeline,
        categories
        if categories is not None
        else workflow_categories(ctx.conn, values["workflow_id"]),
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
                breach = {
                    "field_name": "sla_breached",
                    "old": recorded or "ok",
                    "new": crossing_text(name, policy.name, calc.due),
                    "item_id": item_id,
                    "item_version": values.get("version"),
                    "ts": now,
                }
                if breaches is None:
                    ctx.record(**breach)
                else:
                    breaches.append(breach)
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
    "sla_start",
)
#: The item columns the SLA engine reads (for callers that read many rows at once).
SLA_COLUMNS = tuple(ITEM.c[c] for c in _SLA_INPUTS)
_SLA_ROW = select(*(ITEM.c[c] for c in _SLA_INPUTS)).where(ITEM.c.id == bindparam("item_id"))
_SLA_UPDATES: dict[tuple[str, ...], Any] = {}


def sla_update(columns: tuple[str, ...]) -> Any:
    """``UPDATE item SET <columns>`` by ``w_id``, built once per set of columns."""
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
        ctx.conn.execute(sla_update(tuple(sorted(changes))), params)


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
