"""The SLA pane sorts by drift on `o`: drifting items first, the latest finish first; the
title says which order is on; the key is in the palette and the help screen."""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace

import pytest
from ui_helpers import settle

from opstui.domain.forecast import late_by
from opstui.ui.bindings import screen_bindings
from opstui.ui.commands import OpsCommands
from opstui.ui.widgets.panes import SlaPane


def test_late_by_reads_what_the_drift_event_says() -> None:
    assert late_by("finishes Fri 11 Dec 10:08, due Wed 09 Dec 17:00: 1d17h late") == 41 * 3600
    assert late_by("finishes Thu 03 Dec 14:00, due Thu 03 Dec 11:00: 3h00m late") == 3 * 3600
    assert late_by("finishes Thu 03 Dec 11:05, due Thu 03 Dec 11:00: 5m late") == 300
    assert late_by("unplanned (nobody to plan it on), due Fri 04 Dec 17:00") == math.inf
    assert late_by("no finish within 366 days, due Fri 04 Dec 17:00") == math.inf
    assert late_by("finishes Thu 03 Dec 10:00, due Thu 03 Dec 11:00: 1h00m to spare") is None
    assert late_by(None) is None and late_by("") is None


def test_the_forecast_statement_and_its_reading_agree() -> None:
    """What services.forecast.describe writes, late_by reads back (to the shown unit)."""
    from datetime import UTC, datetime, timedelta

    from opstui.domain.forecast import Projection
    from opstui.domain.sla import make_calendar
    from opstui.services.forecast import describe

    cal = make_calendar("office", "UTC", {"mon-fri": "09:00-17:00"})
    due = datetime(2026, 12, 9, 17, 0, tzinfo=UTC)
    for late in (timedelta(minutes=7), timedelta(hours=5, minutes=30), timedelta(days=2, hours=3)):
        p = Projection("X-1", "dev", 0, finish_at=due + late, target_at=due)
        said = describe(SimpleNamespace(projection=p), cal)  # type: ignore[arg-type]
        assert late_by(said) == late.total_seconds(), said


@pytest.mark.both_engines
async def test_o_sorts_the_sla_pane_by_drift_and_says_so(sample_db, make):
    from opstui.services.drift import record_drift

    assert record_drift(sample_db) == 1  # PRJ-25 drifts behind dev's P2 work
    app = make(sample_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        pane = app.screen.query_one(SlaPane)
        assert pane.border_title == "SLA"
        keys = [r.key for r in pane.items]
        assert "PRJ-25" in keys and keys[0] != "PRJ-25"  # by time left it is further down
        assert any(
            "Order the SLA pane" in d and k == "o" for k, d, _, _ in screen_bindings(app.screen)
        )
        names = {n for n, _, _ in OpsCommands(app.screen)._commands()}
        assert any(n.startswith("Order the SLA pane") for n in names)
        await pilot.press("o")
        await settle(pilot, app)
        assert pane.order == "drift" and "by drift" in str(pane.border_title)
        assert pane.items[0].key == "PRJ-25"
        rest = [r for r in pane.items[1:]]
        assert [r.key for r in rest] == [k for k in keys if k != "PRJ-25"]  # by time left
        # several drifting rows: the latest finish first, no finish at all before any
        first = pane.items[0]
        rows = [
            replace(first, id=9001, key="D-1", drift_note="finishes x, due y: 3h00m late"),
            replace(first, id=9002, key="D-2", drift_note="finishes x, due y: 2d04h late"),
            replace(first, id=9003, key="D-3", drift_note="unplanned (nobody to plan it on)"),
            *pane.items[1:4],
        ]
        pane.show(rows)
        assert [r.key for r in pane.items[:3]] == ["D-3", "D-2", "D-1"]
        await pilot.press("o")  # back to time left
        await settle(pilot, app)
        assert pane.order == "due" and pane.border_title == "SLA"
