"""Workflows: saving a workflow definition (its states and transitions) by name."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from ..domain import models
from ..errors import ValidationError
from .context import Ctx

ITEM = models.Item.__table__
WORKFLOW = models.Workflow.__table__
STATE = models.WorkflowState.__table__
TRANSITION = models.WorkflowTransition.__table__


def save_workflow_in(
    ctx: Ctx,
    *,
    name: str,
    initial: str,
    description: str,
    states: list[tuple[str, str, str]],
    transitions: list[dict[str, Any]],
) -> int:
    """Create workflow ``name`` or replace its definition.  ``states`` are
    (name, label, category) in order; ``transitions`` have from, to and optionally
    name, requires_approval and actions.  States that items are in must stay, with
    their category.  Returns the workflow id."""
    conn = ctx.conn
    names = [s[0] for s in states]
    existing = conn.execute(select(WORKFLOW.c.id).where(WORKFLOW.c.name == name)).first()
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
            raise ValidationError(
                f"items are in state(s) {', '.join(sorted(missing))} that the new definition drops"
            )
        conn.execute(
            update(WORKFLOW)
            .where(WORKFLOW.c.id == wf_id)
            .values(initial_state=initial, description=description)
        )
        conn.execute(delete(TRANSITION).where(TRANSITION.c.workflow_id == wf_id))
        conn.execute(delete(STATE).where(STATE.c.workflow_id == wf_id, STATE.c.name.not_in(in_use)))
        kept = {
            r[0]: r[1]
            for r in conn.execute(
                select(STATE.c.name, STATE.c.category).where(STATE.c.workflow_id == wf_id)
            )
        }
    else:
        wf_id = conn.execute(
            WORKFLOW.insert().values(name=name, initial_state=initial, description=description)
        ).inserted_primary_key[0]
        kept = {}
    for j, (state, label, cat) in enumerate(states):
        if state in kept:
            if kept[state] != cat:
                raise ValidationError(f"state {state!r} is in use and cannot change category")
            conn.execute(
                update(STATE)
                .where(STATE.c.workflow_id == wf_id, STATE.c.name == state)
                .values(label=label, position=j)
            )
        else:
            conn.execute(
                STATE.insert().values(
                    workflow_id=wf_id, name=state, label=label, category=cat, position=j
                )
            )
    for t in transitions:
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
    ctx.record("loaded", None, name, entity="workflow", entity_id=wf_id)
    return int(wf_id)
