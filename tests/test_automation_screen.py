"""The process catalog screen, in a small host app on a real database."""

from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Static

from opstui.services.processes import run as processes
from opstui.store.engine import Database
from opstui.ui.screens.processes import ProcessCatalogScreen
from tests._automation_support import data_with, make_db

NASTY = "[b]bold[/b] [@click=app.quit]x[/] \x1b[31mred"


class Host(App[None]):
    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db

    def compose(self) -> ComposeResult:
        yield Static("host")

    def on_mount(self) -> None:
        self.push_screen(ProcessCatalogScreen(self.db))


def _data() -> dict:
    return data_with(
        extra={
            "processes": [
                {
                    "key": "invoices",
                    "name": "Invoice run",
                    "owner": "ann",
                    "trigger": {"cron": "0 9 1 * *"},
                    "timezone": "Europe/London",
                    "queue": "work",
                    "skills": ["qa"],
                    "runbook": "1. Export\n2. Send",
                },
                {
                    "key": "orphan",
                    "name": NASTY,
                    "queue": "notes",
                    "trigger": {"cron": "30 8 * * 1-5"},
                    "timezone": "America/New_York",
                    "skills": ["rare"],
                    "runbook": f"1. {NASTY}",
                },
                {"key": "idle", "name": "Idle", "owner": "dan", "queue": "notes"},
            ]
        }
    )


async def _loaded(pilot) -> ProcessCatalogScreen:
    screen = pilot.app.screen
    assert isinstance(screen, ProcessCatalogScreen)
    for _ in range(100):
        await pilot.pause(0.05)
        if screen.catalog is not None:
            break
    await pilot.pause()
    return screen


async def test_catalog_screen_shows_processes_findings_and_runbook(tmp_path: Path) -> None:
    db = make_db(tmp_path, _data())
    processes.run_due(db)
    app = Host(db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _loaded(pilot)
        shown = screen.snapshot_for_tests()
        assert [r[0].strip("! ") for r in shown["rows"]] == ["idle", "invoices", "orphan"]
        assert shown["rows"][1][1] == "ann" and shown["rows"][1][2] == "2027-01-01 09:00"
        assert shown["rows"][2][1] == "(no owner)"
        assert shown["rows"][0][2] == "never" and shown["rows"][0][4] == "none"
        assert "orphan: no owner" in shown["findings"]
        assert "idle: owner dan is inactive" in shown["findings"]
        assert "idle: no trigger" in shown["findings"]
        # first row selected: idle
        assert "(no runbook steps)" in shown["detail"]
        await pilot.press("down")
        await pilot.pause()
        detail = screen.snapshot_for_tests()["detail"]
        assert "Invoice run" in detail and " 1. Export" in detail and " 2. Send" in detail
        await pilot.press("down")
        await pilot.pause()
        detail = screen.snapshot_for_tests()["detail"]
        # markup and escape sequences from the database are shown literally
        assert "[b]bold[/b] [@click=app.quit]x[/]" in detail
        assert "\x1b" not in detail and "\u241b[31mred" in detail
        assert app.is_running  # the [@click=app.quit] text did nothing


async def test_catalog_screen_reloads_in_place_and_closes(tmp_path: Path) -> None:
    db = make_db(tmp_path, _data())
    app = Host(db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _loaded(pilot)
        table = screen.query_one("#pc-table", DataTable)
        table.move_cursor(row=2)
        await pilot.pause()
        assert screen.selected().key == "orphan"
        assert screen.snapshot_for_tests()["rows"][1][3] == "-"
        processes.run_due(db)  # another terminal runs the due processes
        first = screen.catalog
        await pilot.press("r")
        for _ in range(100):
            await pilot.pause(0.05)
            if screen.catalog is not first:
                break
        await pilot.pause()
        rows = screen.snapshot_for_tests()["rows"]
        # last run filled in, in place: the occurrence's due date (1 December), not the run time
        assert rows[1][3].startswith("2026-12-01 09:00 WRK-")
        assert screen.selected().key == "orphan"  # the cursor stayed put
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ProcessCatalogScreen)


async def test_catalog_screen_with_no_processes(tmp_path: Path) -> None:
    db = make_db(tmp_path, data_with([]))
    app = Host(db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _loaded(pilot)
        shown = screen.snapshot_for_tests()
        assert shown["rows"] == []
        assert "No processes yet" in shown["detail"]
        assert "No findings" in shown["findings"]
