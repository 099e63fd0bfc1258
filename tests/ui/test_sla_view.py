"""SLA states from cached due times and the clock (what the panes tick with)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from opstui.domain import targets as sla_view
from opstui.ui.text import duration

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


@dataclass
class Row:
    created_at: datetime = T0
    category: str = "new"
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    sla_fr_due: datetime | None = None
    sla_res_due: datetime | None = None
    sla_paused_since: datetime | None = None
    sla_fr_state: str | None = None
    sla_res_state: str | None = None
    next_due_at: datetime | None = None
    sla_fr_warn: datetime | None = None
    sla_res_warn: datetime | None = None


def test_due_date_only_counts_down_and_breaches():
    row = Row(next_due_at=T0 + timedelta(hours=10))
    assert sla_view.nearest(row, T0 + timedelta(hours=1)).state == "ok"
    # an explicit due date has no warning point (domain.figures): ok until it breaches
    assert sla_view.nearest(row, T0 + timedelta(hours=9, minutes=59)).state == "ok"
    t = sla_view.nearest(row, T0 + timedelta(hours=11))
    assert (t.state, t.name, t.left) == ("breached", "due", timedelta(hours=-1))


def test_policy_targets_response_met_then_resolution():
    row = Row(
        sla_fr_due=T0 + timedelta(minutes=30),
        sla_res_due=T0 + timedelta(hours=8),
        sla_res_warn=T0 + timedelta(hours=7, minutes=50),
        first_response_at=T0 + timedelta(minutes=10),
        category="active",
    )
    targets = sla_view.targets(row, T0 + timedelta(hours=1))
    assert [(t.name, t.state) for t in targets] == [("response", "met"), ("resolution", "ok")]
    near = sla_view.nearest(row, T0 + timedelta(hours=7, minutes=55))
    assert (near.name, near.state) == ("resolution", "warning")


def test_paused_clock_keeps_time_left_frozen():
    row = Row(
        sla_res_due=T0 + timedelta(hours=4),
        sla_paused_since=T0 + timedelta(hours=1),
        category="waiting",
    )
    for hours in (2, 30):
        t = sla_view.nearest(row, T0 + timedelta(hours=hours))
        assert (t.state, t.left) == ("paused", timedelta(hours=3))


def test_warning_starts_at_the_engines_cached_instant():
    row = Row(sla_fr_due=T0 + timedelta(hours=5), sla_fr_warn=T0 + timedelta(hours=4))
    assert sla_view.nearest(row, T0 + timedelta(hours=3, minutes=59)).state == "ok"
    assert sla_view.nearest(row, T0 + timedelta(hours=4)).state == "warning"


def test_breach_before_a_pause_stands_and_a_late_answer_is_history():
    paused = Row(
        sla_res_due=T0 + timedelta(hours=2),
        sla_paused_since=T0 + timedelta(hours=3),
        category="waiting",
        next_due_at=T0 + timedelta(hours=2),
    )
    t = sla_view.nearest(paused, T0 + timedelta(hours=30))
    assert (t.state, t.left) == ("breached", timedelta(hours=-1))
    late = Row(
        sla_fr_due=T0 + timedelta(minutes=30),
        first_response_at=T0 + timedelta(hours=1),
        sla_res_due=T0 + timedelta(hours=8),
        category="active",
    )
    now = T0 + timedelta(hours=2)
    assert [(t.name, t.state, t.open) for t in sla_view.targets(late, now)] == [
        ("response", "breached", False),
        ("resolution", "ok", True),
    ]
    assert sla_view.nearest(late, now).state == "ok"


def test_done_items_have_met_or_breached_targets():
    row = Row(
        category="done",
        sla_res_due=T0 + timedelta(hours=2),
        resolved_at=T0 + timedelta(hours=3),
        next_due_at=None,
    )
    assert [t.state for t in sla_view.targets(row, T0 + timedelta(days=1))] == ["breached"]
    assert sla_view.nearest(Row(category="done"), T0) is None


def test_duration_fits_seven_cells_under_a_hundred_days():
    for seconds in (0, 59, 3599, 3600, 86399, 86400, 99 * 86400, -59, -3600 * 23, -86400 * 99):
        assert len(duration(seconds)) <= 7, seconds
    assert duration(-90) == "-1m" and duration(3 * 3600 + 5 * 60) == "3h05m"
    assert duration(300) == "5m" and duration(-(86400 + 8 * 3600)) == "-1d08h"
