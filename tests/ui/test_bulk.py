"""Bulk actions: mark rows, then assign / move / comment on all; each item its own change."""

from __future__ import annotations

from ui_helpers import settle

from opstui.services import items
from opstui.store import queries as q
from opstui.ui.screens.items import ItemListScreen
from opstui.ui.screens.picker import PickerScreen
from opstui.ui.widgets.item_table import ItemTable


def rec(db, key: str) -> q.ItemRecord:
    with db.read() as conn:
        r = q.get_item(conn, key)
    assert r is not None
    return r


def owner_events(db, key: str) -> list[tuple[str | None, str | None]]:
    with db.read() as conn:
        r = q.get_item(conn, key)
        return [(e.old, e.new) for e in q.recent_events(conn, 50, r.id) if e.field == "owner"]


async def open_support(pilot, app) -> ItemTable:
    await settle(pilot, app)
    await pilot.press("enter")  # the support queue's list, most urgent first
    await settle(pilot, app)
    assert isinstance(app.screen, ItemListScreen)
    return app.screen.query_one(ItemTable)


async def test_bulk_assign_three_marked_items(shop_db, make):
    app = make(shop_db)
    async with app.run_test(size=(100, 30)) as pilot:
        table = await open_support(pilot, app)
        await pilot.press("space")  # SUP-1 (space marks and moves down)
        await pilot.press("shift+down")  # extends over SUP-2 and SUP-3
        marked = [table.records[i].key for i in table.marked_ids]
        assert marked == ["SUP-1", "SUP-2", "SUP-3"]
        assert "3 marked" in str(app.screen.query_one("#filterbar").content)
        versions = {k: rec(shop_db, k).version for k in marked}
        await pilot.press("a")
        await settle(pilot, app)
        assert isinstance(app.screen, PickerScreen)
        await pilot.press(*"bob", "enter")
        await settle(pilot, app)
        for key in marked:
            r = rec(shop_db, key)
            assert r.owner == "bob" and r.version == versions[key] + 1
            assert owner_events(shop_db, key)[-1][1] == "bob"  # its own event
        assert not table.marked  # marks cleared after the action


async def test_a_stale_item_is_reported_and_the_rest_go_through(shop_db, make):
    app = make(shop_db)
    notes: list[str] = []
    async with app.run_test(size=(100, 30)) as pilot:
        table = await open_support(pilot, app)
        await pilot.press("space", "space", "space")  # SUP-1, SUP-2, SUP-3
        await pilot.press("m")
        await settle(pilot, app)
        assert isinstance(app.screen, PickerScreen)
        offered = [c.value for c in app.screen.shown]
        assert "cancelled" in offered  # a state all three can reach
        items.assign(shop_db, "SUP-2", "alice")  # SUP-2 changes in another terminal
        app.notify = lambda text, **kw: notes.append(str(text))  # type: ignore[method-assign]
        await pilot.press(*"cancelled", "enter")
        await settle(pilot, app)
        assert rec(shop_db, "SUP-1").status == "cancelled"
        assert rec(shop_db, "SUP-3").status == "cancelled"
        assert rec(shop_db, "SUP-2").status == "new"
        assert any("skipped" in n and "SUP-2" in n for n in notes), notes
        assert table.marked == set()


async def test_star_marks_every_shown_row_and_comment_reaches_each(shop_db, make):
    app = make(shop_db)
    async with app.run_test(size=(100, 30)) as pilot:
        table = await open_support(pilot, app)
        await pilot.press("asterisk")
        assert table.marked == set(table.ids) and len(table.ids) == 6
        await pilot.press("c")
        await settle(pilot, app)
        await pilot.press(*"bulk note", "ctrl+s")
        await settle(pilot, app)
        for i in table.ids:
            with shop_db.read() as conn:
                bodies = [c.body for c in q.item_comments(conn, i)]
            assert "bulk note" in bodies


def queue_events(db, key: str) -> list[tuple[str, str | None, str | None]]:
    with db.read() as conn:
        r = q.get_item(conn, key)
        return [
            (e.field, e.old, e.new)
            for e in q.recent_events(conn, 50, r.id)
            if e.field in ("queue", "status")
        ]


async def test_bulk_transfer_three_marked_items_one_stale(shop_db, make):
    from opstui.ui.screens.transfer import TransferForm

    app = make(shop_db)
    notes: list[str] = []
    async with app.run_test(size=(100, 30)) as pilot:
        table = await open_support(pilot, app)
        await pilot.press("space", "space", "space")  # SUP-1, SUP-2, SUP-3
        marked = [table.records[i].key for i in table.marked_ids]
        assert marked == ["SUP-1", "SUP-2", "SUP-3"]
        versions = {k: rec(shop_db, k).version for k in marked}
        await pilot.press("T")
        await settle(pilot, app)
        assert isinstance(app.screen, TransferForm)
        assert [qu.slug for qu in app.screen.queues] == ["infra"]  # all are in support
        items.assign(shop_db, "SUP-2", "alice")  # SUP-2 changes in another terminal
        app.notify = lambda text, **kw: notes.append(str(text))  # type: ignore[method-assign]
        await pilot.press("enter")
        await settle(pilot, app)
        for key in ("SUP-1", "SUP-3"):
            r = rec(shop_db, key)
            assert r.queue == "infra" and r.version == versions[key] + 1
            assert queue_events(shop_db, key)[-1] == ("queue", "support", "infra")
        assert rec(shop_db, "SUP-2").queue == "support"
        assert not any(f == "queue" for f, _o, _n in queue_events(shop_db, "SUP-2"))
        assert any(
            "2 transferred to infra: SUP-1, SUP-3" in n and "skipped" in n and "SUP-2" in n
            for n in notes
        ), notes
        assert not table.marked


async def test_bulk_transfer_across_workflows_refuses_per_item_with_reason(shop_db, make):
    from opstui.services import transitions
    from opstui.services.loading import load_data

    load_data(
        shop_db,
        {
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
                    "transitions": [{"from": "*", "to": "closed"}],
                }
            ],
            "queues": [{"slug": "desk", "name": "Desk", "workflow": "desk"}],
        },
    )
    transitions.transition(shop_db, "SUP-2", "in_progress")
    transitions.transition(shop_db, "SUP-2", "waiting_on_customer")
    app = make(shop_db)
    notes: list[str] = []
    async with app.run_test(size=(100, 30)) as pilot:
        table = await open_support(pilot, app)
        for n, i in enumerate(table.ids):
            if table.records[i].key in ("SUP-1", "SUP-2", "SUP-3"):
                table.toggle_mark(n, on=True)
        assert len(table.marked) == 3
        await pilot.press("T")
        await settle(pilot, app)
        app.notify = lambda text, **kw: notes.append(str(text))  # type: ignore[method-assign]
        options = app.screen.query_one("OptionList")
        options.highlighted = [o.id for o in options._options].index("desk")
        await pilot.press("enter")
        await settle(pilot, app)
        assert (rec(shop_db, "SUP-1").queue, rec(shop_db, "SUP-1").status) == ("desk", "open")
        assert (rec(shop_db, "SUP-3").queue, rec(shop_db, "SUP-3").status) == ("desk", "working")
        assert queue_events(shop_db, "SUP-3")[-2:] == [
            ("queue", "support", "desk"),
            ("status", "in_progress", "working"),
        ]
        assert rec(shop_db, "SUP-2").queue == "support"
        assert any(
            "failed: SUP-2:" in n and "several states that fit: on_hold, parked" in n for n in notes
        ), notes
