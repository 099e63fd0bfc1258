"""Pilot: 'T' (shift+t) on the detail screen transfers the item to another queue."""

from __future__ import annotations

from ui_helpers import screen_text, settle, static_text

from opstui.store import queries as q
from opstui.ui.screens.detail import ItemDetailScreen
from opstui.ui.screens.transfer import TransferForm


async def test_transfer_from_detail(shop_db, make):
    app = make(shop_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        app.open_item("SUP-2")
        await settle(pilot, app)
        assert isinstance(app.screen, ItemDetailScreen)
        await pilot.press("T")
        await settle(pilot, app)
        assert isinstance(app.screen, TransferForm)
        assert "infra" in screen_text(app)
        await pilot.press("enter")  # the only other queue
        await settle(pilot, app)
        with shop_db.read() as conn:
            moved = q.get_item(conn, "SUP-2")
        assert moved is not None and moved.queue == "infra"
        assert isinstance(app.screen, ItemDetailScreen)
        assert "queue: support → infra" in static_text(app.screen.query_one("#d-history"))
