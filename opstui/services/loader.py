"""``opstui load FILE.toml``: people, queues, calendars, SLA policies, workflows, processes
and items in one documented format, loaded all-or-nothing in one transaction.

Every problem is reported as ``FILE: section[index] (name): reason`` and nothing is loaded.
Sections are applied in dependency order: people, workflows, queues, calendars,
sla_policies, processes, items.  People and queues that exist already are updated;
workflows, calendars, policies and processes are replaced by name; items are always added.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update

from ..domain import fields, models
from ..domain.clock import parse_instant
from ..domain.models import STATE_CATEGORIES
from ..errors import OpsError, ValidationError
from ..store.engine import Database
from . import items as item_svc
from . import people as people_svc
from .context import Ctx, writing

PERSON = models.Person.__table__
QUEUE = models.Queue.__table__
WORKFLOW = models.Workflow.__table__
STATE = models.WorkflowState.__table__
TRANSITION = models.WorkflowTransition.__table__
CAL = models.BusinessCalendar.__table__
POLICY = models.SlaPolicy.__table__
PROCESS = models.Process.__table__
ITEM = models.Item.__table__
LINK = models.ItemLink.__table__

SECTIONS = ("people", "workflows", "queues", "calendars", "sla_policies", "processes", "items")


class LoadError(OpsError):
    pass


@dataclass
class LoadReport:
    counts: dict[str, int] = field(default_factory=dict)
    items: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{n} {name.replace('_', ' ')}" for name, n in self.counts.items() if n]
        return ", ".join(parts) or "nothing"


@dataclass
class Loading:
    ctx: Ctx
    source: str
    shift: timedelta
    report: LoadReport

    def where(self, section: str, index: int, entry: dict[str, Any], name_key: str = "name") -> str:
        name = next(
            (
                entry[k]
                for k in (name_key, "handle", "slug", "key", "name", "title")
                if entry.get(k)
            ),
            None,
        )
        label = f" ({name})" if name else ""
        return f"{self.source}: {section}[{index}]{label}"

    def when(self, value: Any, where: str, key: str) -> datetime:
        try:
            if isinstance(value, datetime):
                instant = parse_instant(value.isoformat())
            else:
                instant = parse_instant(str(value))
        except ValueError:
            raise LoadError(f"{where}: {key} is not an ISO 8601 time: {value!r}") from None
        return instant + self.shift


def _require(entry: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    for k in keys:
        if entry.get(k) in (None, ""):
            raise LoadError(f"{where}: missing required key {k!r}")


def _no_repeats(ld: Loading, section: str, entries: list[dict[str, Any]], key: str) -> None:
    seen: dict[Any, int] = {}
    for i, e in enumerate(entries):
        value = e.get(key)
        if value is not None and value in seen:
            raise LoadError(
                f"{ld.where(section, i, e, key)}: {key} {value!r} repeats {section}[{seen[value]}]"
            )
        seen[value] = i


def _known(entry: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise LoadError(
            f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})"
        )


# --- sections ------------------------------------------------------------------------

PERSON_KEYS = {"handle", "name", "team", "capacity", "skills", "login", "email", "active", "away"}


def load_people(ld: Loading, entries: list[dict[str, Any]]) -> None:
    _no_repeats(ld, "people", entries, "handle")
    for i, e in enumerate(entries):
        where = ld.where("people", i, e, "handle")
        _known(e, PERSON_KEYS, where)
        _require(e, ("handle",), where)
        away = [
            {
                **a,
                "start": _shift_date(a.get("start"), ld),
                "end": _shift_date(a.get("end") or a.get("start"), ld),
            }
            for a in e.get("away", [])
        ]
        try:
            exists = ld.ctx.conn.execute(
                select(PERSON.c.id).where(PERSON.c.handle == e["handle"])
            ).first()
            if exists:
                ld.ctx.conn.execute(
                    update(PERSON)
                    .where(PERSON.c.id == exists[0])
                    .values(
                        name=e.get("name", e["handle"]),
                        team=e.get("team", ""),
                        capacity_hours=fields.parse_capacity(e.get("capacity", 40)),
                        login=e.get("login"),
                        email=e.get("email", ""),
                        active=bool(e.get("active", True)),
                    )
                )
                people_svc._set_skills(ld.ctx, exists[0], fields.parse_skills(e.get("skills", [])))
                for a in away:
                    people_svc._add_away(ld.ctx, exists[0], a)
            else:
                people_svc.add_person_in(
                    ld.ctx, **{**{k: v for k, v in e.items() if k != "away"}, "away": away}
                )
        except OpsError as exc:
            raise LoadError(f"{where}: {exc}") from None
    ld.report.counts["people"] = len(entries)


def _shift_date(value: Any, ld: Loading) -> Any:
    if value is None:
        return None
    day = fields.parse_date(value)
    return day + timedelta(days=round(ld.shift.total_seconds() / 86400))


WORKFLOW_KEYS = {"name", "initial", "description", "states", "transitions"}
TRANSITION_KEYS = {"from", "to", "name", "requires_approval", "actions"}


def load_workflows(ld: Loading, entries: list[dict[str, Any]]) -> None:
    conn = ld.ctx.conn
    _no_repeats(ld, "workflows", entries, "name")
    for i, e in enumerate(entries):
        where = ld.where("workflows", i, e)
        _known(e, WORKFLOW_KEYS, where)
        _require(e, ("name", "states"), where)
        states = e["states"]
        names: list[str] = []
        for j, s in enumerate(states):
            if isinstance(s, str):
                s = {"name": s}
            if not s.get("name"):
                raise LoadError(f"{where}: states[{j}] has no name")
            cat = s.get("category", "active")
            if cat not in STATE_CATEGORIES:
                raise LoadError(
                    f"{where}: state {s['name']!r} has category {cat!r} (one of {', '.join(STATE_CATEGORIES)})"
                )
            names.append(s["name"])
        if len(set(names)) != len(names):
            raise LoadError(f"{where}: a state name is repeated")
        initial = e.get("initial", names[0])
        if initial not in names:
            raise LoadError(f"{where}: initial state {initial!r} is not one of its states")
        for j, t in enumerate(e.get("transitions", [])):
            _known(t, TRANSITION_KEYS, f"{where} transitions[{j}]")
            for end in ("from", "to"):
                v = t.get(end)
                if v is None or (v not in names and not (end == "from" and v == "*")):
                    raise LoadError(
                        f"{where}: transitions[{j}] {end} {v!r} is not a state of this workflow"
                    )
        existing = conn.execute(select(WORKFLOW.c.id).where(WORKFLOW.c.name == e["name"])).first()
        if existing:
            wf_id = existing[0]
            in_use = {
                r[0]
                for r in conn.execute(
                    select(ITEM.c.status).where(ITEM.c.workflow_id == wf_id).distinct()
                )
            }
            missing = in_use - set(names)
            if missing:
                raise LoadError(
                    f"{where}: items are in state(s) {', '.join(sorted(missing))} that the new definition drops"
                )
            conn.execute(
                update(WORKFLOW)
                .where(WORKFLOW.c.id == wf_id)
                .values(initial_state=initial, description=e.get("description", ""))
            )
            conn.execute(delete(TRANSITION).where(TRANSITION.c.workflow_id == wf_id))
            conn.execute(
                delete(STATE).where(STATE.c.workflow_id == wf_id, STATE.c.name.not_in(in_use))
            )
            kept = {
                r[0]: r[1]
                for r in conn.execute(
                    select(STATE.c.name, STATE.c.category).where(STATE.c.workflow_id == wf_id)
                )
            }
        else:
            wf_id = conn.execute(
                WORKFLOW.insert().values(
                    name=e["name"], initial_state=initial, description=e.get("description", "")
                )
            ).inserted_primary_key[0]
            kept = {}
        for j, s in enumerate(states):
            s = {"name": s} if isinstance(s, str) else s
            cat = s.get("category", "active")
            if s["name"] in kept:
                if kept[s["name"]] != cat:
                    raise LoadError(
                        f"{where}: state {s['name']!r} is in use and cannot change category"
                    )
                conn.execute(
                    update(STATE)
                    .where(STATE.c.workflow_id == wf_id, STATE.c.name == s["name"])
                    .values(label=s.get("label", ""), position=j)
                )
            else:
                conn.execute(
                    STATE.insert().values(
                        workflow_id=wf_id,
                        name=s["name"],
                        label=s.get("label", ""),
                        category=cat,
                        position=j,
                    )
                )
        seen: set[tuple[str, str]] = set()
        for j, t in enumerate(e.get("transitions", [])):
            pair = (t["from"], t["to"])
            if pair in seen:
                raise LoadError(f"{where}: transitions[{j}] repeats {pair[0]} -> {pair[1]}")
            seen.add(pair)
            conn.execute(
                TRANSITION.insert().values(
                    workflow_id=wf_id,
                    from_state=t["from"],
                    to_state=t["to"],
                    name=t.get("name", ""),
                    requires_approval=bool(t.get("requires_approval", False)),
                    actions=list(t.get("actions", [])),
                )
            )
        ld.ctx.record("loaded", None, e["name"], entity="workflow", entity_id=wf_id)
    ld.report.counts["workflows"] = len(entries)


def validate_workflow_actions(ld: Loading) -> None:
    """Check every transition action against the loaded people, queues and states."""
    from .automation import validate_actions

    validate_actions(ld.ctx, ld.source)


QUEUE_KEYS = {"slug", "name", "prefix", "workflow", "triage_owner", "wip_limit", "description"}


def load_queues(ld: Loading, entries: list[dict[str, Any]]) -> None:
    _no_repeats(ld, "queues", entries, "slug")
    for i, e in enumerate(entries):
        where = ld.where("queues", i, e, "slug")
        _known(e, QUEUE_KEYS, where)
        _require(e, ("slug",), where)
        try:
            row = ld.ctx.conn.execute(select(QUEUE.c.id).where(QUEUE.c.slug == e["slug"])).first()
            if row:
                wf = ld.ctx.conn.execute(
                    select(WORKFLOW.c.id).where(WORKFLOW.c.name == e.get("workflow", "default"))
                ).first()
                if wf is None:
                    raise ValidationError(f"no workflow {e.get('workflow')!r}")
                ld.ctx.conn.execute(
                    update(QUEUE)
                    .where(QUEUE.c.id == row[0])
                    .values(
                        name=e.get("name", e["slug"]),
                        triage_owner_id=item_svc.person_id(ld.ctx, e["triage_owner"])
                        if e.get("triage_owner")
                        else None,
                        wip_limit=e.get("wip_limit"),
                        description=e.get("description", ""),
                        workflow_id=wf[0],
                    )
                )
            else:
                people_svc.add_queue_in(ld.ctx, **e)
        except OpsError as exc:
            raise LoadError(f"{where}: {exc}") from None
    ld.report.counts["queues"] = len(entries)


def load_calendars(ld: Loading, entries: list[dict[str, Any]]) -> None:
    from .sla import load_calendar_entry

    for i, e in enumerate(entries):
        load_calendar_entry(ld, ld.where("calendars", i, e), e)
    ld.report.counts["calendars"] = len(entries)


def load_sla_policies(ld: Loading, entries: list[dict[str, Any]]) -> None:
    from .sla import load_policy_entry

    for i, e in enumerate(entries):
        load_policy_entry(ld, ld.where("sla_policies", i, e), e, i)
    ld.report.counts["sla_policies"] = len(entries)


def load_processes(ld: Loading, entries: list[dict[str, Any]]) -> None:
    from .automation import load_process_entry

    for i, e in enumerate(entries):
        load_process_entry(ld, ld.where("processes", i, e, "key"), e)
    ld.report.counts["processes"] = len(entries)


ITEM_KEYS = {
    "ref",
    "queue",
    "title",
    "body",
    "kind",
    "priority",
    "owner",
    "estimate",
    "requester",
    "created",
    "due",
    "status",
    "history",
    "blocked_by",
    "parent",
    "approval",
}
STEP_KEYS = {"at", "by", "to", "assign", "comment", "priority", "estimate", "title"}


def _as_actor(ld: Loading, handle: str | None, where: str) -> None:
    ctx = ld.ctx
    if not handle:
        ctx.unix_user, ctx.person_id = ld.ctx.db.unix_user, ld.ctx.db.person_id(ctx.conn)
        return
    row = ctx.conn.execute(
        select(PERSON.c.id, PERSON.c.login).where(PERSON.c.handle == handle)
    ).first()
    if row is None:
        raise LoadError(f"{where}: by {handle!r} is not a person")
    ctx.unix_user, ctx.person_id = row.login or handle, row.id


def load_items(ld: Loading, entries: list[dict[str, Any]]) -> None:
    """Items and their history, replayed in time order through the service functions."""
    ctx = ld.ctx
    steps: list[tuple[datetime, int, int, Callable[[], None]]] = []
    refs: dict[str, str] = {}
    keys: dict[int, str] = {}
    seq = 0
    load_time = ctx.now
    for i, e in enumerate(entries):
        where = ld.where("items", i, e, "title")
        _known(e, ITEM_KEYS, where)
        _require(e, ("queue", "title"), where)
        created = ld.when(e["created"], where, "created") if e.get("created") else load_time
        due = ld.when(e["due"], where, "due") if e.get("due") else None

        def create(
            i: int = i,
            e: dict[str, Any] = e,
            where: str = where,
            created: datetime = created,
            due: datetime | None = due,
        ) -> None:
            try:
                rec = item_svc.create_item_in(
                    ctx,
                    queue=e["queue"],
                    title=e["title"],
                    body=e.get("body", ""),
                    kind=e.get("kind", "task"),
                    priority=e.get("priority", 3),
                    owner=e.get("owner") or None,
                    estimate=e.get("estimate"),
                    requester=e.get("requester", ""),
                    due_at=due,
                    created_at=created,
                )
            except OpsError as exc:
                raise LoadError(f"{where}: {exc}") from None
            keys[i] = rec.key
            if e.get("ref"):
                refs[e["ref"]] = rec.key
            ld.report.items.append(rec.key)

        steps.append((created, seq, i, create))
        seq += 1
        last = created
        for j, step in enumerate(e.get("history", [])):
            swhere = f"{where} history[{j}]"
            _known(step, STEP_KEYS, swhere)
            at = ld.when(step.get("at"), swhere, "at") if step.get("at") else last
            if at < last:
                raise LoadError(f"{swhere}: at {at.isoformat()} is before the step before it")
            last = at

            def apply(i: int = i, step: dict[str, Any] = step, swhere: str = swhere) -> None:
                _as_actor(ld, step.get("by"), swhere)
                try:
                    item = item_svc.item_for_update(ctx, keys[i])
                    if "to" in step:
                        item_svc.transition_in(ctx, item, step["to"])
                    elif "assign" in step:
                        item_svc.assign_in(ctx, item, step["assign"] or None)
                    elif "comment" in step:
                        item_svc.comment_in(ctx, item, step["comment"])
                    else:
                        fields = {
                            k: step[k] for k in ("priority", "estimate", "title") if k in step
                        }
                        if not fields:
                            raise ValidationError(
                                "a history step needs to, assign, comment, priority, estimate or title"
                            )
                        changes, events = {}, []
                        for name, value in fields.items():
                            column, clean = item_svc.EDITABLE[name]
                            changes[column] = clean(value)
                            events.append((name, getattr(item, column), changes[column]))
                        item_svc.update_item(ctx, item, changes, events)
                except OpsError as exc:
                    raise LoadError(f"{swhere}: {exc}") from None
                finally:
                    _as_actor(ld, None, swhere)

            steps.append((at, seq, i, apply))
            seq += 1
    saved_now = ctx.now
    saved_replay = ctx.replay
    ctx.replay = True
    try:
        for at, _seq, _i, fn in sorted(steps, key=lambda s: (s[0], s[1])):
            ctx.now = at
            fn()
    finally:
        ctx.now = saved_now
        ctx.replay = saved_replay
    for i, e in enumerate(entries):
        where = ld.where("items", i, e, "title")
        for ref in e.get("blocked_by", []):
            if ref not in refs:
                raise LoadError(f"{where}: blocked_by {ref!r} names no item ref in this file")
            blocker = item_svc.item_for_update(ctx, refs[ref])
            item = item_svc.item_for_update(ctx, keys[i])
            ctx.conn.execute(LINK.insert().values(src_id=blocker.id, dst_id=item.id, kind="blocks"))
            ctx.record("blocked_by", None, blocker.key, item_id=item.id, item_version=item.version)
        if e.get("parent"):
            if e["parent"] not in refs:
                raise LoadError(f"{where}: parent {e['parent']!r} names no item ref in this file")
            parent = item_svc.item_for_update(ctx, refs[e["parent"]])
            ctx.conn.execute(update(ITEM).where(ITEM.c.key == keys[i]).values(parent_id=parent.id))
            ctx.conn.execute(
                LINK.insert().values(
                    src_id=parent.id,
                    dst_id=item_svc.item_for_update(ctx, keys[i]).id,
                    kind="followup",
                )
            )
        if e.get("approval"):
            from .automation import request_approval_in

            item = item_svc.item_for_update(ctx, keys[i])
            request_approval_in(ctx, item, str(e["approval"]), note="loaded")
    ld.report.counts["items"] = len(entries)


LOADERS: dict[str, Callable[[Loading, list[dict[str, Any]]], None]] = {
    "people": load_people,
    "workflows": load_workflows,
    "queues": load_queues,
    "calendars": load_calendars,
    "sla_policies": load_sla_policies,
    "processes": load_processes,
    "items": load_items,
}


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise LoadError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise LoadError(f"{path}: is a directory") from None
    except PermissionError:
        raise LoadError(f"{path}: permission denied") from None
    except tomllib.TOMLDecodeError as exc:
        raise LoadError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise LoadError(f"{path}: not UTF-8 text") from None
    return data


def load_file(
    db: Database, path: str | Path, *, shift: timedelta = timedelta(0), dry_run: bool = False
) -> LoadReport:
    """Load a TOML file all-or-nothing.  ``shift`` moves every time in the file."""
    path = Path(path)
    data = read_toml(path)
    return load_data(db, data, source=path.name, shift=shift, dry_run=dry_run)


def load_data(
    db: Database,
    data: dict[str, Any],
    *,
    source: str = "<data>",
    shift: timedelta = timedelta(0),
    dry_run: bool = False,
) -> LoadReport:
    unknown = sorted(set(data) - set(SECTIONS) - {"anchor", "description"})
    if unknown:
        raise LoadError(
            f"{source}: unknown section {unknown[0]!r} (sections: {', '.join(SECTIONS)})"
        )
    for name in SECTIONS:
        if name in data and not isinstance(data[name], list):
            raise LoadError(f"{source}: {name} must be an array of tables ([[{name}]])")
    report = LoadReport()
    with writing(db, dry_run=dry_run) as ctx:
        ld = Loading(ctx=ctx, source=source, shift=shift, report=report)
        for name in SECTIONS:
            if data.get(name):
                LOADERS[name](ld, data[name])
            if name == "queues" and any(data.get(s) for s in ("people", "workflows", "queues")):
                # actions name queues and people: check them once both are loaded
                validate_workflow_actions(ld)
        if data.get("sla_policies") or data.get("calendars"):
            from .sla import recompute_in

            recompute_in(ctx)  # open items already in the file follow the new rules at once
        ctx.record("load", None, f"{source}: {report.summary()}", entity="load")
    db.forget_person()
    return report


def anchor_of(path: str | Path) -> datetime | None:
    data = read_toml(Path(path))
    if "anchor" not in data:
        return None
    value = data["anchor"]
    return parse_instant(value.isoformat() if isinstance(value, datetime) else str(value))
