"""Markup and escape sequences from the database are shown literally and do nothing."""

from __future__ import annotations

import pytest
from ui_helpers import screen_text as _screen_text
from ui_helpers import settle

from opstui.services import items, people
from opstui.store import queries as q
from opstui.ui.screens.detail import ItemDetailScreen
from opstui.ui.screens.items import ItemListScreen
from opstui.ui.widgets.item_table import ItemTable


def screen_text(app) -> str:
    return " ".join(_screen_text(app).split(" "))


def squash(text: str) -> str:
    return " ".join(text.split())


PAYLOADS = [
    "[@click=app.quit]x[/]",
    "[/b]",
    "[$accent]",
    "\x1b]52;c;aGk=\x07",
    "\x1b[2J",
    "\x9b31m",
    "'); DROP TABLE items;--",
]


def shown(payload: str) -> str:
    """What the payload must look like on screen: ESC visible as a symbol, C0/C1 gone."""
    from opstui.domain.text import strip_controls

    return " ".join(strip_controls(payload).split())


@pytest.mark.parametrize("payload", PAYLOADS)
async def test_payload_in_every_text_field(db, make, payload):
    people.add_person(db, handle="pat", name=f"Pat {payload}", capacity=40)
    people.add_queue(db, slug="evil", name=f"Q {payload}", prefix="EV")
    it = items.create_item(
        db, queue="evil", title=f"T {payload}", body=f"B {payload}", owner="pat", kind="task"
    )
    items.comment(db, it.key, f"C {payload}")
    app = make(db)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, app)
        assert app.is_running
        main = screen_text(app)
        # queue rows show the slug, the Owners pane the handle: both plain
        assert "evil" in main and "pat" in main
        app.open_items(q.ItemFilter())
        await settle(pilot, app)
        assert isinstance(app.screen, ItemListScreen)
        assert app.screen.query_one(ItemTable).row_count() == 1
        listing = screen_text(app)
        assert f"T {shown(payload)}"[:16] in squash(listing)
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, ItemDetailScreen)
        detail = screen_text(app)
        for prefix in ("T", "B", "C"):
            assert f"{prefix} {shown(payload)}" in squash(detail), prefix
        assert f"Q {shown(payload)}" in squash(detail)  # queue name
        assert f"Pat {shown(payload)}" in squash(detail)  # person name
        for text in (main, listing, detail):
            assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text
        # the assign picker shows person names literally too
        await pilot.press("a")
        await settle(pilot, app)
        assert f"Pat {shown(payload)}"[:16] in squash(screen_text(app))
        await pilot.press("escape")
        await settle(pilot, app)
        assert app.is_running  # [@click=app.quit] did nothing
    with db.read() as conn:  # the SQL-looking payload is stored as text, tables intact
        assert q.get_item(conn, it.key).title == f"T {payload}".strip()
