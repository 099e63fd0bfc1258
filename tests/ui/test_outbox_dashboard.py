"""An open dashboard delivers the outbox, but not while another deliverer holds the lease,
and says in its status bar when deliveries are failing (issue 19)."""

from __future__ import annotations

import time

from opstui.config import Config
from opstui.services import items as items_svc
from opstui.services import outbox as svc
from opstui.ui.app import make_app
from opstui.ui.widgets.status import StatusBar
from tests.test_outbox import Receiver


async def _until(pilot, check, seconds: float = 15.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return True
        await pilot.pause(0.1)
    return check()


async def test_dashboard_delivers_only_when_elected_and_shows_failures(shop_db) -> None:
    receiver = Receiver()
    try:
        svc.add_hook(shop_db, {"name": "web", "on": "created", "url": receiver.url})
        assert svc.elect(shop_db, "another-deliverer")  # e.g. another dashboard, sending
        items_svc.create_item(shop_db, queue="support", title="first")
        app = make_app(shop_db, Config(), clock=shop_db.clock, watch=True, housekeeping=True)
        async with app.run_test(size=(120, 30)) as pilot:
            assert await _until(pilot, lambda: app.outbox_worker is not None)
            await pilot.pause(1.0)
            assert receiver.requests == []  # the other deliverer holds the lease
            svc.resign(shop_db, "another-deliverer")
            app.outbox_worker.nudge()
            assert await _until(pilot, lambda: len(receiver.requests) == 1)
            receiver.fail = 5
            items_svc.create_item(shop_db, queue="support", title="second")
            app.outbox_worker.nudge()
            assert await _until(
                pilot, lambda: app.outbox_summary is not None and app.outbox_summary.count == 1
            )
            await pilot.pause(0.2)
            line = str(app.screen.query_one(StatusBar).render())
            assert "1 delivery failing: web 500" in line
            assert len(receiver.requests) == 2
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


async def test_change_feed_wakes_the_outbox_only_for_changes_a_hook_hears(
    shop_db, monkeypatch
) -> None:
    """Every open dashboard follows every change; its outbox worker reads the outbox only
    when a change could have written a delivery (issue 17: a change costs every open
    terminal almost nothing).  A change a hook hears is delivered with no other nudge."""
    receiver = Receiver()
    looks: list[float] = []
    real_look = svc.look

    def counting_look(db):
        looks.append(time.monotonic())
        return real_look(db)

    monkeypatch.setattr(svc, "look", counting_look)
    try:
        svc.add_hook(shop_db, {"name": "web", "on": "created", "url": receiver.url})
        app = make_app(shop_db, Config(), clock=shop_db.clock, watch=True, housekeeping=True)
        async with app.run_test(size=(120, 30)) as pilot:
            assert await _until(pilot, lambda: app.outbox_worker is not None and looks)
            assert await _until(pilot, lambda: app.outbox_worker.heard == {"created"})
            key = items_svc.create_item(shop_db, queue="support", title="first").key
            assert await _until(pilot, lambda: len(receiver.requests) == 1)
            await pilot.pause(0.5)
            before = len(looks)
            cursor = app.event_cursor
            for handle in ("alice", "bob", "carol"):
                items_svc.assign(shop_db, key, handle)
            assert await _until(pilot, lambda: app.event_cursor >= cursor + 3)
            await pilot.pause(0.5)
            assert len(looks) == before  # owner changes: nobody hears them, no read
            items_svc.create_item(shop_db, queue="support", title="second")
            assert await _until(pilot, lambda: len(receiver.requests) == 2)
            assert len(looks) > before
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
