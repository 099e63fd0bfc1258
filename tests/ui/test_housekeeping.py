"""An open terminal records SLA crossings and runs due processes, exactly once, and only
when its due times say so (the per-second tick never queries)."""

from __future__ import annotations

from datetime import timedelta

from ui_helpers import settle

from opstui.services.loading import load_data
from opstui.store import queries as q

PROCESS = {
    "key": "daily-check",
    "name": "Daily backup check",
    "owner": "alice",
    "trigger": {"cron": "0 9 * * *"},
    "timezone": "UTC",
    "queue": "support",
    "runbook": "1. Look at last night's backup report\n2. Open a ticket for each failure",
}


def crossing_events(db) -> list[tuple[int | None, str, str | None]]:
    with db.read() as conn:
        return [
            (e.item_id, e.field, e.new)
            for e in q.events_after(conn, 0)
            if e.field in ("sla_warning", "sla_breached")
        ]


async def test_housekeeping_records_crossings_and_runs_processes_once(shop_db, make) -> None:
    policy = {"name": "support", "queue": "support", "first_response": "30m", "resolution": "4h"}
    load_data(shop_db, {"processes": [PROCESS], "sla_policies": [policy]}, source="p.toml")
    assert crossing_events(shop_db) == []
    app = make(shop_db, housekeeping=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        assert app.next_sla_check is not None and app.next_process_run is not None
        assert app.next_sla_check > shop_db.clock.now()  # nothing due yet: nothing written
        await pilot.pause(1.3)
        await settle(pilot, app)
        assert crossing_events(shop_db) == []
        shop_db.clock.advance(timedelta(hours=5))  # every target is now past due
        await pilot.pause(1.3)  # the tick sees the due times and starts the work
        await settle(pilot, app)
        first = crossing_events(shop_db)
        assert first, "breached items in the shop must have their breach recorded"
        assert len(first) == len(set(first))
        with shop_db.read() as conn:
            made = q.list_items(conn, q.ItemFilter(text="Daily backup check"), limit=None)
        assert len(made) == 1 and made[0].owner == "alice"
        with shop_db.read() as conn:
            assert app.event_cursor == q.last_event_id(conn)  # applied to this view at once
        # nothing more is due now: further ticks write nothing
        await pilot.pause(1.3)
        await settle(pilot, app)
        assert crossing_events(shop_db) == first
        with shop_db.read() as conn:
            assert len(q.list_items(conn, q.ItemFilter(text="Daily backup check"), limit=None)) == 1


async def test_what_if_clock_writes_no_history(shop_db, make) -> None:
    app = make(shop_db)  # frozen clock: housekeeping is off by default
    assert app.housekeeping is False
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.pause(1.2)
        await settle(pilot, app)
    assert crossing_events(shop_db) == []


async def test_an_open_terminal_records_drift_once_and_looks_again_later(sample_db, make) -> None:
    app = make(sample_db, housekeeping=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.pause(1.3)  # the first tick runs the first drift check
        await settle(pilot, app)
        with sample_db.read() as conn:
            marks = [(e.item_key, e.new) for e in q.events_after(conn, 0) if e.field == "drifting"]
            assert app.event_cursor == q.last_event_id(conn)
        keys = [k for k, _ in marks]
        assert "PRJ-25" in keys and len(keys) == len(set(keys))  # told once each
        assert all(text.endswith(" late") for _, text in marks)
        nxt = app.next_drift_check
        assert nxt is not None and nxt > sample_db.clock.now()
        assert nxt.timestamp() % 300 == 0  # on the wall clock's five minutes
        await pilot.pause(1.3)
        await settle(pilot, app)
        with sample_db.read() as conn:
            assert sum(e.field == "drifting" for e in q.events_after(conn, 0)) == len(keys)
