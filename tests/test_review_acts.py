"""The review acts on its whole agenda (Pilot): transfer from the stuck list, bulk actions
on marked rows of a tab, approvals with their reason and comments decided in a batch with
one note, and the minutes of last week's review shown as "decided last week"."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from textual.widgets import DataTable, Static

from opstui.domain import models
from opstui.domain.clock import Clock
from opstui.services import items as items_svc
from opstui.services import loading as loader
from opstui.services import review as review_svc
from opstui.store import queries as q
from opstui.store.schema import open_database
from opstui.ui.screens.picker import PickerScreen
from opstui.ui.screens.review import ReviewScreen
from opstui.ui.screens.transfer import TransferForm
from tests.test_review import NOW, team_data
from tests.test_review_screen import cells, review_app, settle

REVIEW = models.Review.__table__


@pytest.fixture
def db(tmp_path: Path) -> Any:
    database = open_database(
        tmp_path / "team.db", create=True, clock=Clock.frozen(NOW), unix_user="lead"
    )
    loader.load_data(database, team_data(), source="team")
    yield database
    database.dispose()


def item(db: Any, key: str) -> q.ItemRecord:
    with db.read() as conn:
        rec = q.get_item(conn, key)
    assert rec is not None
    return rec


def fields(db: Any, key: str, field: str) -> list[tuple[str | None, str | None, str]]:
    rec = item(db, key)
    with db.read() as conn:
        return [
            (e.old, e.new, e.unix_user)
            for e in q.recent_events(conn, 50, rec.id)
            if e.field == field
        ]


async def open_review(app: Any, pilot: Any) -> ReviewScreen:
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, ReviewScreen) and screen.review is not None
    return screen


async def test_transfer_from_the_stuck_list_is_a_minute(db: Any) -> None:
    app = review_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_review(app, pilot)
        stuck = screen.review.stuck[0].key  # type: ignore[union-attr]
        assert item(db, stuck).queue == "ops"
        await pilot.press("3")
        screen.query_one("#t-stuck", DataTable).focus()
        await settle(app, pilot)
        assert screen.current_item_key() == stuck
        await pilot.press("T")
        await settle(app, pilot)
        assert isinstance(app.screen, TransferForm)
        assert [qu.slug for qu in app.screen.queues] == ["web"]
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ReviewScreen)
        assert item(db, stuck).queue == "web"
        assert fields(db, stuck, "queue")[-1] == ("ops", "web", "lead")
        assert [(d.kind, d.item, d.detail) for d in screen.decisions] == [
            ("transfer", stuck, "ops -> web")
        ]


async def test_bulk_assign_marked_rows_on_a_tab_one_stale(db: Any, tmp_path: Path) -> None:
    # another terminal, another person
    other = open_database(tmp_path / "team.db", clock=db.clock, unix_user="ann")
    app = review_app(db)
    notes: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_review(app, pilot)
        blocked = [b.key for b in screen.review.blocked]  # type: ignore[union-attr]
        assert len(blocked) == 2
        await pilot.press("3", "space", "space")  # marks both blocked rows
        await settle(app, pilot)
        table = screen.query_one("#t-blocked", DataTable)
        assert all(c.startswith("\u25cf ") for c in cells(table, 0)), cells(table, 0)
        assert "2 marked" in str(screen.query_one("#rv-status", Static).content)
        await pilot.press("a")
        await settle(app, pilot)
        assert isinstance(app.screen, PickerScreen)
        items_svc.assign(other, blocked[1], "ann")  # changed in another terminal meanwhile
        app.notify = lambda text, **kw: notes.append(str(text))  # type: ignore[method-assign]
        await pilot.press(*"cy", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ReviewScreen)
        assert item(db, blocked[0]).owner == "cy"
        assert fields(db, blocked[0], "owner")[-1][1:] == ("cy", "lead")  # its own event
        assert item(db, blocked[1]).owner == "ann"  # the stale one is left alone ...
        assert any("skipped" in n and blocked[1] in n for n in notes), notes  # ... and named
        assert [(d.kind, d.item) for d in screen.decisions] == [("assign", blocked[0])]
        assert "\u25cf" not in "".join(cells(table, 0))  # marks cleared after the action
    other.dispose()


async def test_star_marks_a_tab_and_comment_reaches_each(db: Any) -> None:
    app = review_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_review(app, pilot)
        await pilot.press("2")  # SLA has no rows in this data: nothing to mark
        await pilot.press("3", "asterisk")
        await settle(app, pilot)
        blocked = [b.key for b in screen.review.blocked]  # type: ignore[union-attr]
        await pilot.press("c")
        await settle(app, pilot)
        await pilot.press(*"discussed in the review", "ctrl+s")
        await settle(app, pilot)
        for key in blocked:
            with db.read() as conn:
                bodies = [c.body for c in q.item_comments(conn, item(db, key).id)]
            assert bodies[-1] == "discussed in the review"
        assert sorted(d.item for d in screen.decisions if d.kind == "comment") == sorted(blocked)


async def test_approvals_show_reason_and_last_comments_and_go_in_a_batch(db: Any) -> None:
    from opstui.services import transitions

    loader.load_data(
        db,
        {"items": [{"queue": "web", "title": "Second refund", "owner": "bo", "approval": "done"}]},
        source="more",
    )
    transitions.transition(db, "WEB-3", "in_progress")
    first = review_svc.weekly_review(db).approvals[0].key
    for n in range(4):
        items_svc.comment(db, first, f"comment {n}")
    items_svc.comment(db, first, "[b]not markup[/b]\x1b[31m")
    app = review_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_review(app, pilot)
        assert len(screen.review.approvals) == 2  # type: ignore[union-attr]
        await pilot.press("5")
        await settle(app, pilot)
        detail = str(screen.query_one("#approval-detail", Static).content)
        assert "Reason: " in detail
        # the last three comments, oldest first, literal, control bytes stripped
        assert "comment 0" not in detail and "comment 1" not in detail
        assert detail.index("comment 2") < detail.index("comment 3")
        assert "[b]not markup[/b]" in detail and "\x1b" not in detail
        await pilot.press("space", "space")
        await settle(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        await pilot.press(*"agreed in review", "enter")
        await settle(app, pilot)
        assert screen.review.approvals == ()  # type: ignore[union-attr]
        approvals = [d for d in screen.decisions if d.kind == "approve"]
        assert len(approvals) == 2 and {d.detail for d in approvals} == {"agreed in review"}


async def test_decided_last_week_shows_the_previous_reviews_minutes(db: Any) -> None:
    app = review_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_review(app, pilot)
        assert not screen.query_one("#t-minutes", DataTable).display  # none recorded yet
        unowned = screen.review.unowned[0].key  # type: ignore[union-attr]
        await pilot.press("4", "a")
        await settle(app, pilot)
        await pilot.press(*"cy", "enter")
        await settle(app, pilot)
        await pilot.press("h")
        await settle(app, pilot)
        await pilot.press(*"kept short", "enter")  # recorded, with a note
        await settle(app, pilot)
        assert screen.query_one("#t-minutes", DataTable).display is False  # not this week's
    with db.read() as conn:
        assert len(conn.execute(select(REVIEW)).all()) == 1

    db.clock = Clock.frozen(NOW + timedelta(days=7, hours=2))
    rv = review_svc.weekly_review(db)
    assert [(m.kind, m.item, m.held_by) for m in rv.decided_last_week] == [
        ("assign", unowned, "lead"),
        ("note", "", "lead"),
    ]
    md = review_svc.to_markdown(rv)
    section = md.split("## Decided last week", 1)[1]
    assert f"| assign | {unowned} | nobody -> cy |" in section
    assert "kept short" in section
    data = json.loads(json.dumps(review_svc.to_json(rv), default=str))
    assert data["decided_last_week"][0]["item"] == unowned
    assert data["decided_last_week"][0]["held_by"] == "lead"
    from opstui.services.review.html import to_html

    assert "Decided last week" in to_html(rv) and "nobody -&gt; cy" in to_html(rv)
    # a review of the week before that one does not show minutes recorded after it
    older = review_svc.weekly_review(db, week=(NOW - timedelta(days=7)).date())
    assert older.decided_last_week == ()

    app = review_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_review(app, pilot)
        minutes = screen.query_one("#t-minutes", DataTable)
        assert minutes.display
        assert cells(minutes, 0) == [unowned, ""]
        assert cells(minutes, 3) == ["assign", "note"]
        agenda = screen.query_one("#t-agenda", DataTable)
        keys = [r.value for r in agenda.rows]
        agenda.focus()
        agenda.move_cursor(row=keys.index("last"))
        assert cells(agenda, 1)[keys.index("last")] == "1"
        await pilot.press("enter")  # the agenda line jumps to the minutes
        await settle(app, pilot)
        assert screen.focused is minutes
        await pilot.press("enter")  # and Enter there opens the item
        await settle(app, pilot)
        assert getattr(app.screen, "key", None) == unowned


async def test_load_tab_acts_on_the_suggestions_item(db: Any) -> None:
    """On the load tab (rebalancing and drifting work) c / a / m / T act on the item of the
    suggestion under the cursor; space and Enter still select and accept suggestions."""
    from textual.widgets import TextArea

    app = review_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_review(app, pilot)
        move = screen.review.capacity.moves[0]  # type: ignore[union-attr]
        await pilot.press("6")
        await settle(app, pilot)
        assert screen.current_item_key() == move.key
        await pilot.press("c")
        await settle(app, pilot)
        app.screen.query_one(TextArea).insert("talk to ann first")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        with db.read() as conn:
            bodies = [c.body for c in q.item_comments(conn, item(db, move.key).id)]
        assert bodies[-1] == "talk to ann first"
        assert [(d.kind, d.item) for d in screen.decisions] == [("comment", move.key)]
        assert item(db, move.key).owner == move.from_handle  # not reassigned by c
