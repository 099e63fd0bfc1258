"""Capacity, bus factor and rebalancing arithmetic on hand-made teams (pure domain)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from opstui.domain import capacity as cap
from opstui.domain.capacity import OpenItem, PersonIn, ProcessIn

pytestmark = pytest.mark.both_engines

# Wednesday 2026-12-02 10:00 UTC: the window is Wed 2 .. Tue 8 December.
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def person(handle: str, hours: float = 40, skills: tuple[str, ...] = (), **kw: object) -> PersonIn:
    return PersonIn(handle=handle, name=handle.title(), capacity_hours=hours, skills=skills, **kw)  # type: ignore[arg-type]


def item(key: str, owner: str | None, est: float | None, **kw: object) -> OpenItem:
    return OpenItem(key=key, title=kw.pop("title", key), owner=owner, estimate_hours=est, **kw)  # type: ignore[arg-type]


def test_window_is_five_working_days_from_today_skipping_weekend_and_holidays() -> None:
    window = cap.working_window(date(2026, 12, 2))
    assert window == [date(2026, 12, d) for d in (2, 3, 4, 7, 8)]
    saturday = cap.working_window(date(2026, 12, 5), frozenset({date(2026, 12, 8)}))
    assert saturday == [date(2026, 12, d) for d in (7, 9, 10, 11, 14)]


def test_available_hours_shrink_with_time_off_and_inactive_people_have_none() -> None:
    window = cap.working_window(NOW.date())
    away = person("ann", 40, away=((date(2026, 12, 3), date(2026, 12, 4)),))  # 2 of 5 days
    load = cap.person_load(away, [item("A-1", "ann", 6)], window)
    assert load.available_hours == 24.0
    assert load.away_days == 2
    assert load.utilisation == pytest.approx(6 / 24)
    gone = cap.person_load(person("old", 40, active=False), [], window)
    assert gone.available_hours == 0 and gone.utilisation is None and not gone.overloaded


def test_load_uses_default_estimate_for_unestimated_items_and_ignores_others() -> None:
    window = cap.working_window(NOW.date())
    items = [
        item("A-1", "bo", None),
        item("A-2", "bo", 3.5),
        item("A-3", "cy", 100),
        item("A-4", None, 9),
    ]
    load = cap.person_load(person("bo", 10), items, window)
    assert load.open_items == 2
    assert load.unestimated == 1
    assert load.load_hours == cap.DEFAULT_ESTIMATE_HOURS + 3.5
    assert load.spare_hours == pytest.approx(10 - 5.5)


def test_overload_flag_is_strictly_above_capacity_and_set_when_away_all_week() -> None:
    window = cap.working_window(NOW.date())
    exactly = cap.person_load(person("a", 10), [item("X-1", "a", 10)], window)
    assert exactly.utilisation == 1.0 and not exactly.overloaded
    over = cap.person_load(person("a", 10), [item("X-1", "a", 10.5)], window)
    assert over.overloaded
    all_away = person("b", 40, away=((date(2026, 12, 1), date(2026, 12, 31)),))
    away_load = cap.person_load(all_away, [item("X-2", "b", 1)], window)
    assert away_load.available_hours == 0 and away_load.utilisation is None and away_load.overloaded
    assert away_load.away_today


def test_busiest_share_and_warning_threshold() -> None:
    team = [person("a"), person("b"), person("c")]
    items = [item("X-1", "a", 70), item("X-2", "b", 20), item("X-3", "c", 10)]
    report = cap.capacity_report(team, items, [], NOW)
    assert report.busiest == "a"
    assert report.busiest_share == pytest.approx(0.7)
    assert report.busiest_warning
    even = cap.capacity_report(team, [item("X-1", "a", 5), item("X-2", "b", 5)], [], NOW)
    assert even.busiest_share == pytest.approx(0.5) and not even.busiest_warning
    empty = cap.capacity_report(team, [], [], NOW)
    assert empty.busiest is None and empty.busiest_share is None and not empty.busiest_warning


def test_skill_coverage_counts_active_people_and_flags_single_and_uncovered() -> None:
    team = [
        person("a", skills=("linux", "firewall")),
        person("b", skills=("linux",)),
        person("c", skills=("firewall",), active=False),
    ]
    procs = [
        ProcessIn("fw-review", "Firewall review", "a", ("firewall",)),
        ProcessIn("patching", "Patching", "b", ("linux",)),
        ProcessIn("restore", "Restore test", None, ("backup",)),
        ProcessIn("payroll", "Payroll", "b", ()),
        ProcessIn("retired", "Retired", None, ("linux",), active=False),
    ]
    report = cap.capacity_report(team, [], procs, NOW)
    skills = {c.name: c.people for c in report.skills}
    assert skills == {"linux": ("a", "b"), "firewall": ("a",), "backup": ()}
    assert {c.name for c in report.skill_risks} == {"firewall", "backup"}
    procs_by = {c.name: c for c in report.processes}
    assert procs_by["fw-review"].people == ("a",) and procs_by["fw-review"].risk
    assert procs_by["patching"].people == ("a", "b") and not procs_by["patching"].risk
    assert procs_by["restore"].people == () and procs_by["restore"].owner is None
    assert procs_by["payroll"].people == ("b",)  # no skills: only its owner can run it
    assert "retired" not in procs_by


def test_needed_skills_rules() -> None:
    known = {"firewall", "kubernetes", "m365", "project-management"}
    assert cap.needed_skills(item("X", "a", 1, skills=("m365",)), known) == ("m365",)
    assert cap.needed_skills(item("X", "a", 1, title="Firewall renewal for Acme"), known) == (
        "firewall",
    )
    assert cap.needed_skills(item("X", "a", 1, kind="kubernetes-upgrade"), known) == ("kubernetes",)
    assert cap.needed_skills(item("X", "a", 1, title="Project management handbook"), known) == (
        "project-management",
    )
    # a skill name inside another word does not count
    assert cap.needed_skills(item("X", "a", 1, title="Firewalls everywhere"), known) is None


def overloaded_team() -> tuple[list[PersonIn], list[OpenItem]]:
    team = [
        person("dev", 40, ("linux", "firewall", "kubernetes")),
        person("hiro", 40, ("linux", "kubernetes")),
        person("alice", 40, ("linux",)),
        person("zed", 40, ("sales",)),
    ]
    items = [
        item("P-1", "dev", 30, title="Firewall clean-up", priority=2),
        item("P-2", "dev", 20, title="Kubernetes upgrade", priority=2),
        item("P-3", "dev", 16, title="Replace core switch", priority=3),
        item("P-4", "dev", 10, title="Patch automation", priority=4, category="new"),
    ]
    return team, items


def test_moves_bring_the_overloaded_person_back_under_capacity_with_skilled_receivers() -> None:
    team, items = overloaded_team()
    report = cap.capacity_report(team, items, [], NOW)
    dev = next(p for p in report.people if p.handle == "dev")
    assert dev.load_hours == 76 and dev.overloaded
    moves = {m.key: m.to_handle for m in report.moves}
    # not-started P-4 moves first; the firewall item has nobody else with the skill
    assert report.moves[0].key == "P-4"
    assert "P-1" not in moves
    assert moves["P-2"] == "hiro"  # needs kubernetes
    assert all(to != "zed" for to in moves.values())  # shares no skill with dev
    moved = sum(m.hours for m in report.moves)
    assert 76 - moved <= 40
    # no receiver ends above RECEIVER_MAX of their available hours
    for handle in set(moves.values()):
        got = sum(m.hours for m in report.moves if m.to_handle == handle)
        assert got <= 40 * cap.RECEIVER_MAX
    assert report.unresolved == ()


def test_urgent_started_items_stay_with_their_owner() -> None:
    team, items = overloaded_team()
    due_soon = NOW + timedelta(hours=1)
    items = [
        OpenItem(**{**i.__dict__, "next_due_at": due_soon}) if i.key in ("P-2", "P-3") else i
        for i in items
    ]
    report = cap.capacity_report(team, items, [], NOW)
    assert {m.key for m in report.moves}.isdisjoint({"P-2", "P-3"})
    assert report.unresolved and report.unresolved[0][0] == "dev"
    assert "urgent" in report.unresolved[0][1]


def test_urgent_items_move_first_when_the_owner_is_away_today() -> None:
    team, items = overloaded_team()
    team[0] = person(
        "dev", 40, ("linux", "firewall", "kubernetes"), away=((NOW.date(), NOW.date()),)
    )
    items = [OpenItem(**{**i.__dict__, "sla_breached": i.key == "P-3"}) for i in items]
    report = cap.capacity_report(team, items, [], NOW)
    assert report.moves[0].key == "P-3"


def test_people_away_today_or_without_spare_time_receive_nothing() -> None:
    team, items = overloaded_team()
    team[1] = person("hiro", 40, ("linux", "kubernetes"), away=((NOW.date(), NOW.date()),))
    busy_alice = [*items, item("A-1", "alice", 34)]
    report = cap.capacity_report(team, busy_alice, [], NOW)
    assert report.moves == ()
    assert report.unresolved[0][0] == "dev"
    assert "nobody with the skill" in report.unresolved[0][1]


def test_working_days_between_counts_only_weekdays() -> None:
    fri = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert cap.working_days_between(fri, fri + timedelta(days=3)) == pytest.approx(
        1.0
    )  # Fri pm + Mon am
    assert cap.working_days_between(fri, fri - timedelta(days=1)) == 0.0
