"""The load format keeps everything it is given: an item's ``status``, every change of a
history step (in the documented order), and refuses what it would otherwise ignore."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from opstui.services.loading import LoadError, load_data
from opstui.services.loading.items import LOADED_ACTOR, STEP_CHANGES
from opstui.store import queries as q

pytestmark = pytest.mark.both_engines

T0 = "2026-11-30T09:00:00+00:00"
T1 = "2026-11-30T09:20:00+00:00"
T2 = "2026-11-30T10:00:00+00:00"

WORKFLOWS = [
    {
        "name": "support",
        "initial": "new",
        "states": [
            {"name": "new", "category": "new"},
            {"name": "in_progress", "category": "active"},
            {"name": "waiting", "category": "waiting"},
            {"name": "done", "category": "done"},
        ],
        "transitions": [
            {"from": "new", "to": "in_progress"},
            {"from": "in_progress", "to": "done"},
            {"from": "*", "to": "waiting"},
            {"from": "waiting", "to": "in_progress"},
        ],
    },
    {
        "name": "ops",
        "initial": "todo",
        "states": [
            {"name": "todo", "category": "new"},
            {"name": "doing", "category": "active"},
            {"name": "fixing", "category": "active"},
            {"name": "closed", "category": "done"},
        ],
        "transitions": [{"from": "todo", "to": "doing"}, {"from": "doing", "to": "closed"}],
    },
]


def base(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "people": [{"handle": "alice"}, {"handle": "bob"}],
        "workflows": WORKFLOWS,
        "queues": [
            {"slug": "support", "prefix": "SUP", "workflow": "support"},
            {"slug": "infra", "prefix": "INF", "workflow": "support"},
            {"slug": "ops", "prefix": "OPS", "workflow": "ops"},
        ],
    }
    data.update(extra)
    return data


def item(**fields: Any) -> dict[str, Any]:
    return {"queue": "support", "title": "VPN drops", "created": T0, **fields}


def events(db, key: str) -> list[Any]:
    with db.read() as conn:
        rec = q.get_item(conn, key)
        assert rec is not None
        return list(q.recent_events(conn, 200, rec.id))


def get(db, key: str) -> Any:
    with db.read() as conn:
        return q.get_item(conn, key)


def test_a_step_with_several_changes_applies_all_of_them(db) -> None:
    step = {
        "at": T1,
        "by": "alice",
        "to": "in_progress",
        "assign": "bob",
        "priority": "P1",
        "estimate": 3,
        "title": "VPN drops every few minutes",
        "comment": "Looking at the router.",
    }
    load_data(db, base(items=[item(history=[step])]))
    rec = get(db, "SUP-1")
    assert rec.status == "in_progress" and rec.category == "active"
    assert rec.owner == "bob"
    assert rec.priority == 1 and rec.estimate_hours == 3
    assert rec.title == "VPN drops every few minutes"
    assert rec.first_response_at.isoformat() == T1  # the move out of "new" is the response
    with db.read() as conn:
        comments = q.item_comments(conn, rec.id)
    assert [c.body for c in comments] == ["Looking at the router."]
    log = [e for e in events(db, "SUP-1") if e.field != "created"]
    # every change is an event, at the step's time, by the step's actor, in the documented order
    assert [(e.field, e.old, e.new) for e in log if e.field != "first_response"] == [
        ("status", "new", "in_progress"),
        ("owner", None, "bob"),
        ("priority", "P3", "P1"),
        ("estimate", None, "3"),
        ("title", "VPN drops", "VPN drops every few minutes"),
        ("comment", None, "Looking at the router."),
    ]
    assert {e.ts.isoformat() for e in log} == {T1}
    assert {e.person for e in log} == {"alice"}


def test_step_order_is_documented_and_queue_comes_first() -> None:
    assert STEP_CHANGES == ("queue", "to", "assign", "priority", "estimate", "title", "comment")


def test_a_transfer_with_a_state_and_an_owner(db) -> None:
    steps = [
        {"at": T1, "by": "alice", "to": "in_progress", "assign": "alice"},
        # across workflows: "in_progress" (active) could map to doing or fixing; the step's
        # own "to" settles it, then the owner changes
        {"at": T2, "by": "alice", "queue": "ops", "to": "fixing", "assign": "bob"},
    ]
    load_data(db, base(items=[item(history=steps)]))
    rec = get(db, "SUP-1")
    assert (rec.queue, rec.status, rec.owner) == ("ops", "fixing", "bob")
    fields = [(e.field, e.new) for e in events(db, "SUP-1") if e.ts.isoformat() == T2]
    assert fields == [("queue", "ops"), ("status", "fixing"), ("owner", "bob")]


def test_a_transfer_then_a_transition_in_the_same_step(db) -> None:
    step = {"at": T1, "queue": "infra", "to": "in_progress", "assign": ""}
    load_data(db, base(items=[item(owner="alice", history=[step])]))
    rec = get(db, "SUP-1")
    assert (rec.queue, rec.status, rec.owner) == ("infra", "in_progress", None)


def test_status_sets_the_state_at_creation_with_a_loaded_event(db) -> None:
    load_data(
        db,
        base(
            items=[
                item(status="done", owner="alice"),
                item(title="waiting one", status="waiting"),
                item(title="new one", status="new"),
            ]
        ),
    )
    done = get(db, "SUP-1")
    assert (done.status, done.category) == ("done", "done")
    assert done.resolved_at.isoformat() == T0 == done.created_at.isoformat()
    assert done.first_response_at.isoformat() == T0
    status = [e for e in events(db, "SUP-1") if e.field == "status"]
    assert [(e.old, e.new, e.unix_user, e.ts.isoformat()) for e in status] == [
        ("new", "done", LOADED_ACTOR, T0)
    ]
    waiting = get(db, "SUP-2")
    assert (waiting.status, waiting.category, waiting.resolved_at) == ("waiting", "waiting", None)
    # already in its workflow's initial state: no extra event
    assert [e.field for e in events(db, "SUP-3")] == ["created"]


def test_status_then_history_continues_from_it(db) -> None:
    steps = [{"at": T1, "by": "bob", "to": "in_progress", "comment": "back on it"}]
    load_data(db, base(items=[item(status="waiting", history=steps)]))
    rec = get(db, "SUP-1")
    assert rec.status == "in_progress"
    assert [e.field for e in events(db, "SUP-1")] == ["created", "status", "status", "comment"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            item(status="closed"),
            "f.toml: items[0] (VPN drops): status 'closed' is not a state of queue support's "
            "workflow (states: new, in_progress, waiting, done)",
        ),
        (item(status=3), "items[0] (VPN drops): status must be text"),
        (
            item(history=[{"at": T1, "to": "in_progress", "assign": "ghost"}]),
            "f.toml: items[0] (VPN drops) history[0]: assign 'ghost': no person",
        ),
        (
            item(history=[{"at": T1, "to": "done", "comment": "x"}]),
            "items[0] (VPN drops) history[0]: to 'done': SUP-1 cannot move from 'new' to 'done'",
        ),
        (
            item(history=[{"at": T1, "to": "in_progress", "priority": "P9"}]),
            "items[0] (VPN drops) history[0]: priority 'P9'",
        ),
        (
            item(history=[{"at": T1, "queue": "ops"}, {"at": T2, "queue": "ops"}]),
            "history[1]: queue 'ops': SUP-1 is already in queue ops",
        ),
        (
            item(history=[{"at": T1, "by": "alice"}]),
            "history[0]: a history step needs at least one of queue, to, assign",
        ),
        (item(history=[{"at": T1, "to": 5}]), "history[0]: to must be text"),
        (item(history={"to": "done"}), "items[0] (VPN drops): history must be a list of tables"),
        (item(approval="nowhere"), "approval 'nowhere' is not a state of queue support's workflow"),
        (item(blocked_by=5), "items[0] (VPN drops): blocked_by must be a list of names"),
        (item(ref="a", blocked_by=["a"]), "blocked_by 'a' is the item itself"),
    ],
)
def test_a_change_that_cannot_be_applied_loads_nothing(db, entry, message) -> None:
    with pytest.raises(LoadError) as err:
        load_data(db, base(items=[entry]), source="f.toml")
    assert message in str(err.value), str(err.value)
    assert str(err.value).startswith("f.toml: items[0]")
    with db.read() as conn:
        assert q.count_items(conn) == 0 and q.list_people(conn) == []


def test_two_items_with_one_ref_are_an_error(db) -> None:
    with pytest.raises(LoadError, match=r"items\[1\] \(a\): ref 'a' repeats items\[0\]"):
        load_data(db, base(items=[item(ref="a"), item(ref="a")]), source="f.toml")


def test_loaded_status_keeps_the_sla_consistent(db) -> None:
    policies = [
        {"name": "p", "queue": "support", "first_response": "30m", "resolution": "4h"},
    ]
    load_data(db, base(sla_policies=policies, items=[item(status="done")]))
    rec = get(db, "SUP-1")
    # resolved at creation: both targets met (never breached), nothing left to count down
    assert rec.sla_policy == "p"
    assert (rec.sla_fr_state, rec.sla_res_state) == ("met", "met")
    assert rec.next_due_at is None or rec.next_due_at > datetime.fromisoformat(T0)


WF = {
    "name": "w",
    "states": ["a", "b"],
    "transitions": [{"from": "a", "to": "b"}],
}


def with_action(action: dict[str, Any]) -> dict[str, Any]:
    return base(
        workflows=[
            *WORKFLOWS,
            {**WF, "transitions": [{"from": "a", "to": "b", "actions": [action]}]},
        ]
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            base(people=[{"handle": "a", "away": [{"start": "2026-12-01", "reason": "x"}]}]),
            "f.toml: people[0] (a) away[0]: unknown key 'reason'",
        ),
        (
            base(people=[{"handle": "a", "away": [{"end": "2026-12-01"}]}]),
            "people[0] (a) away[0]: missing required key 'start'",
        ),
        (
            base(people=[{"handle": "a", "active": "no"}]),
            "people[0] (a): active must be true or false (got 'no')",
        ),
        (base(people=[{"handle": "a", "team": 7}]), "people[0] (a): team must be text"),
        (
            base(workflows=[{**WF, "states": [{"name": "a", "colour": "red"}, "b"]}]),
            "workflows[0] (w) states[0]: unknown key 'colour'",
        ),
        (
            base(
                workflows=[
                    {**WF, "transitions": [{"from": "a", "to": "b", "requires_approval": "yes"}]}
                ]
            ),
            "workflows[0] (w) transitions[0]: requires_approval must be true or false",
        ),
        (
            base(workflows=[{**WF, "transitions": [{"from": "a", "to": "b", "actions": {}}]}]),
            "transitions[0]: actions must be a list of tables",
        ),
        (
            with_action({"type": "assign", "rule": "person", "person": "bob", "skill": "x"}),
            "actions[0] (assign): assign: rule 'person' does not use 'skill'",
        ),
        (
            with_action({"type": "assign", "rule": "triage", "skill": "x"}),
            "rule 'triage' does not use 'skill'",
        ),
        (
            with_action(
                {
                    "type": "follow_up",
                    "queue": "support",
                    "title": "t",
                    "assign": {"type": "assign", "rule": "triage"},
                }
            ),
            "follow_up assign: unknown key 'type'",
        ),
        (
            base(processes=[{"key": "p", "queue": "support", "description": "monthly"}]),
            "processes[0] (p): a process has no description of its own: put it in its runbook",
        ),
        (
            base(processes=[{"key": "p", "queue": "support", "active": "false"}]),
            "processes[0] (p): active must be true or false",
        ),
        (
            base(hooks=[{"name": "h", "on": "created", "command": ["true"], "active": 1}]),
            "hooks[0] (h): active must be true or false",
        ),
        (
            base(hooks=[{"name": "h", "on": "transition", "state": "dun", "command": ["true"]}]),
            "hooks[0] (h): no workflow has a state 'dun'",
        ),
        (
            base(
                calendars=[{"name": "c", "hours": {"mon": "09:00-17:00", "funday": "10:00-12:00"}}]
            ),
            "calendars[0] (c): unknown weekday 'funday'",
        ),
        (
            base(queues=[{"slug": "q", "wip_limit": 2.5}]),
            "queues[0] (q): WIP limit must be a whole number (got 2.5)",
        ),
    ],
)
def test_keys_that_would_be_ignored_are_errors(db, data, message) -> None:
    with pytest.raises(LoadError) as err:
        load_data(db, data, source="f.toml")
    assert message in str(err.value), str(err.value)
    assert str(err.value).startswith("f.toml: ")
    with db.read() as conn:
        assert q.list_people(conn) == []


def test_a_queue_prefix_cannot_change_on_reload(db) -> None:
    load_data(db, base())
    with pytest.raises(LoadError, match=r"queues\[0\] \(support\): key prefix 'HELP' differs"):
        load_data(db, {"queues": [{"slug": "support", "prefix": "HELP"}]}, source="f.toml")
    with pytest.raises(LoadError, match="WIP limit must be positive"):
        load_data(db, {"queues": [{"slug": "support", "prefix": "SUP", "wip_limit": 0}]})
    load_data(db, {"queues": [{"slug": "support", "prefix": "sup", "workflow": "support"}]})
