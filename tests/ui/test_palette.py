"""The palette and the help screen are generated from each screen's bindings: every
binding is there, once; no command appears twice."""

from __future__ import annotations

from textual.command import CommandPalette
from ui_helpers import settle, static_text

from opstui.ui.bindings import NAVIGATION, screen_bindings
from opstui.ui.commands import OpsCommands
from opstui.ui.screens.help import HelpScreen


def palette_names(app) -> list[tuple[str, str]]:
    provider = OpsCommands(app.screen)
    return [(name, help_text) for name, help_text, _ in provider._commands()]


def assert_every_binding(app) -> None:
    screen = app.screen
    entries = palette_names(app)
    names = [n.lower() for n, _ in entries]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    helps = {h for _, h in entries}
    for b in [*screen.BINDINGS, *app.BINDINGS]:
        if not b.description or b.action in NAVIGATION:
            continue
        key = app.get_key_display(b)
        assert any(key in h.removeprefix("key: ").split(", ") for h in helps), (b.key, b.action)
    assert names.count("quit") == 1


async def test_palette_holds_every_binding_of_each_screen(shop_db, make):
    app = make(shop_db)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        assert_every_binding(app)  # dashboard
        await pilot.press("2")
        assert ("Assign the SLA row's item", "key: a") in palette_names(app)
        await pilot.press("l")  # item list
        await settle(pilot, app)
        assert_every_binding(app)
        assert {"Assign", "Sort", "Filter"} <= {n for n, _ in palette_names(app)}
        await pilot.press("enter")  # detail
        await settle(pilot, app)
        assert_every_binding(app)
        # the system palette adds Textual's commands but no second Quit
        await pilot.press("ctrl+p")
        await settle(pilot, app)
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"quit")
        await settle(pilot, app)
        from textual.command import CommandList

        options = app.screen.query_one(CommandList)
        quits = [
            i
            for i in range(options.option_count)
            if str(options.get_option_at_index(i).prompt).lower().startswith("quit")
        ]
        assert len(quits) == 1


async def test_help_lists_the_same_bindings(shop_db, make):
    app = make(shop_db)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot, app)
        under = app.screen
        expected = screen_bindings(under)
        await pilot.press("question_mark")
        await settle(pilot, app)
        assert isinstance(app.screen, HelpScreen)
        text = static_text(app.screen.query_one("Static"))
        for keys, desc, _, _ in expected:
            assert desc in text and keys in text, (keys, desc)
