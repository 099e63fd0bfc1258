"""The mapping resolved against the database: what each source label becomes, what must
be created, and every source label that maps to nothing (never guessed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from ...importers.mapping import KEEP, Mapping, QueueMap, StateMap, derive_prefix, unique_names
from ...importers.model import INITIAL, Problem, Source
from .tables import PERSON, QUEUE, STATE, TRANSITION, WORKFLOW

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
        for w in item.worklogs:  # worklog authors are people like assignees
            if w.author is not None:
                add("people", w.author, w.line)
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
                from ...importers.mapping import derive_name

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
        # Listed new, active, waiting, done (as the source first used them within each).
        order = {c: i for i, c in enumerate(("new", "active", "waiting", "done"))}
        wf_states = dict(sorted(wf_states.items(), key=lambda kv: order.get(kv[1], 9)))
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
