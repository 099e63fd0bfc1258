"""Transfer: an item moves to another queue as its own change."""

from __future__ import annotations

from datetime import timedelta

import pytest

from opstui.errors import InvalidTransition, ValidationError
from opstui.services import items as svc
from opstui.services import transitions
from opstui.services.loading import load_data
from opstui.store import queries as q
from opstui.store.engine import Database

SETUP = {
    "people": [{"handle": "ann"}, {"handle": "bo"}],
    "workflows": [
        {
            "name": "desk",
            "states": [
                {"name": "open", "category": "new"},
                {"name": "working", "category": "active"},
                {"name": "on_hold", "category": "waiting"},
                {"name": "parked", "category": "waiting"},
                {"name": "closed", "category": "done"},
            ],
            "transitions": [{"from": "*", "to": s} for s in ("working", "on_hold", "closed")],
        }
    ],
    "queues": [
        {"slug": "support", "name": "Support", "triage_owner": "ann"},
        {"slug": "infra", "name": "Infra"},
        {"slug": "desk", "name": "Desk", "workflow": "desk"},
    ],
    "sla_policies": [
        {"name": "infra", "queue": "infra", "calendar": "24x7", "resolution": "4h"},
        {"name": "rest", "calendar": "24x7", "resolution": "2d"},
    ],
}


def test_transfer_same_workflow_keeps_state_and_starts_the_new_policy(db: Database) -> None:
    load_data(db, SETUP)
    item = svc.create_item(db, queue="support", title="disk full", owner="bo")
    item = transitions.transition(db, item.key, "in_progress")[0]
    assert item.sla_policy == "rest"
    db.clock = db.clock.__class__.frozen(db.clock.now() + timedelta(hours=5))
    moved = svc.transfer(db, item.key, "infra", expected_version=item.version)
    assert (moved.queue, moved.status, moved.owner) == ("infra", "in_progress", "bo")
    # the infra policy applies from the move: 4 h from now, not from creation
    assert moved.sla_policy == "infra"
    assert moved.sla_res_due == db.clock.now() + timedelta(hours=4)
    with db.read() as conn:
        fields = [(e.field, e.old, e.new) for e in q.recent_events(conn, 10, moved.id)]
    assert fields[-1] == ("queue", "support", "infra")
    with pytest.raises(ValidationError, match="already in queue infra"):
        svc.transfer(db, item.key, "infra")
    to_triage = svc.transfer(db, item.key, "support", to_triage=True)
    assert to_triage.owner is None


def test_transfer_across_workflows_maps_by_category_or_refuses(db: Database) -> None:
    load_data(db, SETUP)
    item = svc.create_item(db, queue="support", title="printer")
    moved = svc.transfer(db, item.key, "desk", owner="ann")
    assert (moved.status, moved.category, moved.owner) == ("open", "new", "ann")
    waiting = svc.create_item(db, queue="support", title="vpn")
    waiting = transitions.transition(db, waiting.key, "in_progress")[0]
    waiting = transitions.transition(db, waiting.key, "waiting_on_customer")[0]
    with pytest.raises(InvalidTransition, match="several states that fit: on_hold, parked"):
        svc.transfer(db, waiting.key, "desk")
    with pytest.raises(InvalidTransition, match="'working' is not a waiting state"):
        svc.transfer(db, waiting.key, "desk", state="working")
    moved = svc.transfer(db, waiting.key, "desk", state="parked")
    assert (moved.queue, moved.status) == ("desk", "parked")
    with db.read() as conn:
        fields = [(e.field, e.new) for e in q.recent_events(conn, 10, moved.id)][-2:]
    assert fields == [("queue", "desk"), ("status", "parked")]
