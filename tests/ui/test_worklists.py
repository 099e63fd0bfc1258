"""Urgency sorting, `s` cycling the sort, my work, saved views from the config."""

from __future__ import annotations

import pytest
from ui_helpers import ANCHOR, settle

from opstui.config import ConfigError, View, parse_config
from opstui.services import items
from opstui.store import ordering
from opstui.store import queries as q
from opstui.ui.screens.items import ItemListScreen
from opstui.ui.widgets.item_table import ItemTable


def keys(app) -> list[str]:
    table = app.screen.query_one(ItemTable)
    return [table.records[i].key for i in table.ids if i in table.records]


def test_urgency_order(shop_db):
    """Breached (most overdue first), then time to due, then priority, then age."""
    items.create_item(shop_db, queue="support", title="P1 no due", priority=1)
    with shop_db.read() as conn:
        ids = ordering.sorted_item_ids(
            conn, q.ItemFilter(open_only=True), sort="urgency", now=ANCHOR
        )
        recs = {r.id: r for r in q.items_by_ids(conn, ids)}
    order = [recs[i].key for i in ids]
    # SUP-1 is 50 min overdue, INF-3 5 min: both breached, most overdue first
    assert order[:2] == ["SUP-1", "INF-3"]
    dues = [recs[i].next_due_at for i in ids[2:] if recs[i].next_due_at is not None]
    assert dues == sorted(dues)
    no_due = [recs[i] for i in ids if recs[i].next_due_at is None]
    assert [r.priority for r in no_due] == sorted(r.priority for r in no_due)
    new = next(r.key for r in no_due if r.title == "P1 no due")
    assert order.index(new) > order.index("SUP-5")  # no due date: after every due one
    assert no_due[0].key == new  # and first of those: P1


async def test_list_sorts_by_urgency_and_s_cycles(shop_db, make):
    app = make(shop_db)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("enter")  # support queue
        await settle(pilot, app)
        assert app.screen.sort == "urgency"
        assert keys(app)[:2] == ["SUP-1", "SUP-2"]  # breached, then 8 min left
        await pilot.press("s")
        await settle(pilot, app)
        assert app.screen.sort == "priority"
        assert keys(app)[0] == "SUP-3"  # the only P1 of the queue
        await pilot.press("s", "s", "s")
        await settle(pilot, app)
        assert app.screen.sort == "urgency"


async def test_my_work_key_and_status_count(shop_db, make):
    from opstui.config import Config

    app = make(shop_db, Config(me="bob"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        assert app.my_handle == "bob"
        assert "3 mine" in str(app.screen.query_one("StatusBar").render())
        await pilot.press("M")
        await settle(pilot, app)
        assert isinstance(app.screen, ItemListScreen)
        assert app.screen.flt.owner == "bob" and app.screen.sort == "urgency"
        assert keys(app) == ["SUP-4", "SUP-5", "SUP-6"]  # due 1h30m, due 5h, no due
        items.assign(shop_db, "SUP-1", "bob")  # work lands on me elsewhere
        app.action_reload()
        await settle(pilot, app)
        assert "4 mine" in str(app.screen.query_one("StatusBar").render())


async def test_saved_views_in_palette_and_picker(shop_db, make):
    config = parse_config(
        {
            "me": "alice",
            "views": [
                {"name": "Support fires", "filter": {"queue": "support", "sla": "breached"}},
                {"name": "Mine by prio", "filter": {"owner": "me"}, "sort": "priority"},
            ],
        },
        "test",
    )
    assert config.views[1] == View("Mine by prio", (("owner", "me"),), "priority")
    app = make(shop_db, config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        from opstui.ui.commands import app_commands

        names = [c[0] for c in app_commands(app)]
        assert "View: Support fires" in names and "View: Mine by prio" in names
        await pilot.press("v")
        await settle(pilot, app)
        await pilot.press(*"mine by", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, ItemListScreen)
        assert app.screen.flt.owner == "alice" and app.screen.sort == "priority"
        assert keys(app) == ["SUP-3", "INF-2"]


def test_bad_views_are_refused_in_one_line():
    with pytest.raises(ConfigError) as err:
        parse_config(
            {"views": [{"name": "x", "filter": {"queu": "support"}}, {"name": "y", "sort": "z"}]},
            "cfg.toml",
        )
    text = str(err.value)
    assert "views[1]: unknown filter key queu" in text and "views[2]: sort must be" in text
