"""The wall view: big figures, breached work, the dashboard panes taking turns."""

from __future__ import annotations

from textual.widgets import ContentSwitcher, Digits
from ui_helpers import settle, static_text

from opstui.ui.screens.main import MainScreen
from opstui.ui.screens.wall import PAGES, Tile, WallScreen


async def _ready(pilot) -> None:
    await settle(pilot, pilot.app)


def test_wall_120x36(shop_db, make, snap_compare):
    assert snap_compare(make(shop_db, view="wall"), terminal_size=(120, 36), run_before=_ready)


async def test_wall_shows_the_dashboard_figures_and_cycles(shop_db, make):
    app = make(shop_db, view="wall")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot, app)
        wall = app.screen
        assert isinstance(wall, WallScreen)
        queues = app.pane_data.queues
        shown = {t.id: t.query_one(Digits).value for t in wall.query(Tile)}
        assert shown == {
            "tile-breached": str(sum(q.breaching for q in queues)),
            "tile-warning": str(sum(q.warning for q in queues)),
            "tile-unowned": str(sum(q.unowned for q in queues)),
            "tile-open": str(sum(q.open for q in queues)),
        }
        breached = static_text(wall.query_one("#wall-breached"))
        assert int(shown["tile-breached"]) > 0
        assert "SUP-" in breached  # the breached item keys, not just a count
        # nobody types at a wall: nothing takes focus, the panes take turns by themselves
        assert app.focused is None
        switcher = wall.query_one(ContentSwitcher)
        seen = [switcher.current]
        for _ in PAGES:
            wall.next_page()
            await pilot.pause()
            seen.append(switcher.current)
        assert seen == [p for p, _ in PAGES] + [PAGES[0][0]]


async def test_wall_key_in_the_terminal_and_back(shop_db, make):
    app = make(shop_db)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("W")
        await settle(pilot, app)
        assert isinstance(app.screen, WallScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
