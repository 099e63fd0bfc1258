"""SLA arithmetic: hand-worked cases for every deadline type, and properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opstui.domain import sla
from opstui.domain.sla import (
    ALWAYS_CALENDAR,
    SlaError,
    add_working,
    extend_for_pause,
    make_calendar,
    parse_target,
    parse_warn,
    sub_working,
    target_state,
    working_seconds,
)

LONDON = "Europe/London"
OFFICE = make_calendar("office", LONDON, {"mon-fri": "09:00-17:00"})
HOLIDAY_MONDAY = make_calendar("office", LONDON, {"mon-fri": "09:00-17:00"}, ["2026-12-07"])
SPLIT = make_calendar(
    "split", "America/New_York", {"mon-thu": "08:00-12:00, 13:00-17:30", "fri": "08:00-12:00"}
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def due(cal: sla.Calendar, start: datetime, target: str) -> datetime:
    return parse_target(target).due(cal, start)


# --- hand-worked cases -----------------------------------------------------------------


def test_friday_1645_plus_30_working_minutes_is_monday_0915() -> None:
    assert due(OFFICE, utc(2026, 12, 4, 16, 45), "30m") == utc(2026, 12, 7, 9, 15)


def test_a_holiday_monday_pushes_it_to_tuesday() -> None:
    assert due(HOLIDAY_MONDAY, utc(2026, 12, 4, 16, 45), "30m") == utc(2026, 12, 8, 9, 15)


def test_country_public_holidays() -> None:
    cal = make_calendar("uk", LONDON, {"mon-fri": "09:00-17:00"}, country="GB", subdivision="ENG")
    # Christmas Day (Fri) and the Boxing Day substitute (Mon 28th) are off.
    assert due(cal, utc(2026, 12, 24, 16, 45), "30m") == utc(2026, 12, 29, 9, 15)


def test_spring_forward_week() -> None:
    # Friday 27 March 2026 16:45 GMT; clocks go forward on Sunday 29th: Monday 09:15 is BST.
    assert due(OFFICE, utc(2026, 3, 27, 16, 45), "30m") == utc(2026, 3, 30, 8, 15)
    # A whole working week across the change is still 40 working hours.
    assert working_seconds(OFFICE, utc(2026, 3, 23), utc(2026, 3, 28)) == 5 * 8 * 3600
    assert working_seconds(OFFICE, utc(2026, 3, 28), utc(2026, 4, 4)) == 5 * 8 * 3600


def test_fall_back_week() -> None:
    # Friday 23 October 2026 16:45 BST (15:45 UTC); clocks go back on Sunday 25th.
    assert due(OFFICE, utc(2026, 10, 23, 15, 45), "30m") == utc(2026, 10, 26, 9, 15)
    assert due(OFFICE, utc(2026, 10, 23, 15, 45), "1d") == utc(2026, 10, 26, 16, 45)


def test_hours_that_span_the_change_count_real_time() -> None:
    night = make_calendar("night", LONDON, {"sun": "00:00-06:00"})
    spring = working_seconds(night, utc(2026, 3, 28), utc(2026, 3, 30))
    autumn = working_seconds(night, utc(2026, 10, 24), utc(2026, 10, 26))
    assert (spring, autumn) == (5 * 3600, 7 * 3600)


def test_durations_in_hours_and_days() -> None:
    start = utc(2026, 12, 4, 16, 45)  # Friday, 15 working minutes left that day
    assert due(OFFICE, start, "4h") == utc(2026, 12, 7, 12, 45)
    assert due(OFFICE, start, "16h") == utc(2026, 12, 8, 16, 45)
    assert due(OFFICE, start, "1h30m") == utc(2026, 12, 7, 10, 15)
    assert due(OFFICE, start, "2d") == utc(2026, 12, 8, 16, 45)
    # starting before opening: the day itself counts as the first working day
    assert due(OFFICE, utc(2026, 12, 7, 7, 0), "1d") == utc(2026, 12, 7, 17, 0)
    assert due(OFFICE, utc(2026, 12, 5, 12, 0), "2d") == utc(2026, 12, 8, 17, 0)  # Saturday


def test_earliest_instant_at_the_end_of_a_day() -> None:
    assert due(OFFICE, utc(2026, 12, 4, 16, 30), "30m") == utc(2026, 12, 4, 17, 0)


def test_split_hours_skip_lunch() -> None:
    # Thursday 11:45 New York (16:45 UTC) + 30m: 15 before lunch, 15 after 13:00.
    assert due(SPLIT, utc(2026, 12, 3, 16, 45), "30m") == utc(2026, 12, 3, 18, 15)
    # Friday has only a morning: 11:45 + 30m is Monday 08:15.
    assert due(SPLIT, utc(2026, 12, 4, 16, 45), "30m") == utc(2026, 12, 7, 13, 15)


def test_same_business_day() -> None:
    assert due(OFFICE, utc(2026, 12, 4, 10, 0), "same business day") == utc(2026, 12, 4, 17, 0)
    # before opening counts as that day
    assert due(OFFICE, utc(2026, 12, 4, 7, 30), "same business day") == utc(2026, 12, 4, 17, 0)
    # after closing, or on a weekend or holiday: the next working day
    assert due(OFFICE, utc(2026, 12, 4, 17, 30), "same business day") == utc(2026, 12, 7, 17, 0)
    assert due(OFFICE, utc(2026, 12, 5, 11, 0), "same business day") == utc(2026, 12, 7, 17, 0)
    assert due(HOLIDAY_MONDAY, utc(2026, 12, 7, 11, 0), "same business day") == utc(
        2026, 12, 8, 17, 0
    )
    # in the lunch break of a split day it is still that day
    assert due(SPLIT, utc(2026, 12, 3, 17, 30), "same business day") == utc(2026, 12, 3, 22, 30)


def test_next_business_day() -> None:
    assert due(OFFICE, utc(2026, 12, 4, 10, 0), "next business day") == utc(2026, 12, 7, 17, 0)
    assert due(OFFICE, utc(2026, 12, 3, 18, 0), "next business day") == utc(2026, 12, 4, 17, 0)
    assert due(HOLIDAY_MONDAY, utc(2026, 12, 4, 10, 0), "next business day") == utc(
        2026, 12, 8, 17, 0
    )


def test_24x7_is_wall_clock() -> None:
    start = utc(2026, 3, 28, 23, 0)
    assert due(ALWAYS_CALENDAR, start, "15m") == start + timedelta(minutes=15)
    assert due(ALWAYS_CALENDAR, start, "2d") == start + timedelta(days=2)
    assert due(ALWAYS_CALENDAR, start, "same business day") == utc(2026, 3, 29)


def test_warning_points() -> None:
    start = utc(2026, 12, 4, 16, 45)
    d = due(OFFICE, start, "30m")
    assert parse_warn("80%").at(OFFICE, start, d) == utc(2026, 12, 7, 9, 9)  # 24 of 30 min
    assert parse_warn("10m").at(OFFICE, start, d) == utc(2026, 12, 7, 9, 5)
    # more time left than the target: warning from the start
    assert parse_warn("1h").at(OFFICE, start, d) == start


def test_a_two_hour_pause_moves_due_by_the_working_time_paused() -> None:
    start = utc(2026, 12, 7, 9, 0)  # Monday
    d = due(OFFICE, start, "4h")
    assert d == utc(2026, 12, 7, 13, 0)
    assert extend_for_pause(OFFICE, d, utc(2026, 12, 7, 10, 0), utc(2026, 12, 7, 12, 0)) == utc(
        2026, 12, 7, 15, 0
    )
    # paused over the evening: only the working hour 16:00-17:00 counts
    d2 = due(OFFICE, utc(2026, 12, 7, 12, 0), "8h")
    assert d2 == utc(2026, 12, 8, 12, 0)
    assert extend_for_pause(OFFICE, d2, utc(2026, 12, 7, 16, 0), utc(2026, 12, 8, 8, 0)) == utc(
        2026, 12, 8, 13, 0
    )
    # a target breached before the pause stays breached
    assert extend_for_pause(OFFICE, d, utc(2026, 12, 7, 14, 0), utc(2026, 12, 7, 16, 0)) == d


def test_states() -> None:
    d, w = utc(2026, 12, 7, 9, 15), utc(2026, 12, 7, 9, 9)
    assert target_state(utc(2026, 12, 7, 9, 0), d, w) == "ok"
    assert target_state(utc(2026, 12, 7, 9, 10), d, w) == "warning"
    assert target_state(utc(2026, 12, 7, 9, 15), d, w) == "breached"
    assert target_state(utc(2026, 12, 7, 9, 30), d, w, met_at=utc(2026, 12, 7, 9, 14)) == "met"
    assert target_state(utc(2026, 12, 7, 9, 30), d, w, met_at=utc(2026, 12, 7, 9, 16)) == "breached"
    assert target_state(utc(2026, 12, 9), d, w, paused_since=utc(2026, 12, 7, 9, 1)) == "paused"
    assert target_state(utc(2026, 12, 7, 9, 0), None) is None


# --- parsing and validation ------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (lambda: make_calendar("x", "Mars/Olympus", {"mon": "09:00-17:00"}), "unknown time zone"),
        (lambda: make_calendar("x", LONDON, {"mon": "09:00-25:00"}), "'25:00' is not a valid time"),
        (lambda: make_calendar("x", LONDON, {"mon": "09:60-17:00"}), "not a valid time"),
        (lambda: make_calendar("x", LONDON, {"mon": "09:00-12:00, 11:30-17:00"}), "overlap"),
        (lambda: make_calendar("x", LONDON, {"mon": "17:00-09:00"}), "ends before it starts"),
        (lambda: make_calendar("x", LONDON, {"mon": "9-5"}), "not a time of day"),
        (lambda: make_calendar("x", LONDON, {"funday": "09:00-17:00"}), "unknown weekday"),
        (
            lambda: make_calendar("x", LONDON, {"mon-fri": "09:00-17:00", "fri": "09:00-12:00"}),
            "twice",
        ),
        (lambda: make_calendar("x", LONDON, {}), "at least one weekday"),
        (lambda: make_calendar("x", LONDON, {"mon": "09:00-17:00"}, ["2026-13-01"]), "not a date"),
        (
            lambda: make_calendar("x", LONDON, {"mon": "09:00-17:00"}, country="XX"),
            "unknown country",
        ),
        (lambda: make_calendar("24x7", LONDON, {"mon": "09:00-17:00"}), "built in"),
        (lambda: parse_target("5x"), "not a duration"),
        (lambda: parse_target("0m"), "longer than zero"),
        (lambda: parse_target("1.5d"), "whole"),
        (lambda: parse_target(""), "not a target"),
        (lambda: parse_warn("120%"), "between 0% and 100%"),
        (lambda: parse_warn("soon"), "percentage used"),
    ],
)
def test_bad_values_are_rejected_with_a_reason(call: object, reason: str) -> None:
    with pytest.raises(SlaError, match=reason):
        call()  # type: ignore[operator]


def test_target_spellings() -> None:
    assert parse_target("Same Business Day").kind == "same_day"
    assert parse_target("next_business_day").kind == "next_day"
    assert parse_target("30 minutes").seconds == 1800
    assert (parse_target("1d4h").days, parse_target("1d4h").seconds) == (1, 4 * 3600)
    assert make_calendar("x", LONDON, {"Monday": "09:00-12:00,13:00-24:00"}).week[0] == (
        (540, 720),
        (780, 1440),
    )


# --- properties ------------------------------------------------------------------------

CALENDARS = [
    OFFICE,
    HOLIDAY_MONDAY,
    SPLIT,
    make_calendar("sydney", "Australia/Sydney", {"mon-fri": "08:30-17:30", "sat": "10:00-14:00"}),
    make_calendar("night", LONDON, {"mon-sun": "00:00-02:30, 22:00-24:00"}),
]
instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
minutes = st.integers(min_value=1, max_value=60 * 24 * 10)
cal_st = st.sampled_from(CALENDARS)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _inside_working_time(cal: sla.Calendar, at: datetime) -> bool:
    local = cal.local_date(at)
    return any(
        a <= at <= b
        for d in (local - timedelta(days=1), local, local + timedelta(days=1))
        for a, b in cal.intervals_on(d)
    )


@FAST
@given(cal=cal_st, start=instants, mins=minutes)
def test_due_is_never_in_non_working_time(cal: sla.Calendar, start: datetime, mins: int) -> None:
    d = add_working(cal, start, mins * 60)
    assert _inside_working_time(cal, d)
    assert working_seconds(cal, start, d) == pytest.approx(mins * 60)


@FAST
@given(
    cal=cal_st,
    start=instants,
    target=st.sampled_from(["1d", "2d", "same business day", "next business day", "3h"]),
)
def test_day_targets_end_in_working_time(cal: sla.Calendar, start: datetime, target: str) -> None:
    d = due(cal, start, target)
    assert d > start and _inside_working_time(cal, d)


@FAST
@given(cal=cal_st, start=instants, a=minutes, b=minutes)
def test_monotonic_in_the_target(cal: sla.Calendar, start: datetime, a: int, b: int) -> None:
    lo, hi = sorted((a, b))
    assert add_working(cal, start, lo * 60) <= add_working(cal, start, hi * 60)
    assert due(cal, start, f"{lo}m") <= due(cal, start, f"{hi}m")


@FAST
@given(cal=cal_st, start=instants, mins=minutes, p_off=minutes, p_len=minutes)
def test_pausing_never_makes_an_item_due_earlier(
    cal: sla.Calendar, start: datetime, mins: int, p_off: int, p_len: int
) -> None:
    d = add_working(cal, start, mins * 60)
    paused = start + timedelta(minutes=p_off)
    resumed = paused + timedelta(minutes=p_len)
    moved = extend_for_pause(cal, d, paused, resumed)
    assert moved is not None and moved >= d
    if paused < d and resumed <= moved:  # the working time left is kept across the pause
        assert working_seconds(cal, resumed, moved) == pytest.approx(
            working_seconds(cal, paused, d), abs=1e-6
        )


@FAST
@given(cal=cal_st, end=instants, mins=minutes)
def test_sub_working_inverts_add_working(cal: sla.Calendar, end: datetime, mins: int) -> None:
    start = sub_working(cal, end, mins * 60)
    assert working_seconds(cal, start, end) == pytest.approx(mins * 60)


def test_holiday_dates_accept_toml_dates() -> None:
    cal = make_calendar("x", LONDON, {"mon-fri": "09:00-17:00"}, [date(2026, 12, 7)])
    assert cal.is_holiday(date(2026, 12, 7))
