"""Planning: each source item becomes a creation, or the changes a newer export brings;
every state change is checked against the workflow before anything is written."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ...domain.fields import MAX_TITLE
from ...importers.mapping import KEEP
from ...importers.model import INITIAL, Problem, Snapshot, Source, SourceItem
from .resolve import NO_GROUP, Resolved

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
    #: Time spent to write (``worklogs.WorklogPlan``), None when the source has none.
    worklogs: Any = None
    #: An estimate for an existing item that has none (the source's original estimate).
    estimate: float | None = None


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
        title=(snap.title or title)[:MAX_TITLE],
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
