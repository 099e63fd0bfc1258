"""Enter opens the thing under the cursor; keys act on the pane focused at that moment."""

from __future__ import annotations

from textual import events
from ui_helpers import settle

from opstui.ui.screens.detail import ItemDetailScreen
from opstui.ui.screens.items import ItemListScreen
from opstui.ui.widgets.panes import OwnersPane, SlaPane


async def test_enter_on_sla_row_opens_that_item(shop_db, make):
    app = make(shop_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("2", "j")
        sla = app.screen.query_one(SlaPane)
        key = str(sla.cursor_key)
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, ItemDetailScreen) and app.screen.key == key
        await pilot.press("escape")
        await settle(pilot, app)
        await pilot.press("l")  # the list of the row's SLA state, on that item
        await settle(pilot, app)
        assert isinstance(app.screen, ItemListScreen)
        assert app.screen.flt.sla_state == "breached"
        assert app.screen.current_item_key() == key


async def test_keys_typed_at_once_act_on_the_newly_focused_pane(shop_db, make):
    """``3`` then Enter with no pause between them (tmux send-keys): the Owners pane's
    row opens, not the Queues pane's."""
    app = make(shop_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        app.post_message(events.Key("3", "3"))
        app.post_message(events.Key("enter", "\r"))
        await settle(pilot, app)
        assert isinstance(app.screen, ItemListScreen)
        owners = app.screen_stack[0].query_one(OwnersPane)
        assert app.screen.flt.owner == str(owners.cursor_key)
        assert app.screen.flt.queue is None
