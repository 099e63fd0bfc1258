"""Transition actions: move, assign (each rule), notify, follow-up, chains, approvals, dry run."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from opstui.domain import models
from opstui.domain.actions import describe_action
from opstui.errors import InvalidTransition, ValidationError
from opstui.services import approvals, transitions
from opstui.services import items as svc
from opstui.store import queries as q
from tests._automation_support import count, data_with, make_db, snapshot

pytestmark = pytest.mark.both_engines

EVENT = models.Event.__table__
LINK = models.ItemLink.__table__


def _doing(db, queue: str = "work", **kw):
    item = svc.create_item(db, queue=queue, title=kw.pop("title", "Fix the VPN"), **kw)
    item, _ = transitions.transition(db, item.key, "doing")
    return item


def _events(db, item_key: str, field: str) -> list[tuple[str | None, str | None]]:
    with db.read() as conn:
        item = q.get_item(conn, item_key)
        return [(e.old, e.new) for e in q.recent_events(conn, 500, item.id) if e.field == field]


def test_move_changes_queue_and_records_event(tmp_path: Path) -> None:
    db = make_db(tmp_path, data_with([{"type": "move", "queue": "qa"}]))
    item = _doing(db)
    moved, done = transitions.transition(db, item.key, "ready")
    assert moved.queue == "qa" and moved.status == "ready"
    assert [d["type"] for d in done] == ["move"]
    assert done[0]["text"] == f"moved {item.key} to queue qa"
    assert _events(db, item.key, "queue") == [("work", "qa")]


def test_assign_named_person_and_triage_of_current_queue(tmp_path: Path) -> None:
    db = make_db(
        tmp_path,
        data_with(
            [
                {"type": "move", "queue": "qa"},
                {"type": "assign", "rule": "triage"},  # triage of the queue it was just moved to
            ]
        ),
    )
    item = _doing(db)
    moved, done = transitions.transition(db, item.key, "ready")
    assert moved.owner == "jon"
    assert "triage owner of qa" in done[1]["text"]

    db2 = make_db(
        tmp_path, data_with([{"type": "assign", "rule": "person", "person": "zed"}]), name="b.db"
    )
    item = _doing(db2)
    moved, _ = transitions.transition(db2, item.key, "ready")
    assert moved.owner == "zed"
    assert _events(db2, item.key, "owner") == [(None, "zed")]


def test_least_loaded_skips_away_and_inactive_and_counts_default_estimate(tmp_path: Path) -> None:
    db = make_db(tmp_path, data_with([{"type": "assign", "rule": "least_loaded", "skill": "pm"}]))
    # ann: 3 open items without estimate (3 x default 2h = 6h); ben: one 5h item.
    for _ in range(3):
        svc.create_item(db, queue="notes", title="unestimated", owner="ann")
    svc.create_item(db, queue="notes", title="five hours", owner="ben", estimate=5)
    # cat (away) and dan (inactive) have nothing but must not be picked.
    item = _doing(db)
    moved, done = transitions.transition(db, item.key, "ready")
    assert moved.owner == "ben", done
    assert "5h open" in done[0]["text"]
    # closed work does not count: close ann's items, now ann (0h) is least loaded
    with db.read() as conn:
        keys = [i.key for i in q.list_items(conn, q.ItemFilter(owner="ann"))]
    for k in keys:
        transitions.transition(db, k, "closed")
    other = _doing(db, title="second")
    moved, _ = transitions.transition(db, other.key, "ready")
    assert moved.owner == "ann"


def test_least_loaded_with_nobody_available_leaves_unowned_visibly(tmp_path: Path) -> None:
    db = make_db(tmp_path, data_with([{"type": "assign", "rule": "least_loaded", "skill": "rare"}]))
    from opstui.services import people

    people.edit_person(db, "zed", active=False)
    item = _doing(db)
    moved, done = transitions.transition(db, item.key, "ready")
    assert moved.owner is None
    assert "UNOWNED" in done[0]["text"] and "nobody with skill rare" in done[0]["text"]


def test_round_robin_rotates_by_last_assignment(tmp_path: Path) -> None:
    db = make_db(tmp_path, data_with([{"type": "assign", "rule": "round_robin", "skill": "pm"}]))
    owners = []
    for n in range(4):
        item = _doing(db, title=f"t{n}")
        moved, _ = transitions.transition(db, item.key, "ready")
        owners.append(moved.owner)
    # available pm people: ann, ben (cat away, dan inactive)
    assert owners == ["ann", "ben", "ann", "ben"]


def test_notify_person_and_triage_writes_event_and_notice(tmp_path: Path) -> None:
    db = make_db(
        tmp_path,
        data_with(
            [
                {"type": "notify", "person": "ann", "message": "{key} needs {owner}: {title}"},
                {"type": "notify", "triage_of": "qa", "message": "{key} is ready for QA"},
                {"type": "notify", "triage_of": "notes", "message": "nobody reads this"},
            ]
        ),
    )
    item = _doing(db, title="Title with [b]markup[/b] {key}")
    from opstui.services.context import writing

    with writing(db) as ctx:
        moved, done = transitions.transition_in(ctx, svc.item_for_update(ctx, item.key), "ready")
        notices = list(ctx.notices)
    assert notices == [
        f"ann: {item.key} needs unowned: Title with [b]markup[/b] {{key}}",
        f"jon: {item.key} is ready for QA",
    ]
    assert [n for _, n in _events(db, item.key, "notify")] == notices
    assert "notified nobody" in done[2]["text"] and "no triage owner" in done[2]["text"]


def test_follow_up_creates_linked_item_with_template_and_rule(tmp_path: Path) -> None:
    db = make_db(
        tmp_path,
        data_with(
            [
                {
                    "type": "follow_up",
                    "queue": "qa",
                    "kind": "check",
                    "title": "Check: {title} ({key})",
                    "priority": "P1",
                    "estimate": 3,
                    "assign": {"rule": "triage"},
                }
            ]
        ),
    )
    item = _doing(db)
    moved, done = transitions.transition(db, item.key, "ready")
    assert done[0]["type"] == "follow_up"
    with db.read() as conn:
        new = q.get_item(conn, done[0]["item"])
        links = conn.execute(select(LINK.c.src_id, LINK.c.dst_id, LINK.c.kind)).all()
    assert new.title == f"Check: Fix the VPN ({item.key})"
    assert (new.queue, new.kind, new.priority, new.estimate_hours, new.owner) == (
        "qa",
        "check",
        1,
        3.0,
        "jon",
    )
    assert new.parent_id == moved.id and new.data["origin"] == item.key
    assert (moved.id, new.id, "followup") in links
    assert _events(db, item.key, "followup") == [(None, new.key)]


def test_chain_runs_end_to_end_in_one_transaction(tmp_path: Path) -> None:
    data = data_with(
        [
            {
                "type": "follow_up",
                "queue": "qa",
                "title": "QA {key}",
                "assign": {"rule": "triage"},
                "then": "doing",
            }
        ]
    )
    # the follow-up's own transition (new -> doing) carries actions too
    data["workflows"][0]["transitions"][0]["actions"] = [
        {"type": "assign", "rule": "least_loaded", "skill": "pm"},
        {
            "type": "follow_up",
            "queue": "notes",
            "title": "Kickoff for {title}",
            "assign": {"rule": "person", "person": "zed"},
        },
    ]
    db = make_db(tmp_path, data)
    item = svc.create_item(db, queue="work", title="Root")
    transitions.transition(db, item.key, "doing")  # runs new->doing actions on the root itself
    with db.read() as conn:
        root = q.get_item(conn, item.key)
    assert root.owner == "ann"
    before = count(db, models.Item.__table__)
    moved, done = transitions.transition(db, item.key, "ready")
    kinds = [(d["type"], d["depth"]) for d in done]
    assert kinds == [("follow_up", 0), ("transition", 1), ("assign", 1), ("follow_up", 1)]
    assert count(db, models.Item.__table__) == before + 2
    with db.read() as conn:
        qa_item = q.get_item(conn, done[0]["item"])
        kickoff = q.get_item(conn, done[3]["item"])
    assert qa_item.status == "doing" and qa_item.owner == "ben"  # least loaded pm (ann has Root)
    assert kickoff.queue == "notes" and kickoff.owner == "zed" and kickoff.parent_id == qa_item.id
    assert describe_action(done[3]).startswith("  created ")


def test_runtime_guard_stops_a_loop_that_bypassed_the_loader(tmp_path: Path) -> None:
    db = make_db(tmp_path, data_with([]))
    loop = [{"type": "follow_up", "queue": "work", "title": "again {key}", "then": "doing"}]
    T = models.WorkflowTransition.__table__
    with db.write() as conn:  # corrupt the definition behind the loader's back
        conn.execute(
            update(T).where(T.c.from_state == "new", T.c.to_state == "doing").values(actions=loop)
        )
    item = svc.create_item(db, queue="work", title="seed")
    before = snapshot(db)
    with pytest.raises(InvalidTransition, match="loops"):
        transitions.transition(db, item.key, "doing")
    assert snapshot(db) == before


def test_approval_gate_approve_and_reject(tmp_path: Path) -> None:
    db = make_db(tmp_path, data_with([]))
    a = _doing(db, title="refund A")
    b = _doing(db, title="refund B")
    item, done = transitions.transition(db, a.key, "refunded")
    assert item.status == "doing" and item.approval == "pending"
    assert done[0]["type"] == "approval" and "approval requested" in done[0]["text"]
    # asking again does not create a second request
    item, done = transitions.transition(db, a.key, "refunded")
    assert "already waiting" in done[0]["text"]
    assert count(db, models.Approval.__table__) == 1
    assert [x.item_key for x in approvals.list_approvals(db)] == [a.key]

    moved, results = approvals.approve(db, a.key, "fine")
    assert moved.status == "refunded" and moved.approval == "none"
    assert [r["type"] for r in results] == ["approval", "transition"]
    with pytest.raises(ValidationError, match="no pending approval"):
        approvals.approve(db, a.key)

    transitions.transition(db, b.key, "refunded")
    rejected = approvals.reject(db, b.key, "no")
    assert rejected.status == "doing" and rejected.approval == "rejected"
    (decided,) = [x for x in approvals.list_approvals(db, status=None) if x.item_key == b.key]
    assert decided.status == "rejected" and decided.note == "no" and decided.decided_by == "tester"
    # a rejected item can ask again
    item, done = transitions.transition(db, b.key, "refunded")
    assert item.approval == "pending"


def test_dry_run_lists_everything_and_changes_nothing(tmp_path: Path) -> None:
    data = data_with(
        [
            {"type": "move", "queue": "qa"},
            {"type": "assign", "rule": "triage"},
            {"type": "notify", "triage_of": "qa", "message": "{key} ready"},
            {
                "type": "follow_up",
                "queue": "work",
                "title": "Next {key}",
                "then": "doing",
                "assign": {"rule": "person", "person": "zed"},
            },
        ]
    )
    data["workflows"][0]["transitions"][0]["actions"] = [
        {"type": "assign", "rule": "round_robin", "skill": "pm"}
    ]
    db = make_db(tmp_path, data)
    item = _doing(db)
    before = snapshot(db)
    moved, done = transitions.transition(db, item.key, "ready", dry_run=True)
    assert snapshot(db) == before
    assert [d["type"] for d in done] == [
        "move",
        "assign",
        "notify",
        "follow_up",
        "transition",
        "assign",
    ]
    assert all(d["text"].startswith("would ") for d in done)
    # and a gated move in a dry run: the request is shown, not stored
    gated_before = snapshot(db)
    _, done = transitions.transition(db, item.key, "refunded", dry_run=True)
    assert done[0]["text"].startswith("would request approval")
    assert snapshot(db) == gated_before


def test_replay_runs_nothing(tmp_path: Path) -> None:
    """History replayed by the loader never fires actions or approval gates."""
    data = data_with([{"type": "follow_up", "queue": "qa", "title": "QA {key}"}])
    data["items"] = [
        {
            "queue": "work",
            "title": "old",
            "created": "2026-11-01T10:00:00Z",
            "history": [
                {"at": "2026-11-01T11:00:00Z", "to": "doing"},
                {"at": "2026-11-01T12:00:00Z", "to": "ready"},
                {"at": "2026-11-01T13:00:00Z", "to": "doing"},
                {"at": "2026-11-01T14:00:00Z", "to": "refunded"},
            ],
        }
    ]
    db = make_db(tmp_path, data)
    with db.read() as conn:
        items = q.list_items(conn)
    assert [(i.queue, i.status) for i in items] == [("work", "refunded")]
    assert count(db, models.Approval.__table__) == 0


def test_mv_cli_dry_run_prints_each_action(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests._automation_support import NOW, REPO

    data = data_with(
        [
            {"type": "move", "queue": "qa"},
            {"type": "assign", "rule": "triage"},
            {"type": "notify", "triage_of": "qa", "message": "{key} is ready for QA"},
        ]
    )
    db = make_db(tmp_path, data)
    item = _doing(db)
    db.dispose()
    before_now = (NOW + timedelta(minutes=1)).isoformat()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "opstui",
            "--db",
            str(tmp_path / "t.db"),
            "--now",
            before_now,
            "mv",
            item.key,
            "ready",
            "--dry-run",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"dry run: would move {item.key} to ready (nothing was changed)"
    assert lines[1:] == [
        f"  would move {item.key} to queue qa",
        f"  would assign {item.key} to jon (triage owner of qa)",
        f"  would notify jon (triage owner of qa): {item.key} is ready for QA",
    ]
