"""The one write path: versions, events, errors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from opstui.errors import Conflict, InvalidTransition, NotFound, ValidationError
from opstui.services import items, people, transitions
from opstui.store import queries as q

pytestmark = pytest.mark.both_engines


def events(db, key: str) -> list[q.EventRecord]:
    with db.read() as conn:
        item = q.get_item(conn, key)
        return q.recent_events(conn, 100, item.id)


def test_create_assign_transition_comment_record_events(team_db, clock) -> None:
    it = items.create_item(
        team_db, queue="support", title="Printer offline", priority="P2", estimate="1.5h"
    )
    assert (it.key, it.status, it.category, it.owner, it.version) == (
        "SUP-1",
        "new",
        "new",
        None,
        1,
    )
    assert it.estimate_hours == 1.5 and it.priority == 2
    clock.advance(timedelta(minutes=5))
    it = items.assign(team_db, it.key, "bob")
    assert it.owner == "bob" and it.version == 2
    it, done = transitions.transition(team_db, it.key, "in_progress")
    assert it.status == "in_progress" and it.version == 3 and done == []
    assert it.first_response_at == clock.now()
    items.comment(team_db, it.key, "on it")
    it, _ = transitions.transition(team_db, it.key, "done")
    assert it.category == "done" and it.resolved_at == clock.now()
    it, _ = transitions.transition(team_db, it.key, "in_progress")  # reopen
    assert it.resolved_at is None
    log = [(e.field, e.old, e.new, e.unix_user) for e in events(team_db, it.key)]
    assert log == [
        ("created", None, "SUP-1", "tester"),
        ("owner", None, "bob", "tester"),
        ("status", "new", "in_progress", "tester"),
        ("comment", None, "on it", "tester"),
        ("status", "in_progress", "done", "tester"),
        ("status", "done", "in_progress", "tester"),
    ]


def test_events_carry_the_mapped_person(team_db) -> None:
    from opstui.store.schema import open_database

    as_alice = open_database(team_db.target, clock=team_db.clock, unix_user="alice")
    it = items.create_item(as_alice, queue="support", title="x")
    (created,) = events(team_db, it.key)
    assert created.person == "alice" and created.unix_user == "alice"
    as_alice.dispose()


def test_stale_edit_is_refused_naming_who_changed_what(team_db) -> None:
    from opstui.store.schema import open_database

    it = items.create_item(team_db, queue="support", title="Shared")
    bob = open_database(team_db.target, clock=team_db.clock, unix_user="bob")
    items.assign(bob, it.key, "alice", expected_version=it.version)
    with pytest.raises(Conflict) as err:
        items.edit_item(team_db, it.key, expected_version=it.version, title="Mine")
    message = str(err.value)
    assert "bob" in message and "owner" in message and "alice" in message
    assert err.value.current_version == 2
    with team_db.read() as conn:
        assert q.get_item(conn, it.key).title == "Shared"  # nothing overwritten
    bob.dispose()


def test_transition_rules(team_db) -> None:
    it = items.create_item(team_db, queue="support", title="x")
    with pytest.raises(InvalidTransition, match="next states: in_progress, cancelled"):
        transitions.transition(team_db, it.key, "done")
    with pytest.raises(InvalidTransition, match="not a state"):
        transitions.transition(team_db, it.key, "flying")
    with pytest.raises(InvalidTransition, match="already"):
        transitions.transition(team_db, it.key, "new")


def test_dry_run_changes_nothing(team_db) -> None:
    it = items.create_item(team_db, queue="support", title="x")
    with team_db.read() as conn:
        before = q.last_event_id(conn)
    moved, _ = transitions.transition(team_db, it.key, "in_progress", dry_run=True)
    assert moved.status == "in_progress"
    with team_db.read() as conn:
        assert q.get_item(conn, it.key).status == "new"
        assert q.last_event_id(conn) == before


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda db: items.assign(db, "SUP-99", "alice"), NotFound),
        (lambda db: items.assign(db, "SUP-1", "nobody"), NotFound),
        (lambda db: items.create_item(db, queue="nope", title="x"), NotFound),
        (lambda db: items.create_item(db, queue="support", title="  "), ValidationError),
        (
            lambda db: items.create_item(db, queue="support", title="x", priority="P7"),
            ValidationError,
        ),
        (
            lambda db: items.create_item(db, queue="support", title="x", estimate="lots"),
            ValidationError,
        ),
        (lambda db: items.comment(db, "SUP-1", " "), ValidationError),
        (lambda db: people.add_person(db, handle="alice"), ValidationError),
        (lambda db: people.add_person(db, handle="Bad Handle"), ValidationError),
        (lambda db: people.add_queue(db, slug="support"), ValidationError),
        (lambda db: items.link_blocker(db, "SUP-1", "SUP-1"), ValidationError),
    ],
)
def test_bad_input_is_a_clear_error_and_changes_nothing(team_db, call, error) -> None:
    items.create_item(team_db, queue="support", title="existing")
    with team_db.read() as conn:
        before = q.last_event_id(conn)
    with pytest.raises(error) as err:
        call(team_db)
    assert str(err.value) and "\n" not in str(err.value)
    with team_db.read() as conn:
        assert q.last_event_id(conn) == before


def test_item_filters_and_keyset_paging(team_db) -> None:
    for i in range(25):
        items.create_item(
            team_db,
            queue="support",
            title=f"item {i}",
            owner="bob" if i % 2 else None,
            priority=1 + i % 4,
        )
    with team_db.read() as conn:
        page1 = q.list_items(conn, q.ItemFilter(), limit=10)
        page2 = q.list_items(conn, q.ItemFilter(), after_id=page1[-1].id, limit=10)
        assert [i.key for i in page1][:2] == ["SUP-25", "SUP-24"]
        assert page2[0].id == page1[-1].id - 1
        assert q.count_items(conn, q.ItemFilter(owner="-")) == 13
        assert (
            q.count_items(conn, q.ItemFilter(owner="bob", priority=2)) == 6
        )  # i = 1, 5, 9, 13, 17, 21
        assert [i.key for i in q.list_items(conn, q.ItemFilter(text="item 1"), limit=None)][
            -1
        ] == "SUP-2"
        assert q.count_items(conn, q.ItemFilter(text="%")) == 0  # LIKE wildcards are literal


def test_people_and_queue_edits_are_events(team_db) -> None:
    people.edit_person(
        team_db,
        "bob",
        capacity="30",
        skills="linux,windows",
        away={"start": "2026-12-07", "end": "2026-12-11"},
    )
    people.edit_queue(team_db, "support", wip_limit=8, triage_owner="bob")
    with team_db.read() as conn:
        bob = q.get_person(conn, "bob")
        assert (
            bob.capacity_hours == 30 and bob.skills == ("linux", "windows") and len(bob.away) == 1
        )
        queue = q.list_queues(conn)[0]
        assert (queue.wip_limit, queue.triage_owner) == (8, "bob")
        fields = [(e.entity, e.field) for e in q.recent_events(conn, 10)]
    assert ("person", "capacity_hours") in fields and ("person", "skills") in fields
    assert ("queue", "wip_limit") in fields and ("queue", "triage_owner_id") in fields
