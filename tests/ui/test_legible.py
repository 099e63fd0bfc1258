"""80x24 with hostile titles from the fault suite and a wide-character name: every
screen legible, nothing interpreted, footers never clipped, one time format."""

from __future__ import annotations

from datetime import timedelta

from ui_helpers import ANCHOR, screen_text, settle

from opstui.services import items, people
from opstui.ui.widgets.keybar import KeyBar

#: The markup and escape payloads of tests/faults/test_injection.py.
HOSTILE = [
    "[@click=app.quit]x[/]",
    "[/b]",
    "[$accent]",
    "\x1b]52;c;aGk=\x07",
    "\x1b[2J",
    "\x9b31m",
    "'); DROP TABLE items;--",
]


def hostile_shop(db) -> None:
    people.add_person(db, handle="yamada", name="山田 Zoë 🚀", team="support", capacity=20)
    for n, payload in enumerate(HOSTILE):
        it = items.create_item(
            db,
            queue="support",
            title=f"{payload} 顧客 🚀 printer {n}",
            owner="yamada" if n % 2 else None,
            priority=1 + n % 4,
            estimate=n or None,
        )
        items.edit_item(db, it.key, due=ANCHOR + timedelta(minutes=7 * n - 20, seconds=30))


def _at(*keys: str, open_item: str | None = None):
    async def before(pilot) -> None:
        await settle(pilot, pilot.app)
        if open_item:
            pilot.app.open_item(open_item)
        for k in keys:
            await pilot.press(k)
            await settle(pilot, pilot.app)

    return before


def test_main_hostile_80x24(shop_db, make, snap_compare):
    hostile_shop(shop_db)
    assert snap_compare(make(shop_db), terminal_size=(80, 24), run_before=_at())


def test_item_list_hostile_80x24(shop_db, make, snap_compare):
    hostile_shop(shop_db)
    assert snap_compare(make(shop_db), terminal_size=(80, 24), run_before=_at("enter"))


def test_detail_hostile_80x24(shop_db, make, snap_compare):
    hostile_shop(shop_db)
    before = _at(open_item="SUP-11")
    assert snap_compare(make(shop_db), terminal_size=(80, 24), run_before=before)


async def test_footers_never_clip_and_keep_help(shop_db, make):
    hostile_shop(shop_db)
    app = make(shop_db)
    for width in (60, 80, 120):
        async with app.run_test(size=(width, 24)) as pilot:
            await settle(pilot, app)
            for keys in ((), ("enter",), ("enter", "enter")):
                for k in keys:
                    await pilot.press(k)
                    await settle(pilot, app)
                bar = app.screen.query_one(KeyBar)
                line = bar.render()
                assert line.cell_len <= width
                assert line.plain.rstrip().endswith("? Help  ^p palette"), (width, line.plain)
                # each shown binding whole: "key description" pairs, never a cut word
                whole = {f"{key} {desc}" for key, desc, _, _ in bar.entries()}
                chunks = line.plain.strip().split("  ")
                assert chunks and all(c in whole for c in chunks), chunks
                await pilot.press("escape", "escape")
                await settle(pilot, app)
        app = make(shop_db)


async def test_one_time_format_and_the_focused_title(shop_db, make):
    import re

    hostile_shop(shop_db)
    app = make(shop_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        text = screen_text(app)
        assert not re.search(r"\d\d:\d\d(?! UTC)", text.replace("16:45 UTC", ""))
        assert re.search(r"-\d+m ", text)  # past due: minus, minutes
        await pilot.press("enter")  # support list
        await settle(pilot, app)
        text = screen_text(app)
        focused = app.screen.query_one("#focus-title")
        assert str(focused.content).startswith(app.screen.current_item_key() + "  ")
        assert "\x1b" not in text and "\x9b" not in text


async def test_layout_follows_the_size_it_has_now(shop_db, make):
    app = make(shop_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        for width, compact in ((70, True), (120, False), (100, False), (79, True)):
            await pilot.resize_terminal(width, 24)
            await pilot.pause()
            assert app.compact is compact, width
            assert app.screen.has_class("-compact") is compact, width
