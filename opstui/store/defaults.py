"""Rows a new database gets: the default workflow.  Written by ``schema`` when it
creates a database, so it lives in the store layer."""

from __future__ import annotations

from sqlalchemy import Connection, select

from ..domain import models

DEFAULT_WORKFLOW = "default"
DEFAULT_STATES = [
    ("new", "New", "new"),
    ("in_progress", "In progress", "active"),
    ("waiting_on_customer", "Waiting on customer", "waiting"),
    ("blocked", "Blocked", "waiting"),
    ("done", "Done", "done"),
    ("cancelled", "Cancelled", "done"),
]
DEFAULT_TRANSITIONS = [
    ("new", "in_progress"),
    ("new", "cancelled"),
    ("in_progress", "waiting_on_customer"),
    ("in_progress", "blocked"),
    ("in_progress", "done"),
    ("in_progress", "cancelled"),
    ("waiting_on_customer", "in_progress"),
    ("waiting_on_customer", "done"),
    ("blocked", "in_progress"),
    ("done", "in_progress"),
    ("cancelled", "new"),
]


def install_default_workflow(conn: Connection) -> int:
    """Create the ``default`` workflow if missing; return its id."""
    wf = models.Workflow.__table__
    existing = conn.execute(select(wf.c.id).where(wf.c.name == DEFAULT_WORKFLOW)).first()
    if existing:
        return int(existing[0])
    wf_id = conn.execute(
        wf.insert().values(
            name=DEFAULT_WORKFLOW,
            initial_state="new",
            description="new -> in progress -> done, with waiting and blocked",
        )
    ).inserted_primary_key[0]
    conn.execute(
        models.WorkflowState.__table__.insert(),
        [
            {"workflow_id": wf_id, "name": n, "label": label, "category": c, "position": i}
            for i, (n, label, c) in enumerate(DEFAULT_STATES)
        ],
    )
    conn.execute(
        models.WorkflowTransition.__table__.insert(),
        [
            {"workflow_id": wf_id, "from_state": a, "to_state": b, "name": "", "actions": []}
            for a, b in DEFAULT_TRANSITIONS
        ],
    )
    return int(wf_id)
