"""Load-time checks of workflow transition actions: every person, skill, queue and
state an action names must exist, and follow-up chains must not loop."""

from __future__ import annotations

from typing import Any

from ...domain import workflow as wfl
from ...domain.actions import (
    ACTION_KEYS,
    ACTION_TYPES,
    ASSIGN_KEYS,
    ASSIGN_RULE_KEYS,
    ASSIGN_RULES,
    TEMPLATE_FIELDS,
)
from ...domain.fields import parse_estimate, parse_priority
from ...errors import OpsError, ValidationError
from ...store import definitions as defs
from ..context import Ctx
from .base import LoadError, Loading


class _Names:
    """What exists in the database being loaded (read once per validation)."""

    def __init__(self, ctx: Ctx):
        conn = ctx.conn
        self.people = defs.people_active(conn)
        self.skills = defs.skills(conn)
        self.queues = defs.queues_with_workflow(conn)
        self.states = defs.states_by_workflow(conn)


def _check_template(text: Any, what: str) -> None:
    if not isinstance(text, str):
        raise ValidationError(f"{what} must be text")
    bad = [f for f in wfl.template_fields(text) if f not in TEMPLATE_FIELDS]
    if bad:
        raise ValidationError(
            f"{what} uses unknown placeholder {{{bad[0]}}} (known: {', '.join(TEMPLATE_FIELDS)})"
        )


def _check_assign(
    names: _Names, rule: Any, label: str = "assign", extra: frozenset[str] = frozenset()
) -> None:
    """``extra``: keys of the enclosing action (``type`` for an assign action)."""
    if not isinstance(rule, dict):
        raise ValidationError(f'{label} must be a table such as {{rule="triage"}}')
    unknown = sorted(set(rule) - ASSIGN_KEYS - extra)
    if unknown:
        raise ValidationError(f"{label}: unknown key {unknown[0]!r}")
    kind = rule.get("rule")
    if kind not in ASSIGN_RULES:
        raise ValidationError(f"{label}: rule {kind!r} is not one of {', '.join(ASSIGN_RULES)}")
    unused = sorted(set(rule) - ASSIGN_RULE_KEYS[kind] - extra)
    if unused:
        raise ValidationError(
            f"{label}: rule {kind!r} does not use {unused[0]!r} "
            f"(it takes {', '.join(sorted(ASSIGN_RULE_KEYS[kind] - {'rule'})) or 'nothing more'})"
        )
    if kind == "person":
        if not rule.get("person"):
            raise ValidationError(f"{label}: rule 'person' needs person=HANDLE")
        if rule["person"] not in names.people:
            raise ValidationError(f"{label}: unknown person {rule['person']!r}")
    if rule.get("skill") is not None:
        skill = str(rule["skill"]).lower()
        if skill not in names.skills:
            raise ValidationError(f"{label}: unknown skill {rule['skill']!r} (nobody has it)")
    if kind in ("least_loaded", "round_robin") and not rule.get("skill"):
        raise ValidationError(f"{label}: rule {kind!r} needs skill=...")
    if rule.get("queue") is not None and rule["queue"] not in names.queues:
        raise ValidationError(f"{label}: unknown queue {rule['queue']!r}")


def _check_action(names: _Names, wf_id: int, action: Any) -> tuple[int, str, str, str] | None:
    """Validate one action; for a follow-up with ``then`` return (target workflow id,
    then-state, workflow name, its initial state)."""

    if not isinstance(action, dict):
        raise ValidationError("an action must be a table")
    kind = action.get("type")
    if kind not in ACTION_TYPES:
        raise ValidationError(f"unknown action type {kind!r} (one of {', '.join(ACTION_TYPES)})")
    unknown = sorted(set(action) - ACTION_KEYS[kind])
    if unknown:
        raise ValidationError(
            f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(ACTION_KEYS[kind]))})"
        )
    if kind == "move":
        slug = action.get("queue")
        if slug not in names.queues:
            raise ValidationError(f"unknown queue {slug!r}")
        if names.queues[slug].workflow_id != wf_id:
            raise ValidationError(
                f"queue {slug!r} uses workflow {names.queues[slug].workflow!r}; an item can only move "
                "to a queue with its own workflow"
            )
    elif kind == "assign":
        _check_assign(names, action, extra=frozenset({"type"}))
    elif kind == "notify":
        if bool(action.get("person")) == bool(action.get("triage_of")):
            raise ValidationError("notify needs exactly one of person=HANDLE or triage_of=QUEUE")
        if action.get("person") and action["person"] not in names.people:
            raise ValidationError(f"unknown person {action['person']!r}")
        if action.get("triage_of") and action["triage_of"] not in names.queues:
            raise ValidationError(f"unknown queue {action['triage_of']!r}")
        _check_template(action.get("message", ""), "message")
    elif kind == "follow_up":
        slug = action.get("queue")
        if slug not in names.queues:
            raise ValidationError(f"unknown queue {slug!r}")
        if not action.get("title"):
            raise ValidationError("follow_up needs a title template")
        _check_template(action["title"], "title")
        _check_template(action.get("body", ""), "body")
        if "priority" in action:
            parse_priority(action["priority"])
        if "estimate" in action:
            parse_estimate(action["estimate"])
        if "assign" in action:
            _check_assign(names, action["assign"], "follow_up assign")
        then = action.get("then")
        if then is not None:
            target = names.queues[slug]
            if then not in names.states.get(target.workflow_id, set()):
                raise ValidationError(
                    f"then {then!r} is not a state of workflow {target.workflow!r} (queue {slug})"
                )
            return target.workflow_id, str(then), target.workflow, target.initial_state
    return None


def validate_actions(ctx: Ctx, source: str) -> None:
    """Check every transition action against people, skills, queues and states, and
    reject chains that loop.  Raises LoadError (file, entry, reason)."""
    names = _Names(ctx)
    rows = defs.transitions_with_actions(ctx.conn)
    by_id = {r.id: r for r in rows}
    label = {r.id: f"workflow {r.name!r} transition {r.from_state} -> {r.to_state}" for r in rows}
    edges: dict[int, list[int]] = {r.id: [] for r in rows}
    for r in rows:
        for i, action in enumerate(r.actions or []):
            where = f"{source}: {label[r.id]} actions[{i}]"
            if isinstance(action, dict) and action.get("type"):
                where += f" ({action.get('type')})"
            try:
                target = _check_action(names, r.workflow_id, action)
            except OpsError as exc:
                raise LoadError(f"{where}: {exc}") from None
            if target is None:
                continue
            wf_id, then, wf_name, initial = target
            step = _transition_from(rows, wf_id, initial, then)
            if step is None:
                raise LoadError(
                    f"{where}: then {then!r}: workflow {wf_name!r} has no transition from its "
                    f"initial state {initial!r} to {then!r}"
                )
            edges[r.id].append(step)
    cycle = wfl.find_cycle(edges)
    if cycle:
        path = " => ".join(
            f"{by_id[t].name}:{by_id[t].from_state}->{by_id[t].to_state}" for t in cycle
        )
        raise LoadError(f"{source}: {label[cycle[0]]}: follow-up chain loops ({path})")


def _transition_from(rows: list[Any], wf_id: int, state: str | None, to: str) -> int | None:
    """The transition an item in ``state`` takes to ``to`` (a specific from-state wins over *)."""
    star = None
    for r in rows:
        if r.workflow_id != wf_id or r.to_state != to or r.to_state == state:
            continue
        if r.from_state == state:
            return int(r.id)
        if r.from_state == "*" and star is None:
            star = int(r.id)
    return star


def validate_workflow_actions(ld: Loading) -> None:
    """Check every transition action against the loaded people, queues and states."""
    validate_actions(ld.ctx, ld.source)
