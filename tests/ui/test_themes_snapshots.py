"""The real main screen in one dark and one light opstui theme (frozen clock, 100x30),
chosen the way a user does: --theme (here with_overrides, as the CLI does) and through
the command palette, plus every shipped theme rendering the main screen without error.

Update with ``pytest tests/ui/test_themes_snapshots.py --snapshot-update`` after a
deliberate change to a theme or the main screen.
"""

from __future__ import annotations

import pytest
from ui_helpers import settle

from opstui.config import Config, with_overrides
from opstui.ui.themes import APP_VARIABLES

SIZE = (100, 30)


def _themed(theme: str) -> Config:
    return with_overrides(Config(), theme=theme)


async def _ready(pilot) -> None:
    await settle(pilot, pilot.app)


def test_main_screen_opstui_dark(shop_db, make, snap_compare):
    assert snap_compare(
        make(shop_db, _themed("opstui-dark")), terminal_size=SIZE, run_before=_ready
    )


def test_main_screen_opstui_light(shop_db, make, snap_compare):
    assert snap_compare(
        make(shop_db, _themed("opstui-light")), terminal_size=SIZE, run_before=_ready
    )


@pytest.mark.parametrize(
    "theme", ["opstui-dark", "opstui-light", "opstui-high-contrast", "opstui-256"]
)
async def test_every_theme_renders_the_main_screen(shop_db, make, theme: str) -> None:
    app = make(shop_db, _themed(theme))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.theme == theme
        assert not app._notifications  # no theme problems, no errors
        variables = app.get_css_variables()
        for name in APP_VARIABLES:
            assert variables[name] == app.current_theme.variables[name]
        svg = app.export_screenshot()
        assert "SUP-1" in svg
