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
