"""The dashboard ticks every second only while a countdown under an hour is on screen;
otherwise on the wall-clock minute (issue 17: an idle dashboard costs almost nothing)."""

from __future__ import annotations

from datetime import timedelta

from ui_helpers import ANCHOR, settle

from opstui.config import Config
from opstui.domain.clock import Clock
from opstui.store.records import ItemFilter
from opstui.ui.app import make_app


def _to_minute(app) -> float:
    now = app.clock.now()
    return max(60 - now.second - now.microsecond / 1e6, 1 - now.microsecond / 1e6)


async def test_seconds_while_an_urgent_countdown_is_in_view(shop_db) -> None:
    # at the anchor, items due in 8 and 25 minutes (and 5 and 50 minutes over) are listed
    app = make_app(shop_db, Config(), clock=Clock.starting_at(ANCHOR), watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        assert app.tick_delay() <= 1.0


async def test_minutes_when_every_countdown_is_hours_away(shop_db) -> None:
    # three hours on, every countdown on screen is over an hour (late or left): minute ticks,
    # until another screen with its own countdowns is in view
    later = Clock.starting_at(ANCHOR + timedelta(hours=3))
    app = make_app(shop_db, Config(), clock=later, watch=False, housekeeping=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        assert app.pane_data is not None and app.pane_data.sla
        assert abs(app.tick_delay() - _to_minute(app)) < 0.25
        app.open_items(ItemFilter(open_only=True))
        await settle(pilot, app)
        assert app.tick_delay() <= 1.0
        app.pop_screen()
        await settle(pilot, app)
        assert abs(app.tick_delay() - _to_minute(app)) < 0.25


async def test_a_countdown_about_to_cross_zero_sets_the_next_tick(shop_db) -> None:
    # 4h59m after the anchor "Mailbox full" (due at +300m30s) has 1m30s left: seconds;
    # at 3h58m it has 62m30s left: the next tick is on the minute, not later
    for offset, seconds in (
        (timedelta(hours=4, minutes=59), True),
        (timedelta(hours=3, minutes=58), False),
    ):
        clock = Clock.starting_at(ANCHOR + offset)
        app = make_app(shop_db, Config(), clock=clock, watch=False, housekeeping=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot, app)
            if seconds:
                assert app.tick_delay() <= 1.0
            else:
                assert 0.0 < app.tick_delay() <= _to_minute(app) + 0.25
