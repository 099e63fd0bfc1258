"""Live sync inside the real dashboard (headless): another terminal's change arrives by
itself, my own write is applied once, notices become toasts and ring the bell."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opstui.config import Config
from opstui.services import items as svc
from opstui.services import loading as loader
from opstui.store import queries as q
from opstui.store.engine import Database
from opstui.store.schema import open_database

FIXTURE = Path(__file__).with_name("sync_fixture.toml")


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Database, Database]]:
    path = tmp_path / "ops.db"
    db = open_database(path, create=True, unix_user="loader")
    loader.load_file(db, FIXTURE)
    db.dispose()
    a, b = open_database(path, unix_user="alice"), open_database(path, unix_user="bob")
    yield a, b
    a.dispose()
    b.dispose()


def last_id(db: Database) -> int:
    with db.read() as conn:
        return q.last_event_id(conn)


async def until(pilot: Any, cond: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await pilot.pause(0.02)


async def test_dashboard_follows_other_terminal_and_own_writes_once(
    pair: tuple[Database, Database],
) -> None:
    from opstui.ui.app import make_app

    a, b = pair
    app = make_app(a, Config(bell=True), watch=True)
    fresh_calls: list[tuple[int, ...]] = []
    original = app.refresh_from_events

    def recording(events: list[q.EventRecord]) -> None:
        fresh_calls.append(tuple(e.id for e in events if e.id > app.event_cursor))
        original(events)

    app.refresh_from_events = recording  # type: ignore[method-assign]
    bells: list[int] = []
    app.bell = lambda: bells.append(1)  # type: ignore[method-assign]

    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.sync_mode == "watching")
        assert "live" in str(app.screen.query_one("StatusBar").render())

        # Another terminal assigns to alice: no key pressed, it arrives, with a toast + bell.
        svc.assign(b, "BIL-1", "alice")
        target = last_id(b)
        await until(pilot, lambda: app.event_cursor >= target)
        await until(  # the notice comes with the live feed's batch, maybe after the cursor moved
            pilot,
            lambda: any("BIL-1 assigned to you" in str(n.message) for n in app._notifications),
        )
        assert bells

        # My own write through the app: applied at once, never twice, no notice for it.
        notes = len(app._notifications)
        app.write(lambda db: svc.assign(db, "SUP-1", "alice"), lambda it: f"{it.key} taken")
        await until(pilot, lambda: app.event_cursor >= last_id(a))
        await pilot.pause(0.3)  # give the watcher time to (wrongly) deliver it again
        own = last_id(a)
        assert sum(own in ids for ids in fresh_calls) == 1
        assert not any(
            "assigned to you" in str(n.message) for n in list(app._notifications)[notes:]
        )
        assert app.live_feed is not None and app.live_feed.cursor.position == app.event_cursor


async def test_dashboard_says_when_it_polls(pair: tuple[Database, Database]) -> None:
    from opstui.ui.app import make_app

    a, b = pair
    app = make_app(a, Config(poll_interval=0.1), watch=True, poll=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.sync_mode.startswith("polling"))
        assert "polling (--poll)" in str(app.screen.query_one("StatusBar").render())
        svc.create_item(b, queue="billing", title="Card declined")
        target = last_id(b)
        await until(pilot, lambda: app.event_cursor >= target)


def test_fixture_is_a_real_file(pair: tuple[Database, Database]) -> None:
    con = sqlite3.connect(pair[0].path)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        con.close()
