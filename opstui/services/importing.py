"""Importing another tool's work: resolve the mapping, plan, validate, then write in
short batches.

The run is planned and checked in full before anything is written: every source row
that cannot be used (an unmapped state, group or priority, a move the workflow does not
allow, a bad date) is reported with file, line and reason and nothing is written.  The
writes then go in transactions of about a quarter of a second each, so that another
terminal's change waits at most about that long.  If a write fails midway (a full disk),
the items this run created are removed again; changes a re-import made to existing items
in earlier batches stay (each is a complete, recorded change) and running the import
again completes it, since a re-import skips what is there.

Replay rules, the same as a live change (``services.items``): a snapshot's changes are
applied in the order queue (a transfer), state, owner, priority, title, named fields; each
is its own event with the snapshot's time and actor and bumps the item's version; leaving
a ``new`` state sets the first response, entering ``done`` sets the resolution time,
leaving ``done`` clears it; a comment by anyone but the requester is a first response; a
transfer to a queue under another SLA policy starts that policy's clock at the move.
New items are replayed in memory and written in bulk (a test checks that this gives the
same items and events as the service functions); changes to items that exist go through
the service functions themselves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select, update

from ..domain import models
from ..domain.sla import match_policy
from ..importers.mapping import KEEP, Mapping, QueueMap, StateMap, derive_prefix, unique_names
from ..importers.model import INITIAL, ImportError_, Problem, Snapshot, Source, SourceItem
from ..store.bulk import insert_many
from ..store.engine import Database
from . import items as item_svc
from .context import Ctx, display, writing
from .sla import _sla_update, load_rules, refresh_item_sla

ITEM = models.Item.__table__
QUEUE = models.Queue.__table__
PERSON = models.Person.__table__
WORKFLOW = models.Workflow.__table__
STATE = models.WorkflowState.__table__
TRANSITION = models.WorkflowTransition.__table__
EVENT = models.Event.__table__
COMMENT = models.Comment.__table__
POLICY = models.SlaPolicy.__table__

#: How long one write transaction should hold the lock before it commits (batch sizes
#: adapt to it).
BATCH_SECONDS = 0.5
#: The gap between two batches.  SQLite's busy handler lets a waiting writer retry every
#: 100 ms at most, so a gap shorter than that can starve it; the next batch is replayed
#: in memory during the gap, so little of it is idle.
YIELD_SECONDS = 0.11
#: Order of a snapshot's changes (documented in the README).
CHANGE_ORDER = ("queue", "status", "owner", "priority", "title")


# --- the mapping, resolved against the database ---------------------------------------


@dataclass
class Resolved:
    mapping: Mapping
    workflow: str
    workflow_exists: bool
    initial_state: str
    #: our state name -> category, for every state of the workflow (existing or to create)
    wf_states: dict[str, str]
    #: (from, to) pairs the workflow allows; ``*`` as from means any state
    transitions: set[tuple[str, str]]
    states: dict[str, str]
    queues: dict[str, QueueMap]
    new_queues: list[QueueMap]
    priorities: dict[str, int]
    people: dict[str, str]
    new_people: list[tuple[str, str]]
    notes: list[str] = field(default_factory=list)

    def allows(self, old: str, new: str) -> bool:
        return (old, new) in self.transitions or ("*", new) in self.transitions


NO_GROUP = ""


def _labels(source: Source) -> dict[str, dict[Any, tuple[int, int]]]:
    """Every source label per kind, with its first line and how often it occurs."""
    seen: dict[str, dict[Any, tuple[int, int]]] = {
        "states": {},
        "queues": {},
        "priorities": {},
        "people": {},
    }

    def add(kind: str, label: Any, line: int) -> None:
        first, n = seen[kind].get(label, (line, 0))
        seen[kind][label] = (first, n + 1)

    for item in source.items:
        for s in item.snapshots:
            if s.state != INITIAL:
                add("states", s.state, s.line)
            add("queues", s.group or NO_GROUP, s.line)
            if s.priority is not None:
                add("priorities", s.priority, s.line)
            if s.assignee is not None:
                add("people", s.assignee, s.line)
    return seen


def resolve(
    conn: Connection,
    source: Source,
    mapping: Mapping,
    default_states: dict[str, StateMap],
    default_priorities: dict[str, int],
) -> tuple[Resolved, list[Problem]]:
    """Turn the mapping (explicit sections, derived defaults for the others) into what
    the write path needs; list every source label that maps to nothing."""
    problems: list[Problem] = []
    notes: list[str] = []
    labels = _labels(source)
    mfile = mapping.file or "the mapping"
    used = Mapping(**{**mapping.__dict__})

    # workflow and states
    wf_name = mapping.workflow or source.system
    wf = conn.execute(select(WORKFLOW).where(WORKFLOW.c.name == wf_name)).first()
    wf_states: dict[str, str] = {}
    transitions: set[tuple[str, str]] = set()
    if wf is not None:
        wf_states = {
            r.name: r.category
            for r in conn.execute(
                select(STATE.c.name, STATE.c.category)
                .where(STATE.c.workflow_id == wf.id)
                .order_by(STATE.c.position, STATE.c.id)
            )
        }
        transitions = {
            (r.from_state, r.to_state)
            for r in conn.execute(
                select(TRANSITION.c.from_state, TRANSITION.c.to_state).where(
                    TRANSITION.c.workflow_id == wf.id
                )
            )
        }
    states: dict[str, str] = {}
    state_maps: dict[str, StateMap] = {}
    for label, (line, n) in sorted(labels["states"].items(), key=lambda kv: kv[1][0]):
        if mapping.states is not None:
            sm = mapping.states.get(label)
            if sm is None:
                problems.append(
                    Problem(
                        source.file,
                        line,
                        f"state {label!r} ({n} rows) is not in [states] of {mfile}",
                    )
                )
                continue
        else:
            sm = default_states.get(label)
            hint = source.state_hints.get(label)
            if sm is None and hint:
                from ..importers.mapping import derive_name

                sm = StateMap(derive_name(label, "s").replace("-", "_"), hint)
                notes.append(f"state {label!r} -> {sm.state} ({hint}, from its status category)")
            if sm is None:
                problems.append(
                    Problem(
                        source.file,
                        line,
                        f"state {label!r} ({n} rows) has no default mapping: map it in "
                        "[states] of a mapping file (--mapping; --write-mapping writes one)",
                    )
                )
                continue
        state_maps[label] = sm
        if sm.state == KEEP:
            states[label] = KEEP
            continue
        if wf is not None:
            cat = wf_states.get(sm.state)
            if cat is None:
                problems.append(
                    Problem(
                        source.file,
                        line,
                        f"state {label!r} maps to {sm.state!r}, which workflow {wf_name!r} "
                        f"does not have (states: {', '.join(wf_states)})",
                    )
                )
                continue
            if sm.category is not None and sm.category != cat:
                problems.append(
                    Problem(
                        source.file,
                        line,
                        f"state {label!r} maps to {sm.state!r} as {sm.category}, but it is "
                        f"{cat} in workflow {wf_name!r}",
                    )
                )
                continue
        else:
            if sm.category is None:
                problems.append(
                    Problem(
                        source.file,
                        line,
                        f"state {label!r}: give its category (workflow {wf_name!r} is new)",
                    )
                )
                continue
            if wf_states.get(sm.state, sm.category) != sm.category:
                problems.append(
                    Problem(
                        source.file,
                        line,
                        f"state {sm.state!r} is mapped with two categories",
                    )
                )
                continue
            wf_states.setdefault(sm.state, sm.category)
        states[label] = sm.state
    used.states = state_maps
    if wf is None:
        # The source is the authority on its history: any state may follow any other.
        transitions = {("*", s) for s in wf_states}
        initial = next((s for s, c in wf_states.items() if c == "new"), None)
        initial = initial or next(iter(wf_states), "new")
        if wf_states:
            notes.append(
                f"workflow {wf_name!r} created: "
                + ", ".join(f"{s} ({c})" for s, c in wf_states.items())
            )
    else:
        initial = str(wf.initial_state)

    # queues
    existing_queues = {
        r.slug: r for r in conn.execute(select(QUEUE.c.slug, QUEUE.c.prefix, QUEUE.c.workflow_id))
    }
    prefixes = {r.prefix for r in existing_queues.values()}
    queues: dict[str, QueueMap] = {}
    group_labels = sorted(labels["queues"], key=lambda g: labels["queues"][g][0])
    if mapping.queues is not None:
        for g in group_labels:
            qm = mapping.queues.get(g)
            if qm is None:
                line, n = labels["queues"][g]
                shown = repr(g) if g else "(no group)"
                hint = ' (key "" maps rows without one)' if not g else ""
                problems.append(
                    Problem(
                        source.file,
                        line,
                        f"group {shown} ({n} rows) is not in [queues] of {mfile}{hint}",
                    )
                )
                continue
            queues[g] = qm
    else:
        derived, clashes = unique_names([g for g in group_labels if g], set(), "q")
        for g in group_labels:
            slug = derived[g] if g else "unassigned"
            queues[g] = QueueMap(slug, g or "Unassigned", None)
        for c in clashes:
            notes.append(f"queue slug collision resolved: {c}")
    new_queues: list[QueueMap] = []
    seen_new: set[str] = set()
    for g, qm in list(queues.items()):
        row = existing_queues.get(qm.slug)
        if row is not None:
            if wf is None or row.workflow_id != wf.id:
                problems.append(
                    Problem(
                        source.file,
                        labels["queues"][g][0],
                        f"queue {qm.slug!r} exists with another workflow than {wf_name!r}; "
                        "map the group to a queue of that workflow or name its workflow "
                        "with [import] workflow",
                    )
                )
            continue
        if qm.slug in seen_new:
            continue
        seen_new.add(qm.slug)
        prefix = (qm.prefix or "").upper() or derive_prefix(qm.name, prefixes)
        if qm.prefix:
            if prefix in prefixes:
                problems.append(Problem(mfile, None, f"[queues] prefix {prefix!r} is taken"))
            prefixes.add(prefix)
        qm = QueueMap(qm.slug, qm.name, prefix)
        queues[g] = qm
        new_queues.append(qm)
    for g, qm in queues.items():  # groups mapped to a queue created above share its prefix
        match = next((n for n in new_queues if n.slug == qm.slug), None)
        if match is not None:
            queues[g] = match
    used.queues = dict(queues)
    if new_queues:
        notes.append(
            f"{len(new_queues)} queues created: "
            + ", ".join(f"{q.slug} ({q.name!r}, {q.prefix})" for q in new_queues[:8])
            + (", ..." if len(new_queues) > 8 else "")
        )

    # priorities
    priorities: dict[str, int] = {}
    table = mapping.priorities if mapping.priorities is not None else default_priorities
    for label, (line, n) in sorted(labels["priorities"].items(), key=lambda kv: kv[1][0]):
        if label in table:
            priorities[label] = table[label]
        else:
            where = f"[priorities] of {mfile}" if mapping.priorities is not None else "the defaults"
            problems.append(
                Problem(source.file, line, f"priority {label!r} ({n} rows) is not in {where}")
            )
    used.priorities = dict(priorities)

    # people
    existing_people = {
        r.handle: r.name for r in conn.execute(select(PERSON.c.handle, PERSON.c.name))
    }
    by_name = {name: handle for handle, name in existing_people.items()}
    people: dict[str, str] = {}
    new_people: list[tuple[str, str]] = []
    names = sorted(labels["people"], key=lambda p: labels["people"][p][0])
    if mapping.people is not None:
        for p in names:
            h = mapping.people.get(p)
            if h is None:
                line, n = labels["people"][p]
                problems.append(
                    Problem(
                        source.file, line, f"person {p!r} ({n} rows) is not in [people] of {mfile}"
                    )
                )
                continue
            people[p] = h
    else:
        reuse = {p: by_name[p] for p in names if p in by_name}
        derived, clashes = unique_names(
            [p for p in names if p not in reuse], set(existing_people), "u"
        )
        people = {**reuse, **derived}
        if reuse:
            notes.append(f"{len(reuse)} people matched by name to existing handles")
        for c in clashes:
            notes.append(f"handle collision resolved: {c}")
    seen_h: set[str] = set()
    for p, h in people.items():
        if h not in existing_people and h not in seen_h:
            seen_h.add(h)
            new_people.append((h, p))
    if new_people:
        notes.append(
            f"{len(new_people)} people created: "
            + ", ".join(f"{h} ({n!r})" for h, n in new_people[:6])
            + (", ..." if len(new_people) > 6 else "")
        )
    used.people = dict(people)
    if mapping.keep_fields is None:
        used.keep_fields = list(source.kept_fields)
    res = Resolved(
        mapping=used,
        workflow=wf_name,
        workflow_exists=wf is not None,
        initial_state=initial,
        wf_states=wf_states,
        transitions=transitions,
        states=states,
        queues=queues,
        new_queues=new_queues,
        priorities=priorities,
        people=people,
        new_people=new_people,
        notes=notes,
    )
    return res, problems


# --- planning: what each source item becomes -------------------------------------------


@dataclass
class Op:
    at: datetime
    actor: str | None
    line: int
    field: str
    old: Any
    new: Any


@dataclass
class Values:
    """An item's mapped values at one moment (ours: slugs, handles, 1..4)."""

    status: str
    queue: str
    owner: str | None
    priority: int
    title: str
    fields: dict[str, str]

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "queue": self.queue,
            "owner": self.owner,
            "priority": self.priority,
            "title": self.title,
        }


@dataclass
class ItemPlan:
    src: SourceItem
    action: str  # create / update / skip
    item_id: int | None = None
    key: str | None = None
    start: Values | None = None
    start_at: datetime | None = None
    start_actor: str | None = None
    ops: list[Op] = field(default_factory=list)
    final: Values | None = None
    rev: tuple[str, int] | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    comments_total: int = 0


def _mapped(res: Resolved, snap: Snapshot, prev: Values | None, title: str) -> Values:
    label = snap.state
    if label == INITIAL:
        status = res.initial_state
    else:
        mapped = res.states[label]
        if mapped == KEEP:
            if prev is None:
                raise ValueError(f"the first row is in state {label!r}, which is mapped to keep")
            status = prev.status
        else:
            status = mapped
    return Values(
        status=status,
        queue=res.queues[snap.group or NO_GROUP].slug,
        owner=res.people[snap.assignee] if snap.assignee is not None else None,
        priority=res.priorities[snap.priority] if snap.priority is not None else 3,
        title=(snap.title or title)[: item_svc.MAX_TITLE],
        fields=snap.fields,  # shared, never changed: equal rows share one dict
    )


def diff(prev: Values, new: Values, at: datetime, actor: str | None, line: int) -> list[Op]:
    ops: list[Op] = []
    if new.queue != prev.queue:
        ops.append(Op(at, actor, line, "queue", prev.queue, new.queue))
    if new.status != prev.status:
        ops.append(Op(at, actor, line, "status", prev.status, new.status))
    if new.owner != prev.owner:
        ops.append(Op(at, actor, line, "owner", prev.owner, new.owner))
    if new.priority != prev.priority:
        ops.append(Op(at, actor, line, "priority", prev.priority, new.priority))
    if new.title != prev.title:
        ops.append(Op(at, actor, line, "title", prev.title, new.title))
    if prev.fields is new.fields or prev.fields == new.fields:
        return ops
    for name in sorted(set(prev.fields) | set(new.fields)):
        if prev.fields.get(name) != new.fields.get(name):
            ops.append(
                Op(at, actor, line, f"source:{name}", prev.fields.get(name), new.fields.get(name))
            )
    return ops


def _values_from_json(data: dict[str, Any], fields: dict[str, str]) -> Values:
    return Values(
        status=data["status"],
        queue=data["queue"],
        owner=data.get("owner"),
        priority=int(data["priority"]),
        title=data["title"],
        fields=dict(fields),
    )


def plan_items(
    res: Resolved, source: Source, existing: dict[str, dict[str, Any]]
) -> tuple[list[ItemPlan], list[Problem]]:
    """Plan each item and check every step against the workflow (no writes)."""
    plans: list[ItemPlan] = []
    problems: list[Problem] = []
    for src in source.items:
        old = existing.get(src.key)
        stored = (old or {}).get("source") or {}
        try:
            if old is None:
                plan = ItemPlan(src, "create")
                first = src.snapshots[0]
                prev = _mapped(res, first, None, src.title)
                plan.start, plan.start_at, plan.start_actor = prev, src.created, src.creator
                todo = src.snapshots
                # The first row is the item as created unless it is later than creation:
                # then creation is in the first row's values and the row's own changes
                # (none) follow at its time.
                comments = src.comments
            else:
                plan = ItemPlan(src, "update", item_id=old["id"], key=old["key"])
                prev = _values_from_json(stored["last"], stored.get("fields", {}))
                rev = tuple(stored.get("rev") or ("", -1))
                todo = [s for s in src.snapshots if s.rev > rev]  # type: ignore[operator]
                comments = src.comments[int(stored.get("comments", 0)) :]
            plan.comments_total = len(src.comments)
            steps: list[tuple[datetime, int, Op]] = []
            seq = 0
            for snap in todo:
                cur = _mapped(res, snap, prev, src.title)
                for op in diff(prev, cur, snap.at, snap.actor, snap.line):
                    steps.append((op.at, seq, op))
                    seq += 1
                prev = cur
                plan.facts.update(snap.facts)
                plan.rev = snap.rev
            for c in comments:
                steps.append((c.at, seq, Op(c.at, c.author, c.line, "comment", None, c.body)))
                seq += 1
            steps.sort(key=lambda s: (s[0], s[1]))
            plan.ops = [s[2] for s in steps]
            plan.final = prev
            if old is not None and not plan.ops and plan.rev is None and not comments:
                plan.action = "skip"
            elif old is not None and not plan.ops:
                plan.action = "refresh"  # newer rows that change nothing of ours
        except ValueError as exc:
            problems.append(Problem(source.file, src.line, f"{src.key}: {exc}"))
            continue
        # Check each state change against the workflow, from where the item will be.
        status = (
            plan.start.status if plan.start is not None else (old or {}).get("status", prev.status)
        )
        for op in plan.ops:
            if op.field != "status":
                continue
            if not res.allows(status, op.new):
                problems.append(
                    Problem(
                        source.file,
                        op.line,
                        f"{src.key}: workflow {res.workflow!r} does not allow {status} -> {op.new}",
                    )
                )
                break
            status = op.new
        plans.append(plan)
    return plans, problems


# --- the report --------------------------------------------------------------------------


@dataclass
class ImportReport:
    system: str
    file: str
    rows: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    events: int = 0
    dry_run: bool = False
    seconds: float = 0.0
    batches: int = 0
    notes: list[str] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    kept_fields: list[str] = field(default_factory=list)
    unused_columns: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    mapping: Mapping | None = None

    def summary(self) -> str:
        verb = "would create" if self.dry_run else "created"
        upd = "would update" if self.dry_run else "updated"
        return (
            f"{self.file}: {self.rows} rows; {verb} {self.created} items, {upd} "
            f"{self.updated}, {self.unchanged} unchanged"
            + (f", {len(self.skipped)} rows skipped" if self.skipped else "")
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "file": self.file,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "events": self.events,
            "dry_run": self.dry_run,
            "seconds": round(self.seconds, 3),
            "batches": self.batches,
            "notes": self.notes,
            "skipped": [str(p) for p in self.skipped],
            "kept_fields": self.kept_fields,
            "unused_columns": self.unused_columns,
            "items": self.lines,
        }


Progress = Callable[[int, int], None]


def _existing(conn: Connection, keys: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        for r in conn.execute(
            select(ITEM.c.id, ITEM.c.key, ITEM.c.external_key, ITEM.c.status, ITEM.c.data).where(
                ITEM.c.external_key.in_(chunk)
            )
        ):
            out[r.external_key] = {
                "id": r.id,
                "key": r.key,
                "status": r.status,
                "source": (r.data or {}).get("source"),
            }
    return out


def run_import(
    db: Database,
    source: Source,
    mapping: Mapping,
    *,
    default_states: dict[str, StateMap],
    default_priorities: dict[str, int],
    dry_run: bool = False,
    progress: Progress | None = None,
    bulk: bool = True,
) -> ImportReport:
    """Import ``source`` all-or-nothing (see the module doc).  Raises ImportError_ with
    every refused row when any row cannot be used."""
    started = time.perf_counter()
    errors = [p for p in source.problems if p.severity == "error"]
    report = ImportReport(
        system=source.system,
        file=source.file,
        rows=source.rows,
        dry_run=dry_run,
        notes=list(source.notes),
        skipped=[p for p in source.problems if p.severity != "error"],
        kept_fields=list(source.kept_fields),
        unused_columns=list(source.unused_columns),
    )
    with db.read() as conn:
        res, problems = resolve(conn, source, mapping, default_states, default_priorities)
        errors += problems
        report.mapping = res.mapping
        if errors:
            _refuse(source, errors)
        existing = _existing(conn, [i.key for i in source.items])
    plans, problems = plan_items(res, source, existing)
    errors += problems
    if errors:
        _refuse(source, errors)
    report.notes += res.notes
    for p in plans:
        if p.action == "create":
            report.created += 1
            report.lines.append(
                f"create {p.src.key}: {p.final.queue if p.final else '-'} "
                f"{p.final.status if p.final else '-'}, {len(p.ops)} changes"
            )
        elif p.action in ("update", "refresh"):
            report.updated += p.action == "update"
            report.unchanged += p.action == "refresh"
            if p.action == "update":
                report.lines.append(
                    f"update {p.src.key} ({p.key}): "
                    + ", ".join(
                        f"{o.field} {display(o.old) or '-'} -> {display(o.new) or '-'}"
                        if o.field != "comment"
                        else "comment"
                        for o in p.ops[:6]
                    )
                )
        else:
            report.unchanged += 1
    report.events = sum(len(p.ops) for p in plans) + report.created
    if dry_run:
        report.seconds = time.perf_counter() - started
        return report
    _write(db, source, res, plans, report, progress, bulk)
    report.seconds = time.perf_counter() - started
    return report


def _refuse(source: Source, errors: list[Problem]) -> None:
    errors = sorted(errors, key=lambda p: (p.file, p.line or 0))
    raise ImportError_(
        f"{source.file}: {len(errors)} problem{'s' if len(errors) != 1 else ''}, nothing "
        f"imported (first: {errors[0]})",
        errors,
    )


# --- writing --------------------------------------------------------------------------


@dataclass
class _Setup:
    workflow_id: int
    workflow_created: bool
    queue_ids: dict[str, int]
    created_queues: list[int]
    person_ids: dict[str, int]
    created_people: list[int]


def _setup(ctx: Ctx, res: Resolved) -> _Setup:
    from . import people as people_svc

    conn = ctx.conn
    wf = conn.execute(select(WORKFLOW.c.id).where(WORKFLOW.c.name == res.workflow)).first()
    created_wf = wf is None
    if wf is None:
        wf_id = conn.execute(
            WORKFLOW.insert().values(
                name=res.workflow,
                initial_state=res.initial_state,
                description=f"made by an import from {res.workflow}: any state may follow any",
            )
        ).inserted_primary_key[0]
        conn.execute(
            STATE.insert(),
            [
                {"workflow_id": wf_id, "name": s, "label": "", "category": c, "position": i}
                for i, (s, c) in enumerate(res.wf_states.items())
            ],
        )
        conn.execute(
            TRANSITION.insert(),
            [
                {"workflow_id": wf_id, "from_state": "*", "to_state": s, "name": "", "actions": []}
                for s in res.wf_states
            ],
        )
        ctx.record("loaded", None, res.workflow, entity="workflow", entity_id=wf_id)
    else:
        wf_id = wf[0]
    created_queues = []
    for qm in res.new_queues:
        created_queues.append(
            people_svc.add_queue_in(
                ctx, slug=qm.slug, name=qm.name, prefix=qm.prefix, workflow=res.workflow
            )
        )
    created_people = []
    for handle, name in res.new_people:
        created_people.append(people_svc.add_person_in(ctx, handle=handle, name=name))
    queue_ids = {r.slug: r.id for r in conn.execute(select(QUEUE.c.slug, QUEUE.c.id))}
    person_ids = {r.handle: r.id for r in conn.execute(select(PERSON.c.handle, PERSON.c.id))}
    if res.mapping.pause_waiting:
        _pause_in_waiting_states(ctx, res)
    return _Setup(wf_id, created_wf, queue_ids, created_queues, person_ids, created_people)


def _pause_in_waiting_states(ctx: Ctx, res: Resolved) -> None:
    """Waiting states of the import's workflow pause the SLA clock of every policy that
    can apply to the imported queues (``[import] pause_waiting = false`` turns this off)."""
    waiting = [s for s, c in res.wf_states.items() if c == "waiting"]
    if not waiting:
        return
    slugs = {q.slug for q in res.queues.values()}
    qids = {r.id for r in ctx.conn.execute(select(QUEUE.c.id).where(QUEUE.c.slug.in_(slugs)))}
    for pol in ctx.conn.execute(
        select(POLICY.c.id, POLICY.c.name, POLICY.c.queue_id, POLICY.c.pause_in)
    ):
        if pol.queue_id is not None and pol.queue_id not in qids:
            continue
        have = list(pol.pause_in or [])
        add = [s for s in waiting if s not in have]
        if add:
            ctx.conn.execute(
                update(POLICY).where(POLICY.c.id == pol.id).values(pause_in=have + add)
            )
            ctx.record(
                "pause_in",
                ", ".join(have) or None,
                ", ".join(have + add),
                entity="sla",
                entity_id=pol.id,
            )


def _source_data(plan: ItemPlan, source: Source, base: dict[str, Any] | None) -> dict[str, Any]:
    old = dict((base or {}).get("source") or {})
    facts = {**old.get("facts", {}), **plan.facts}
    assert plan.final is not None
    return {
        **(base or {}),
        "source": {
            "system": source.system,
            "key": plan.src.key,
            "file": source.file,
            "rev": list(plan.rev) if plan.rev else old.get("rev"),
            "fields": dict(plan.final.fields),
            "facts": facts,
            "last": plan.final.as_json(),
            "comments": plan.comments_total,
        },
    }


def _write(
    db: Database,
    source: Source,
    res: Resolved,
    plans: list[ItemPlan],
    report: ImportReport,
    progress: Progress | None,
    bulk: bool,
) -> None:
    todo = [p for p in plans if p.action != "skip"]
    total = len(todo)
    created_ids: list[int] = []
    setup: _Setup | None = None
    try:
        with writing(db) as ctx:
            setup = _setup(ctx, res)
            writer = _BulkWriter(ctx, source, res, setup)
        done = 0
        size = 200
        if progress:
            progress(0, total)
        committed = time.perf_counter()
        while done < total:
            chunk = todo[done : done + size]
            creates = [p for p in chunk if p.action == "create"]
            # Replay in memory outside the transaction, while other writers get their turn.
            prepared = writer.prepare(creates) if bulk else None
            gap = YIELD_SECONDS - (time.perf_counter() - committed)
            if gap > 0 and done:
                time.sleep(gap)
            started = time.perf_counter()
            with writing(db) as ctx:
                ctx.replay = True
                if prepared is not None:
                    created_ids += writer.write(ctx, prepared)
                else:
                    for p in creates:
                        created_ids.append(_create_with_services(ctx, source, res, p))
                for p in chunk:
                    if p.action in ("update", "refresh"):
                        _update_with_services(ctx, source, res, p)
            committed = time.perf_counter()
            spent = committed - started
            size = max(10, min(5000, int(len(chunk) * BATCH_SECONDS / max(spent, 0.001))))
            done += len(chunk)
            report.batches += 1
            if progress:
                progress(done, total)
        with writing(db) as ctx:
            ctx.record(
                "import",
                None,
                f"{source.system} {source.file}: {report.created} created, "
                f"{report.updated} updated, {report.unchanged} unchanged",
                entity="load",
            )
    except BaseException:
        _undo(db, created_ids, setup)
        raise
    finally:
        db.forget_person()


def _undo(db: Database, item_ids: list[int], setup: _Setup | None) -> None:
    """Remove what this run created (best effort: the original error is what is raised)."""
    try:
        with writing(db) as ctx:
            for i in range(0, len(item_ids), 500):
                chunk = item_ids[i : i + 500]
                ctx.conn.execute(delete(EVENT).where(EVENT.c.item_id.in_(chunk)))
                ctx.conn.execute(delete(ITEM).where(ITEM.c.id.in_(chunk)))
            if setup is not None:
                for qid in setup.created_queues:
                    ctx.conn.execute(delete(QUEUE).where(QUEUE.c.id == qid))
                for pid in setup.created_people:
                    ctx.conn.execute(delete(PERSON).where(PERSON.c.id == pid))
                if setup.workflow_created:
                    ctx.conn.execute(delete(WORKFLOW).where(WORKFLOW.c.id == setup.workflow_id))
    except Exception:  # noqa: BLE001  (the import's own error is the one to report)
        pass


def _as(ctx: Ctx, actor: str | None, person_ids: dict[str, int], res: Resolved) -> None:
    if actor is None:
        ctx.unix_user, ctx.person_id = ctx.db.unix_user, ctx.db.person_id(ctx.conn)
        return
    handle = res.people.get(actor)
    ctx.unix_user = actor
    ctx.person_id = person_ids.get(handle) if handle else None


def _apply_op(ctx: Ctx, item: Any, op: Op, source: Source) -> None:
    """One change through the service functions (as a live change would make it)."""
    if op.field == "queue":
        if item.queue != op.new:
            item_svc.transfer_in(ctx, item, op.new)
    elif op.field == "status":
        if item.status != op.new:
            item_svc.transition_in(ctx, item, op.new)
    elif op.field == "owner":
        if item.owner != op.new:
            item_svc.assign_in(ctx, item, op.new)
    elif op.field == "priority":
        if item.priority != op.new:
            item_svc.update_item(
                ctx, item, {"priority": op.new}, [("priority", f"P{item.priority}", f"P{op.new}")]
            )
    elif op.field == "title":
        if item.title != op.new:
            item_svc.update_item(
                ctx, item, {"title": item_svc.clean_title(op.new)}, [("title", item.title, op.new)]
            )
    elif op.field == "comment":
        item_svc.comment_in(ctx, item, op.new)
    elif op.field.startswith("source:"):
        name = op.field.removeprefix("source:")
        data = dict(item.data or {})
        src = dict(data.get("source") or {})
        fields = dict(src.get("fields") or {})
        if op.new is None:
            fields.pop(name, None)
        else:
            fields[name] = op.new
        src["fields"] = fields
        data["source"] = src
        item_svc.update_item(ctx, item, {"data": data}, [(op.field, op.old, op.new)])


def _settle_sla(ctx: Ctx, item_id: int) -> None:
    """After a replay, an open item's SLA states are as of now (not its last change)."""
    from .sla import apply_sla

    category = ctx.conn.execute(select(ITEM.c.category).where(ITEM.c.id == item_id)).scalar_one()
    if category != "done":
        saved = ctx.now
        ctx.now = ctx.db.clock.now()
        try:
            apply_sla(ctx, item_id)
        finally:
            ctx.now = saved


def _create_with_services(ctx: Ctx, source: Source, res: Resolved, plan: ItemPlan) -> int:
    """Create and replay one item through the service functions (the reference path)."""
    start = plan.start
    assert start is not None and plan.start_at is not None
    person_ids = {r.handle: r.id for r in ctx.conn.execute(select(PERSON.c.handle, PERSON.c.id))}
    ctx.now = plan.start_at
    _as(ctx, plan.start_actor, person_ids, res)
    rec = item_svc.create_item_in(
        ctx,
        queue=start.queue,
        title=start.title,
        body=plan.src.body,
        kind=plan.src.kind,
        priority=start.priority,
        owner=start.owner,
        estimate=plan.src.estimate_hours,
        requester=plan.src.requester or ctx.unix_user,
        due_at=plan.src.due,
        created_at=plan.start_at,
        status=start.status,
        data={"source": {"fields": dict(start.fields)}},
    )
    ctx.conn.execute(update(ITEM).where(ITEM.c.id == rec.id).values(external_key=plan.src.key))
    for op in plan.ops:
        ctx.now = op.at
        _as(ctx, op.actor, person_ids, res)
        _apply_op(ctx, item_svc.item_for_update(ctx, rec.key), op, source)
    _as(ctx, None, person_ids, res)
    _settle_sla(ctx, rec.id)
    item = item_svc.item_for_update(ctx, rec.key)
    ctx.conn.execute(
        update(ITEM).where(ITEM.c.id == rec.id).values(data=_source_data(plan, source, item.data))
    )
    return rec.id


def _update_with_services(ctx: Ctx, source: Source, res: Resolved, plan: ItemPlan) -> None:
    person_ids = {r.handle: r.id for r in ctx.conn.execute(select(PERSON.c.handle, PERSON.c.id))}
    assert plan.key is not None
    saved = ctx.now
    for op in plan.ops:
        ctx.now = op.at
        _as(ctx, op.actor, person_ids, res)
        _apply_op(ctx, item_svc.item_for_update(ctx, plan.key), op, source)
    _as(ctx, None, person_ids, res)
    ctx.now = saved
    item = item_svc.item_for_update(ctx, plan.key)
    _settle_sla(ctx, item.id)
    # Source bookkeeping (revision, facts): not a change of the item, so no event.
    ctx.conn.execute(
        update(ITEM).where(ITEM.c.id == item.id).values(data=_source_data(plan, source, item.data))
    )


_SLA_COLUMNS = (
    "next_due_at",
    "sla_check_at",
    "sla_fr_due",
    "sla_fr_state",
    "sla_fr_warn",
    "sla_paused_since",
    "sla_policy",
    "sla_res_due",
    "sla_res_start",
    "sla_res_state",
    "sla_res_warn",
)


_NEXT_NUMBER = (
    update(QUEUE).where(QUEUE.c.id == bindparam("w_id")).values(next_number=bindparam("v_number"))
)


@dataclass
class _Prepared:
    """New items replayed in memory; ids, keys and SLA are filled in under the lock."""

    items: list[dict[str, Any]]
    events: list[list[dict[str, Any]]]
    comments: list[list[dict[str, Any]]]
    statuses: list[list[tuple[datetime, str]]]


class _BulkWriter:
    """Replays new items in memory by the rules in the module doc and writes them with
    one statement per table per batch."""

    def __init__(self, ctx: Ctx, source: Source, res: Resolved, setup: _Setup):
        self.source = source
        self.res = res
        self.setup = setup
        self.rules = load_rules(ctx.conn)
        self.default_user = ctx.db.unix_user
        self.default_pid = ctx.db.person_id(ctx.conn)
        self.clock = ctx.db.clock

    def _policy(self, queue_id: int, kind: str, priority: int) -> str | None:
        p = match_policy(self.rules.policies, queue_id, kind, priority)
        return p.name if p else None

    def _who(self, actor: str | None) -> tuple[str, int | None]:
        if actor is None:
            return self.default_user, self.default_pid
        handle = self.res.people.get(actor)
        return actor, (self.setup.person_ids.get(handle) if handle else None)

    def prepare(self, plans: list[ItemPlan]) -> _Prepared:
        out = _Prepared([], [], [], [])
        for plan in plans:
            row, events, comments, statuses = self._replay(plan)
            out.items.append(row)
            out.events.append(events)
            out.comments.append(comments)
            out.statuses.append(statuses)
        return out

    def _replay(
        self, plan: ItemPlan
    ) -> tuple[
        dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[tuple[datetime, str]]
    ]:
        res = self.res
        start = plan.start
        assert start is not None and plan.start_at is not None
        qid = self.setup.queue_ids[start.queue]
        cat = res.wf_states[start.status]
        at = plan.start_at
        user, pid = self._who(plan.start_actor)
        requester = plan.src.requester or user
        row: dict[str, Any] = {
            "id": None,
            "key": None,
            "title": item_svc.clean_title(start.title),
            "body": item_svc.clean_body(plan.src.body),
            "kind": (plan.src.kind or "task").strip() or "task",
            "priority": start.priority,
            "queue_id": qid,
            "workflow_id": self.setup.workflow_id,
            "status": start.status,
            "category": cat,
            "owner_id": self.setup.person_ids[start.owner] if start.owner else None,
            "requester_id": None,
            "requester": requester,
            "estimate_hours": plan.src.estimate_hours,
            "created_at": at,
            "updated_at": at,
            "first_response_at": None,
            "resolved_at": at if cat == "done" else None,
            "due_at": plan.src.due,
            "approval": "none",
            "parent_id": None,
            "version": 1,
            "external_key": plan.src.key,
            "sla_start": None,
            "_first_queue": qid,
        }
        events: list[dict[str, Any]] = []
        comments: list[dict[str, Any]] = []

        def ev(f: str, old: Any, new: Any, ts: datetime, u: str, p: int | None, v: int) -> None:
            events.append(
                {
                    "ts": ts,
                    "unix_user": u,
                    "person_id": p,
                    "entity": "item",
                    "entity_id": None,
                    "item_id": None,
                    "field": f,
                    "old": display(old),
                    "new": display(new),
                    "item_version": v,
                }
            )

        ev("created", None, None, at, user, pid, 1)  # the key is known under the lock
        if start.owner:
            ev("owner", None, start.owner, at, user, pid, 1)
        statuses = [(at, start.status)]
        version = 1
        for op in plan.ops:
            user, pid = self._who(op.actor)
            ts = op.at
            if op.field == "comment":
                body = item_svc.clean_body((op.new or "").strip())
                if not body:
                    continue
                comments.append(
                    {
                        "item_id": None,
                        "author_id": pid,
                        "unix_user": user,
                        "body": body,
                        "created_at": ts,
                    }
                )
                ev("comment", None, " ".join(body.split())[:80], ts, user, pid, version)
                if row["first_response_at"] is None and user != row["requester"]:
                    row["first_response_at"] = ts
                    ev("first_response", None, ts, ts, user, pid, version)
                row["updated_at"] = ts
                continue
            version += 1
            if op.field == "queue":
                new_qid = self.setup.queue_ids[op.new]
                before = self._policy(row["queue_id"], row["kind"], row["priority"])
                after = self._policy(new_qid, row["kind"], row["priority"])
                row["queue_id"] = new_qid
                if before != after:
                    row["sla_start"] = ts
            elif op.field == "status":
                new_cat = res.wf_states[op.new]
                if (
                    row["category"] == "new"
                    and new_cat != "new"
                    and row["first_response_at"] is None
                ):
                    row["first_response_at"] = ts
                if new_cat == "done" and row["category"] != "done":
                    row["resolved_at"] = ts
                elif new_cat != "done" and row["category"] == "done":
                    row["resolved_at"] = None
                row["status"], row["category"] = op.new, new_cat
                statuses.append((ts, op.new))
            elif op.field == "owner":
                row["owner_id"] = self.setup.person_ids[op.new] if op.new else None
            elif op.field == "priority":
                row["priority"] = op.new
            elif op.field == "title":
                row["title"] = item_svc.clean_title(op.new)
            if op.field == "priority":
                ev("priority", f"P{op.old}", f"P{op.new}", ts, user, pid, version)
            else:
                ev(op.field, op.old, op.new, ts, user, pid, version)
            row["updated_at"] = ts
        row["version"] = version
        row["data"] = _source_data(plan, self.source, None)
        return row, events, comments, statuses

    def write(self, ctx: Ctx, prepared: _Prepared) -> list[int]:
        """Give the prepared items ids and keys, insert them, and compute their SLA."""
        if not prepared.items:
            return []
        conn = ctx.conn
        next_id = int(conn.execute(select(func.max(ITEM.c.id))).scalar() or 0) + 1
        numbers = {r.id: [r.next_number, r.prefix] for r in conn.execute(_QUEUE_NUMBERS)}
        start_numbers = {qid: v[0] for qid, v in numbers.items()}
        items: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        comments: list[dict[str, Any]] = []
        ids: list[int] = []
        for row, evs, cms in zip(prepared.items, prepared.events, prepared.comments, strict=True):
            item_id = next_id
            next_id += 1
            ids.append(item_id)
            qid = row.pop("_first_queue")
            number, prefix = numbers[qid]
            numbers[qid][0] = number + 1
            key = f"{prefix}-{number}"
            row["id"], row["key"] = item_id, key
            items.append(row)
            for e in evs:
                e["item_id"] = e["entity_id"] = item_id
            evs[0]["new"] = key  # the "created" event
            events.extend(evs)
            for c in cms:
                c["item_id"] = item_id
            comments.extend(cms)
        insert_many(conn, ITEM, items)
        insert_many(conn, EVENT, events)
        insert_many(conn, COMMENT, comments)
        moved = [
            {"w_id": qid, "v_number": v[0]}
            for qid, v in numbers.items()
            if v[0] != start_numbers[qid]
        ]
        if moved:
            conn.execute(_NEXT_NUMBER, moved)
        saved = ctx.now
        updates: list[dict[str, Any]] = []
        now = self.clock.now()
        try:
            for row, statuses in zip(items, prepared.statuses, strict=True):
                # A done item's verdict is taken when it was resolved (a late target's
                # breach is recorded then); an open one's as of now.
                ctx.now = row["resolved_at"] if row["category"] == "done" else now
                values = {**row, **{c: None for c in _SLA_COLUMNS}}
                out = refresh_item_sla(ctx, row["id"], values, statuses=statuses)
                out = {c: out.get(c) for c in _SLA_COLUMNS}
                if any(v is not None for v in out.values()):
                    updates.append({"w_id": row["id"], **{f"v_{c}": v for c, v in out.items()}})
        finally:
            ctx.now = saved
        if updates:
            conn.execute(_sla_update(_SLA_COLUMNS), updates)
        return ids


_QUEUE_NUMBERS = select(QUEUE.c.id, QUEUE.c.next_number, QUEUE.c.prefix)


# --- the source's own verdicts ---------------------------------------------------------


@dataclass(frozen=True)
class SourceVerdict:
    key: str
    external_key: str
    system: str
    source_made_sla: bool
    our_verdict: str  # met / breached / open / no policy

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "external_key": self.external_key,
            "system": self.system,
            "source_made_sla": self.source_made_sla,
            "opstui": self.our_verdict,
        }


def compare_source(db: Database) -> tuple[int, int, list[SourceVerdict]]:
    """Imported items whose source said whether the SLA was made (ServiceNow's
    ``made_sla``): how many there are, how many are still open here (no verdict yet),
    and those where our own verdict differs (or where no policy of ours applies)."""
    now = db.clock.now()
    differ: list[SourceVerdict] = []
    total = still_open = 0
    with db.read() as conn:
        rows = conn.execute(
            select(
                ITEM.c.key,
                ITEM.c.external_key,
                ITEM.c.data,
                ITEM.c.category,
                ITEM.c.sla_policy,
                ITEM.c.sla_res_due,
                ITEM.c.resolved_at,
                ITEM.c.sla_res_state,
                ITEM.c.sla_fr_state,
                ITEM.c.next_due_at,
            )
            .where(ITEM.c.external_key.is_not(None))
            .order_by(ITEM.c.id)
        )
        for r in rows:
            src = (r.data or {}).get("source") or {}
            made = (src.get("facts") or {}).get("made_sla")
            if not isinstance(made, bool):
                continue
            total += 1
            ours = _our_verdict(r, now)
            if ours == "open":
                still_open += 1
            elif ours == "no policy" or (ours == "met") != made:
                differ.append(
                    SourceVerdict(r.key, r.external_key, src.get("system", ""), made, ours)
                )
    return total, still_open, differ


def _our_verdict(r: Any, now: datetime) -> str:
    if r.sla_policy is None:
        return "no policy"
    breached = "breached" in (r.sla_res_state, r.sla_fr_state)
    if r.category == "done":
        if (
            r.sla_res_due is not None
            and r.resolved_at is not None
            and r.resolved_at > r.sla_res_due
        ):
            breached = True
        return "breached" if breached else "met"
    if breached or (r.next_due_at is not None and r.next_due_at <= now):
        return "breached"
    return "open"
