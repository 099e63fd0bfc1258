"""Snapshots of the main screen (80x24, 160x48, compact) with a frozen clock.

Update with ``pytest tests/ui/test_snapshots.py --snapshot-update`` after a deliberate change.
"""

from __future__ import annotations

from ui_helpers import settle

from opstui.config import Config


async def _ready(pilot) -> None:
    await settle(pilot, pilot.app)


def test_main_80x24(shop_db, make, snap_compare):
    assert snap_compare(make(shop_db), terminal_size=(80, 24), run_before=_ready)


def test_main_160x48(shop_db, make, snap_compare):
    assert snap_compare(make(shop_db), terminal_size=(160, 48), run_before=_ready)


def test_main_compact(shop_db, make, snap_compare):
    app = make(shop_db, Config(compact=True))
    assert snap_compare(app, terminal_size=(60, 20), run_before=_ready)


def test_main_auto_compact_below_threshold(shop_db, make, snap_compare):
    app = make(shop_db, Config(compact_below=100))
    assert snap_compare(app, terminal_size=(90, 24), run_before=_ready)


def test_item_list_80x24(shop_db, make, snap_compare):
    async def before(pilot) -> None:
        await settle(pilot, pilot.app)
        await pilot.press("enter")
        await settle(pilot, pilot.app)

    assert snap_compare(make(shop_db), terminal_size=(80, 24), run_before=before)


def test_item_detail_80x24(shop_db, make, snap_compare):
    async def before(pilot) -> None:
        await settle(pilot, pilot.app)
        pilot.app.open_item("SUP-3")
        await settle(pilot, pilot.app)

    assert snap_compare(make(shop_db), terminal_size=(80, 24), run_before=before)
