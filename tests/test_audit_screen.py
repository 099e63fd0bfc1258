"""The review screen's SPOF audit block (tab 7, Risks) on the sample shop, through Pilot."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable, Static

from opstui.config import Config
from opstui.services import audit_apply
from opstui.services.loading import load_data
from opstui.services.processes import audit as svc
from opstui.ui.app import make_app
from opstui.ui.screens.review import ReviewScreen
from tests.test_audit import AUDIT, answer, audit_items
from tests.test_review_screen import cells, settle


async def test_risks_tab_shows_coverage_and_remaining_single_points(sample_db: Any) -> None:
    app = make_app(sample_db, Config(), clock=sample_db.clock, review=True, watch=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("7")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        cov = screen.query_one("#rv-audit-cov", Static)
        # no audit process: the block says so and how to set it up
        assert "not set up" in str(cov.render())
        assert not screen.query_one("#t-audit", DataTable).display

    load_data(sample_db, AUDIT, source="audit")
    svc.run_audit(sample_db)
    key = next(i.key for i in audit_items(sample_db) if i.owner == "dev")
    answer(sample_db, "dev", key, "skill: firewall -> alice")
    app = make_app(sample_db, Config(), clock=sample_db.clock, review=True, watch=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("7")
        await settle(app, pilot)
        screen = app.screen
        text = str(screen.query_one("#rv-audit-cov", Static).render())
        assert text.startswith("SPOF audit 2026-12: 1 of 12 answered (not yet: alice, bob")
        table = screen.query_one("#t-audit", DataTable)
        assert ("dev", "skill", "firewall") in zip(
            cells(table, 0), cells(table, 1), cells(table, 2), strict=True
        )
        # once applied (here directly through the service), a reload (r) drops dev's rows
        audit_apply.apply_answers(sample_db, key)
        await pilot.press("r")
        await settle(app, pilot)
        assert "dev" not in cells(table, 0)


async def test_an_open_dashboard_runs_the_month_audit_once_with_one_notice(sample_db: Any) -> None:
    load_data(sample_db, AUDIT, source="audit")
    app = make_app(sample_db, Config(), clock=sample_db.clock, watch=False, housekeeping=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.pause(1.3)  # the first tick runs what is due
        await settle(app, pilot)
        assert len(audit_items(sample_db)) == 12
        notices = [n.message for n in app._notifications if "audit" in n.message]
        assert len(notices) == 1
        # one line for the month's twelve items, among the other late processes
        audit_lines = [ln for ln in notices[0].splitlines() if "spof-audit" in ln]
        assert len(audit_lines) == 1 and "LATE" in audit_lines[0], notices[0]
    assert svc.run_audit(sample_db).results == ()
