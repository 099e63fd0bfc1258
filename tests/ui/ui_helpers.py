"""Helpers shared by the UI tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opstui.services import items, people, transitions
from opstui.store.engine import Database

ANCHOR = datetime(2026, 12, 4, 16, 45, tzinfo=UTC)


async def settle(pilot, app) -> None:
    """Let workers finish and their messages be handled."""
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


def static_text(widget) -> str:
    """The plain text a Static shows (its content rendered without colour)."""
    from rich.console import Console

    console = Console(width=200, color_system=None, legacy_windows=False)
    with console.capture() as cap:
        console.print(widget.content)
    return cap.get()


def screen_text(app) -> str:
    """Every character on the app's current screen (what a terminal would show)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(seg.text for seg in strip) for strip in strips)


def build_shop(db: Database) -> None:
    """Three people (one away today, one overloaded), two queues, a dozen items."""
    today = ANCHOR.date()
    people.add_person(db, handle="alice", name="Alice Moreno", team="support", capacity=40)
    people.add_person(db, handle="bob", name="Bob Okafor", team="support", capacity=10)
    people.add_person(
        db,
        handle="carol",
        name="Carol Nguyen",
        team="infra",
        capacity=32,
        away=[{"start": str(today - timedelta(days=1)), "end": str(today + timedelta(days=3))}],
    )
    people.add_queue(
        db, slug="support", name="Support", prefix="SUP", triage_owner="alice", wip_limit=4
    )
    people.add_queue(db, slug="infra", name="Infra", prefix="INF")
    specs = [
        ("support", "Printer jams on floor 2", None, 3, 1, -50),
        ("support", "VPN drops every few minutes", None, 2, 2, 8),
        ("support", "Laptop will not boot", "alice", 1, 3, 25),
        ("support", "Add user to finance group", "bob", 3, 4, 90),
        ("support", "Mailbox full", "bob", 3, 6, 300),
        ("support", "Reset MFA for the new starter", "bob", 2, 3, None),
        ("infra", "Renew TLS certificates", "carol", 2, 5, 2000),
        ("infra", "Patch the hypervisors", "alice", 3, 8, None),
        ("infra", "Backup job failing nightly", None, 1, 2, -5),
    ]
    for queue, title, owner, prio, est, due_min in specs:
        it = items.create_item(
            db, queue=queue, title=title, owner=owner, priority=prio, estimate=est, kind="task"
        )
        if due_min is not None:
            items.edit_item(db, it.key, due=ANCHOR + timedelta(minutes=due_min, seconds=30))
    done = items.create_item(db, queue="support", title="Old closed ticket", owner="alice")
    transitions.transition(db, done.key, "in_progress")
    transitions.transition(db, done.key, "done")
    transitions.transition(db, "SUP-3", "in_progress")
    items.comment(db, "SUP-3", "Looking at it now")
