"""The dashboard ticks when a countdown under an hour on screen next reads differently
(every second under a minute, at its minute otherwise); otherwise on the wall-clock minute
(issue 17: an idle dashboard costs almost nothing)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ui_helpers import ANCHOR, settle

from opstui.config import Config
from opstui.domain.clock import Clock
from opstui.domain.sla import format_remaining
from opstui.domain.targets import nearest
from opstui.store.records import ItemFilter
from opstui.ui.app import make_app
from opstui.ui.widgets.sla_pane import text_wait


def _to_minute(app) -> float:
    now = app.clock.now()
    return max(60 - now.second - now.microsecond / 1e6, 1 - now.microsecond / 1e6)


def _shown(app, seconds_on: float) -> list[tuple[str, str] | None]:
    """What the SLA pane's visible countdowns read ``seconds_on`` from now (the domain's
    own rules, not the pane's)."""
    pane = app.screen.sla_pane
    top = round(pane.scroll_y)
    at = app.clock.now() + timedelta(seconds=seconds_on)
    out = []
    for row in pane.items[top : top + pane.scrollable_content_region.height]:
        t = nearest(row, at)
        out.append(None if t is None else (t.state, format_remaining(t.left.total_seconds())))
    return out


@pytest.mark.parametrize(
    ("left", "wait"),
    [
        (90.4, 30.4),  # 1m until it reads 59s
        (59.5, 0.5),  # 59s -> 58s: every second under a minute
        (0.3, 0.3),  # 0s -> -0s: the crossing
        (-0.3, 0.7),  # -0s -> -1s
        (-59.2, 0.8),  # -59s -> -1m
        (-61.0, 59.0),  # -1m -> -2m
        (3599.0, 59.0),  # 59m -> 58m
        (7325.0, 65.0 - 60.0),  # 2h02m -> 2h01m
    ],
)
def test_text_wait_is_when_the_one_time_format_changes(left: float, wait: float) -> None:
    assert text_wait(left) == pytest.approx(wait)
    assert format_remaining(left - wait + 0.01) == format_remaining(left)
    assert format_remaining(left - wait - 0.01) != format_remaining(left)


async def test_ticks_when_a_countdown_under_an_hour_reads_differently(shop_db) -> None:
    # at the anchor, items due in 8 and 25 minutes (and 5 and 50 minutes over) are listed:
    # no countdown shows seconds, so the next tick is when the first of them turns over,
    # not in a second; nothing on screen changes before it, and something does at it
    app = make_app(shop_db, Config(), clock=Clock.frozen(ANCHOR), watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        wait = app.screen.sla_pane.next_change_in(app.clock.now())
        assert wait is not None and 1.0 < wait <= 60.0
        assert _shown(app, 0) == _shown(app, wait - 0.01)
        assert _shown(app, 0) != _shown(app, wait + 0.01)


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
    # "Mailbox full" is due at +300m30s: 4h59m after the anchor it reads 1m30s (the next
    # tick when it reads 59s), 31 s later it shows seconds (a tick every second); at 3h58m
    # it reads 1h02m: the next tick is on the minute, not later
    for offset, expected in (
        (timedelta(hours=4, minutes=59), 30.0),
        (timedelta(hours=4, minutes=59, seconds=31), 1.0),
        (timedelta(hours=3, minutes=58), None),
    ):
        clock = Clock.starting_at(ANCHOR + offset)
        app = make_app(shop_db, Config(), clock=clock, watch=False, housekeeping=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot, app)
            if expected is None:
                assert 0.0 < app.tick_delay() <= _to_minute(app) + 0.25
            else:
                elapsed = (clock.now() - ANCHOR - offset).total_seconds()
                assert abs(app.tick_delay() - (expected - elapsed)) < 1.0
