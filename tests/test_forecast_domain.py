"""The forecast: hand-worked cases and properties (pure domain, no IO)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opstui.domain.forecast import (
    DEFAULT_FOCUS,
    FOCUS_MAX,
    FOCUS_MIN,
    Worker,
    WorkItem,
    forecast,
    learn_focus,
    suggest_rescues,
    work_order,
)
from opstui.domain.sla import make_calendar

OFFICE = make_calendar("office", "UTC", {"mon-fri": "09:00-17:00"})
# Monday 7 December 2026, 09:00 UTC.
MONDAY = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def item(key: str, hours: float, **kw: object) -> WorkItem:
    kw.setdefault("owner", "dev")
    kw.setdefault("created_at", MONDAY - timedelta(days=10))
    return WorkItem(key=key, remaining_hours=hours, **kw)  # type: ignore[arg-type]


def dev(**kw: object) -> Worker:
    kw.setdefault("capacity_hours", 40.0)
    kw.setdefault("focus", 1.0)
    kw.setdefault("calendar", OFFICE)
    return Worker(handle="dev", **kw)  # type: ignore[arg-type]


def test_hours_walk_through_the_working_week() -> None:
    # 40 h a week at full focus over 09-17: one working hour a clock hour.
    items = [item("A", 4), item("B", 6), item("C", 8)]
    got = forecast([dev()], items, MONDAY).projections
    assert got["A"].finish_at == MONDAY + timedelta(hours=4)  # Mon 13:00
    assert got["B"].finish_at == datetime(2026, 12, 8, 11, 0, tzinfo=UTC)  # Tue 11:00
    assert got["C"].finish_at == datetime(2026, 12, 9, 11, 0, tzinfo=UTC)  # Wed 11:00
    assert [got[k].position for k in "ABC"] == [0, 1, 2]


def test_weekend_and_time_away_are_skipped() -> None:
    friday = datetime(2026, 12, 11, 15, 0, tzinfo=UTC)
    away = ((date(2026, 12, 14), date(2026, 12, 14)),)  # Monday off
    got = forecast([dev(away=away)], [item("A", 4)], friday).projections
    # Fri 15-17 (2 h), weekend, Monday away, Tuesday 09-11.
    assert got["A"].finish_at == datetime(2026, 12, 15, 11, 0, tzinfo=UTC)


def test_half_capacity_and_focus_slow_the_walk() -> None:
    got = forecast([dev(capacity_hours=20.0, focus=0.5)], [item("A", 2)], MONDAY).projections
    # 20 h/week x 0.5 = 2 h a day.
    assert got["A"].finish_at == datetime(2026, 12, 7, 17, 0, tzinfo=UTC)


def test_sla_bound_work_first_then_priority_then_age() -> None:
    old = MONDAY - timedelta(days=30)
    items = [
        item("P3-old", 1, priority=3, created_at=old),
        item("P1", 1, priority=1),
        item("SLA-later", 1, sla_due_at=MONDAY + timedelta(days=2)),
        item("SLA-soon", 1, sla_due_at=MONDAY + timedelta(hours=3), priority=4),
        item("P3-new", 1, priority=3),
    ]
    assert [i.key for i in work_order(items)] == ["SLA-soon", "SLA-later", "P1", "P3-old", "P3-new"]


def test_drifting_with_margin_and_not_once_late() -> None:
    due = datetime(2026, 12, 9, 17, 0, tzinfo=UTC)  # Wed 17:00
    items = [item("BIG", 40, priority=1), item("DUE", 4, due_at=due, priority=3)]
    fc = forecast([dev()], items, MONDAY)
    p = fc.projections["DUE"]
    assert p.finish_at == datetime(2026, 12, 14, 13, 0, tzinfo=UTC)  # next Mon 13:00
    assert p.drifting(MONDAY)
    assert p.margin == p.finish_at - due
    assert [x.key for x in fc.drifting()] == ["DUE"]
    # Once the date has passed it is late, not drifting.
    assert not p.drifting(due + timedelta(minutes=1))


def test_unowned_work_goes_to_the_triage_owner_or_is_unplanned() -> None:
    items = [
        item("MINE", 2),
        item("TRIAGE", 1, owner=None, queue="support"),
        item("NOBODY", 1, owner=None, queue="infra", due_at=MONDAY + timedelta(days=1)),
    ]
    fc = forecast([dev()], items, MONDAY, triage={"support": "dev"})
    t = fc.projections["TRIAGE"]
    assert t.via_triage and t.planner == "dev" and t.position == 1
    assert t.finish_at == MONDAY + timedelta(hours=3)
    n = fc.projections["NOBODY"]
    assert n.unplanned and n.finish_at is None and n.drifting(MONDAY)


def test_inactive_or_zero_capacity_owner_cannot_finish() -> None:
    fc = forecast([dev(active=False)], [item("A", 1)], MONDAY)
    assert fc.projections["A"].finish_at is None and fc.projections["A"].unplanned
    fc = forecast([dev(capacity_hours=0.0)], [item("A", 1), item("Z", 0)], MONDAY)
    assert fc.projections["A"].finish_at is None
    assert fc.projections["Z"].finish_at is None  # behind an item that never finishes


def test_learn_focus_clamps_and_falls_back() -> None:
    assert learn_focus(0, 40) == DEFAULT_FOCUS
    assert learn_focus(10, 8) == DEFAULT_FOCUS  # too little basis
    assert learn_focus(20, 40) == 0.5
    assert learn_focus(100, 40) == FOCUS_MAX
    assert learn_focus(1, 40) == FOCUS_MIN


# --- properties ----------------------------------------------------------------------

hours = st.floats(min_value=0, max_value=30, allow_nan=False)
items_st = st.lists(
    st.tuples(
        hours, st.integers(1, 4), st.integers(0, 60), st.one_of(st.none(), st.integers(1, 200))
    ),
    min_size=1,
    max_size=12,
)


def _items(spec: list[tuple[float, int, int, int | None]]) -> list[WorkItem]:
    return [
        item(
            f"I{n}",
            h,
            priority=p,
            created_at=MONDAY - timedelta(days=age),
            sla_due_at=None if due is None else MONDAY + timedelta(hours=due),
        )
        for n, (h, p, age, due) in enumerate(spec)
    ]


def _finish(spec: list, worker: Worker) -> dict[str, datetime | None]:
    fc = forecast([worker], _items(spec), MONDAY)
    return {k: p.finish_at for k, p in fc.projections.items()}


def _not_later(a: datetime | None, b: datetime | None) -> bool:
    """a is no later than b (None = never)."""
    return b is None or (a is not None and a <= b)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items_st, st.floats(min_value=4, max_value=40), st.floats(min_value=0, max_value=40))
def test_more_capacity_never_makes_a_finish_later(spec, cap, extra) -> None:
    low = _finish(spec, dev(capacity_hours=cap))
    high = _finish(spec, dev(capacity_hours=cap + extra))
    assert all(_not_later(high[k], low[k]) for k in low)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items_st, st.integers(0, 20), st.integers(0, 10))
def test_time_away_never_makes_a_finish_earlier(spec, start, length) -> None:
    first = MONDAY.date() + timedelta(days=start)
    away = ((first, first + timedelta(days=length)),)
    base = _finish(spec, dev())
    off = _finish(spec, dev(away=away))
    assert all(_not_later(base[k], off[k]) for k in base)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items_st)
def test_finishes_follow_the_work_order(spec) -> None:
    fc = forecast([dev(capacity_hours=30.0, focus=0.8)], _items(spec), MONDAY)
    ordered = sorted(fc.projections.values(), key=lambda p: p.position)
    finishes = [p.finish_at for p in ordered]
    for a, b in zip(finishes, finishes[1:], strict=False):
        assert _not_later(a, b)
    assert [p.key for p in ordered] == [i.key for i in work_order(_items(spec))]


def test_a_drifting_item_is_rescued_by_someone_with_time_and_skill() -> None:
    due = datetime(2026, 12, 9, 17, 0, tzinfo=UTC)
    items = [
        item("BIG", 40, priority=1),
        item("DUE", 4, due_at=due, priority=3),
        item("ALICE-OWN", 30, owner="alice", priority=2),
    ]
    workers = [dev(), Worker("alice", 40.0, 1.0, OFFICE), Worker("bob", 40.0, 1.0, OFFICE)]
    skilled = {"alice", "bob"}
    rescues = suggest_rescues(workers, items, MONDAY, lambda i, h: h in skilled)
    assert len(rescues) == 1
    r = rescues[0]
    # bob is free, alice has 30 h of her own first: bob finishes it earliest.
    assert (r.key, r.from_handle, r.to_handle) == ("DUE", "dev", "bob")
    assert r.finish_after <= due < r.finish_before  # type: ignore[operator]
    # Nobody with the skill: nothing is suggested, nothing made up.
    assert suggest_rescues(workers, items, MONDAY, lambda i, h: False) == []
    # Only alice can take it, but her own 30 h P2 comes first: it would still be late.
    assert suggest_rescues(workers, items, MONDAY, lambda i, h: h == "alice") == []
