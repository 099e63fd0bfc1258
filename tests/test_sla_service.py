"""SLA on real database files: policies, first response, pauses, reopen, events, loading."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import ANCHOR, ROOT, run_cli

from opstui.domain.clock import Clock
from opstui.services import items, people, transitions
from opstui.services.loading import LoadError, load_data
from opstui.services.sla import compute as sla_compute
from opstui.services.sla import crossings as sla_crossings
from opstui.services.sla import views as sla_views
from opstui.store import queries as q
from opstui.store.schema import SCHEMA_VERSION, open_database

pytestmark = pytest.mark.both_engines

RULES = {
    "calendars": [
        {
            "name": "office",
            "timezone": "Europe/London",
            "hours": {"mon-fri": "09:00-17:00"},
            "holidays": ["2026-12-25"],
        }
    ],
    "sla_policies": [
        {
            "name": "support-p1",
            "queue": "support",
            "priorities": ["P1"],
            "calendar": "24x7",
            "first_response": "15m",
            "resolution": "4h",
            "warn_at": "10m",
        },
        {
            "name": "support",
            "queue": "support",
            "calendar": "office",
            "first_response": "30m",
            "resolution": "16h",
            "warn_at": "80%",
            "pause_in": ["waiting_on_customer"],
        },
    ],
}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def sla_db(team_db):
    load_data(team_db, RULES, source="rules.toml")
    return team_db


def get(db, key: str) -> q.ItemRecord:
    with db.read() as conn:
        item = q.get_item(conn, key)
    assert item is not None
    return item


def sla_events(db, key: str | None = None) -> list[q.EventRecord]:
    with db.read() as conn:
        evs = q.recent_events(conn, 10_000)
    return [e for e in evs if e.field.startswith("sla_") and (key is None or e.item_key == key)]


def test_worked_case_friday_1645(sla_db) -> None:
    it = items.create_item(sla_db, queue="support", title="Accounts server unreachable")
    assert it.sla_policy == "support"
    assert it.sla_fr_due == utc(2026, 12, 7, 9, 15)
    assert it.sla_res_due == utc(2026, 12, 8, 16, 45)
    assert it.next_due_at == it.sla_fr_due
    data = sla_views.item_sla_json(it, ANCHOR)
    assert data["first_response"] == {
        "policy": "support",
        "due": "2026-12-07T09:15:00+00:00",
        "remaining_s": int((utc(2026, 12, 7, 9, 15) - ANCHOR).total_seconds()),
        "state": "ok",
        "warn_at": "2026-12-07T09:09:00+00:00",
        "met_at": None,
    }
    assert set(data) == {"first_response", "resolution"}


def test_policy_follows_priority_and_queue(sla_db, clock) -> None:
    it = items.create_item(sla_db, queue="support", title="Server down", priority="P1")
    assert it.sla_policy == "support-p1" and it.sla_fr_due == ANCHOR + timedelta(minutes=15)
    clock.advance(timedelta(minutes=5))
    it = items.edit_item(sla_db, it.key, priority="P3")
    assert it.sla_policy == "support"
    assert it.sla_fr_due == utc(2026, 12, 7, 9, 15)  # measured from creation on its calendar
    people.add_queue(sla_db, slug="misc", prefix="MSC")
    other = items.create_item(sla_db, queue="misc", title="No policy here")
    assert other.sla_policy is None and sla_views.item_sla_json(other, ANCHOR) == {}
    assert sla_views.item_sla_lines(other, ANCHOR) == []


def test_first_match_by_position_and_kinds(team_db, clock) -> None:
    rules = json.loads(json.dumps(RULES))
    rules["sla_policies"].insert(
        0,
        {
            "name": "disputes",
            "queue": "support",
            "kinds": ["dispute"],
            "calendar": "office",
            "first_response": "1h",
            "resolution": "same business day",
        },
    )
    load_data(team_db, rules, source="rules.toml")
    clock.advance(timedelta(hours=-7, minutes=-30))  # Friday 09:15
    d = items.create_item(
        team_db, queue="support", title="Overbilled", kind="dispute", priority="P1"
    )
    assert d.sla_policy == "disputes"  # listed first: wins over support-p1
    assert d.sla_fr_due == utc(2026, 12, 4, 10, 15) and d.sla_res_due == utc(2026, 12, 4, 17, 0)
    t = items.create_item(team_db, queue="support", title="Slow", kind="task", priority="P1")
    assert t.sla_policy == "support-p1"
    t = items.edit_item(team_db, t.key, kind="dispute")
    assert t.sla_policy == "disputes"


def test_sla_filters_on_ls(sla_db, clock) -> None:
    a = items.create_item(sla_db, queue="support", title="a", priority="P1")  # due 17:00
    b = items.create_item(sla_db, queue="support", title="b")  # due Monday
    transitions.transition(sla_db, b.key, "in_progress")
    transitions.transition(sla_db, b.key, "waiting_on_customer")
    clock.advance(timedelta(minutes=20))
    sla_crossings.record_sla_crossings(sla_db)
    with sla_db.read() as conn:

        def keys(state: str) -> list[str]:
            flt = q.ItemFilter(sla_state=state)
            return [i.key for i in q.list_items(conn, flt, now=clock.now())]

        assert keys("breached") == [a.key]
        assert keys("paused") == [b.key]
        assert keys("ok") == []


def test_first_response_by_someone_other_than_the_requester(sla_db, clock) -> None:
    it = items.create_item(sla_db, queue="support", title="Help")  # requester: tester
    clock.advance(timedelta(minutes=1))
    items.comment(sla_db, it.key, "any news?")
    assert get(sla_db, it.key).first_response_at is None
    alice = open_database(sla_db.target, clock=clock, unix_user="alice")
    items.comment(alice, it.key, "looking now")
    it = get(sla_db, it.key)
    assert it.first_response_at == clock.now() and it.sla_fr_state == "met"
    view = sla_views.item_sla_json(it, clock.now())["first_response"]
    assert view["state"] == "met" and view["remaining_s"] > 0
    alice.dispose()


def test_leaving_the_initial_state_is_a_first_response(sla_db, clock) -> None:
    it = items.create_item(sla_db, queue="support", title="Help")
    clock.advance(timedelta(days=3))  # Monday 16:45: long past 09:15
    transitions.transition(sla_db, it.key, "in_progress")
    it = get(sla_db, it.key)
    assert sla_views.item_sla_json(it, clock.now())["first_response"]["state"] == "breached"
    (breach,) = sla_events(sla_db, it.key)  # recorded once, even though nobody was watching
    assert breach.field == "sla_breached" and breach.new.startswith(
        "first_response due 2026-12-07T09:15"
    )


def test_a_two_hour_pause_moves_due_times(sla_db, clock) -> None:
    clock.advance(timedelta(days=2, hours=16, minutes=15))  # Monday 09:00
    it = items.create_item(sla_db, queue="support", title="Printer")
    assert it.sla_res_due == utc(2026, 12, 8, 17, 0)
    transitions.transition(sla_db, it.key, "in_progress")
    clock.advance(timedelta(hours=1))  # 10:00
    transitions.transition(sla_db, it.key, "waiting_on_customer")
    it = get(sla_db, it.key)
    assert it.sla_paused_since == clock.now()
    assert (
        sla_views.item_sla_json(it, clock.now() + timedelta(days=9))["resolution"]["state"]
        == "paused"
    )
    assert sla_views.item_sla_lines(it, clock.now())[-1].endswith("left")
    clock.advance(timedelta(hours=2))  # 12:00
    transitions.transition(sla_db, it.key, "in_progress")
    it = get(sla_db, it.key)
    assert it.sla_paused_since is None
    assert it.sla_res_due == utc(2026, 12, 9, 11, 0)  # Tue 17:00 + 2 working hours
    # the warning point moved with it
    assert it.sla_res_warn == utc(2026, 12, 8, 15, 48)  # 12h48m working + 2h


def test_pause_over_a_weekend_counts_only_working_time(sla_db, clock) -> None:
    clock.advance(timedelta(days=-4))  # Monday 30 Nov 16:45
    it = items.create_item(sla_db, queue="support", title="Printer")
    transitions.transition(sla_db, it.key, "in_progress")
    before = get(sla_db, it.key).sla_res_due
    clock.advance(timedelta(days=4))  # Friday 16:45
    transitions.transition(sla_db, it.key, "waiting_on_customer")
    clock.advance(timedelta(days=3))  # Monday 16:45: 15m Fri + 7h45 Mon paused
    transitions.transition(sla_db, it.key, "in_progress")
    assert before is not None and before < utc(2026, 12, 4, 16, 45)  # breached before the pause
    assert get(sla_db, it.key).sla_res_due == before  # a breach stands


def test_reopening_restarts_resolution(sla_db, clock) -> None:
    it = items.create_item(sla_db, queue="support", title="Printer")
    transitions.transition(sla_db, it.key, "in_progress")
    clock.advance(timedelta(days=3))  # Monday 16:45
    transitions.transition(sla_db, it.key, "done")
    it = get(sla_db, it.key)
    assert it.sla_res_state == "met" and it.next_due_at is None
    clock.advance(timedelta(days=1))  # Tuesday 16:45
    transitions.transition(sla_db, it.key, "in_progress")
    it = get(sla_db, it.key)
    assert it.sla_res_start == clock.now()
    assert it.sla_res_due == utc(2026, 12, 10, 16, 45)  # 16 working hours from Tue 16:45
    assert it.sla_res_state is None
    assert sla_views.item_sla_json(it, clock.now())["resolution"]["state"] == "ok"


def test_crossings_are_recorded_once(sla_db, clock) -> None:
    it = items.create_item(sla_db, queue="support", title="Down", priority="P1")
    assert sla_crossings.record_sla_crossings(sla_db) == []  # 15m to go, warning at 10m left
    clock.advance(timedelta(minutes=6))
    (warn,) = sla_crossings.record_sla_crossings(sla_db)
    assert (warn.field, warn.item_id, warn.item_key, warn.old) == (
        "sla_warning",
        it.id,
        it.key,
        "ok",
    )
    assert (
        warn.new
        == f"first_response due {(ANCHOR + timedelta(minutes=15)).isoformat()} (support-p1)"
    )
    assert sla_crossings.record_sla_crossings(sla_db) == []
    assert get(sla_db, it.key).sla_fr_state == "warning"
    with sla_db.read() as conn:
        warned = q.list_items(conn, q.ItemFilter(sla_state="warning"), now=clock.now())
    assert [i.key for i in warned] == [it.key]
    clock.advance(timedelta(minutes=10))
    (breach,) = sla_crossings.record_sla_crossings(sla_db)
    assert (breach.field, breach.old) == ("sla_breached", "warning")
    assert sla_crossings.record_sla_crossings(sla_db) == []
    assert get(sla_db, it.key).version == 1  # crossings never bump the version
    clock.advance(timedelta(hours=4))
    (res,) = sla_crossings.record_sla_crossings(
        sla_db
    )  # the resolution jumped straight to breached
    assert res.field == "sla_breached" and res.new.startswith("resolution due")
    transitions.transition(sla_db, it.key, "in_progress")
    transitions.transition(sla_db, it.key, "done")
    assert len(sla_events(sla_db, it.key)) == 3  # met late: the breach was already recorded


def test_paused_items_do_not_breach(sla_db, clock) -> None:
    clock.advance(timedelta(days=2, hours=16, minutes=15))  # Monday 09:00
    it = items.create_item(sla_db, queue="support", title="Printer")
    transitions.transition(sla_db, it.key, "in_progress")
    transitions.transition(sla_db, it.key, "waiting_on_customer")
    clock.advance(timedelta(days=5))
    assert sla_crossings.record_sla_crossings(sla_db) == []
    assert get(sla_db, it.key).sla_res_state is None


WORKER = """
import json, sys, time
from pathlib import Path
from opstui.domain.clock import Clock
from opstui.domain.clock import parse_instant
from opstui.services.sla.crossings import record_sla_crossings
from opstui.store.schema import open_database
db = open_database(sys.argv[1], clock=Clock.frozen(parse_instant(sys.argv[2])), unix_user=sys.argv[3])
go = Path(sys.argv[4])
while not go.exists():
    time.sleep(0.002)
written = []
for _ in range(5):
    written += [e.id for e in record_sla_crossings(db)]
print(json.dumps(written))
"""


@pytest.mark.slow
def test_three_processes_record_each_crossing_exactly_once(sla_db, tmp_path: Path) -> None:
    keys = [
        items.create_item(sla_db, queue="support", title=f"Down {n}", priority="P1").key
        for n in range(40)
    ]
    later = (ANCHOR + timedelta(minutes=20)).isoformat()  # warned and breached on first response
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(sla_db.target), later, f"term{n}", str(go)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        )
        for n in range(3)
    ]
    time.sleep(1.5)  # let all three import and open the file
    go.touch()
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    ids = [i for out, _ in outs for i in json.loads(out)]
    assert len(ids) == len(set(ids)) == 40  # one breach per item (no separate warning)
    evs = sla_events(sla_db)
    assert len(evs) == 40 and {e.item_key for e in evs} == set(keys)
    assert {e.field for e in evs} == {"sla_breached"}


# --- loading -----------------------------------------------------------------------------


def _bad(entry_section: str, patch: dict) -> dict:
    data = json.loads(json.dumps(RULES))
    data[entry_section][-1].update(patch)
    return data


@pytest.mark.parametrize(
    ("section", "patch", "reason"),
    [
        ("calendars", {"timezone": "Europe/Atlantis"}, "unknown time zone 'Europe/Atlantis'"),
        ("calendars", {"hours": {"mon": "09:00-25:00"}}, "hours.mon: '25:00' is not a valid time"),
        ("calendars", {"hours": {"mon": "09:00-13:00, 12:00-17:00"}}, "overlap"),
        ("calendars", {"holidays": ["next friday"]}, "not a date"),
        ("calendars", {"colour": "red"}, "unknown key 'colour'"),
        ("sla_policies", {"pause_in": ["on_hold"]}, "unknown state 'on_hold'"),
        ("sla_policies", {"queue": "nowhere"}, "unknown queue 'nowhere'"),
        ("sla_policies", {"calendar": "shop"}, "unknown calendar 'shop'"),
        (
            "sla_policies",
            {"first_response": "30 mins please"},
            "first_response: '30 mins please' is not a duration",
        ),
        ("sla_policies", {"warn_at": "150%"}, "between 0% and 100%"),
        ("sla_policies", {"priorities": ["P7"]}, "not P1..P4"),
    ],
)
def test_bad_calendars_and_policies_are_rejected_and_nothing_is_loaded(
    team_db, section: str, patch: dict, reason: str
) -> None:
    with pytest.raises(LoadError) as err:
        load_data(team_db, _bad(section, patch), source="rules.toml")
    index = len(RULES[section]) - 1
    name = RULES[section][-1]["name"]
    assert str(err.value).startswith(f"rules.toml: {section}[{index}] ({name}): ")
    assert reason in str(err.value)
    with team_db.read() as conn:
        counts = [
            conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()
            for t in ("business_calendar", "sla_policy")
        ]
    assert counts == [0, 0]


def test_bad_file_on_the_command_line_is_one_line(db_path: Path, tmp_path: Path) -> None:
    assert run_cli("init", db=db_path).returncode == 0
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[calendars]]\nname = "office"\ntimezone = "Europe/London"\nhours = { mon = "25:00-26:00" }\n'
    )
    out = run_cli("load", str(bad), db=db_path)
    assert out.returncode == 1
    assert (
        out.stderr.strip()
        == "opstui: bad.toml: calendars[0] (office): hours.mon: '25:00' is not a valid time of day"
    )


# --- the sample data and the command line ------------------------------------------------


def test_sample_worked_case_on_the_command_line(sample_db_file: Path) -> None:
    now = "2026-12-04T16:45:00+00:00"
    out = run_cli("--now", now, "sla", "--json", db=sample_db_file)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == {"now", "breached", "warning", "upcoming", "recorded"}
    assert data["now"] == now and data["recorded"] == []  # --now is a what-if: nothing written
    row_keys = {
        "key",
        "title",
        "queue",
        "owner",
        "priority",
        "status",
        "target",
        "policy",
        "due",
        "remaining_s",
        "state",
    }
    rows = data["breached"] + data["warning"] + data["upcoming"]
    assert rows and all(set(r) == row_keys for r in rows)
    assert all(r["state"] == "breached" and r["remaining_s"] <= 0 for r in data["breached"])
    assert all(r["state"] == "warning" and r["remaining_s"] > 0 for r in data["warning"])
    granite = [
        r
        for r in data["upcoming"]
        if "Granite Accounting" in r["title"] and r["target"] == "first_response"
    ]
    assert (
        granite
        and granite[0]["due"] == "2026-12-07T09:15:00+00:00"
        and granite[0]["policy"] == "support"
    )
    text = run_cli("--now", now, "sla", db=sample_db_file, env={"COLUMNS": "200"})
    assert text.returncode == 0
    line = next(
        ln for ln in text.stdout.splitlines() if "Granite Accounting" in ln and "response" in ln
    )
    assert "Mon 07 Dec 09:15" in line
    # --now answers as of that moment: on Monday 09:10 it is at risk
    later = json.loads(
        run_cli("--now", "2026-12-07T09:10:00+00:00", "sla", "--json", db=sample_db_file).stdout
    )
    assert any("Granite Accounting" in r["title"] for r in later["warning"])


def test_ls_and_show_json_carry_sla(sample_db_file: Path) -> None:
    out = run_cli(
        "--now",
        "2026-12-04T16:45:00+00:00",
        "ls",
        "--queue",
        "support",
        "--open",
        "--json",
        db=sample_db_file,
    )
    rows = json.loads(out.stdout)
    granite = next(
        r for r in rows if "Granite" in r["title"] and r["created"] == "2026-12-04T16:45:00+00:00"
    )
    fr = granite["sla"]["first_response"]
    assert (fr["policy"], fr["due"], fr["state"], fr["remaining_s"]) == (
        "support",
        "2026-12-07T09:15:00+00:00",
        "ok",
        232200,
    )
    shown = run_cli(
        "--now", "2026-12-07T10:00:00+00:00", "show", granite["key"], "--json", db=sample_db_file
    )
    fr = json.loads(shown.stdout)["sla"]["first_response"]
    assert fr["state"] == "breached" and fr["remaining_s"] == -45 * 60


def test_sla_command_records_crossings_once(sample_db) -> None:
    path = sample_db.target
    sample_db.dispose()
    now = ANCHOR.isoformat()
    first = run_cli("--now", now, "sla", "--record", "--json", db=path)
    assert first.returncode == 0, first.stderr
    recorded = json.loads(first.stdout)["recorded"]
    assert recorded and {r["field"] for r in recorded} <= {"sla_warning", "sla_breached"}
    again = json.loads(run_cli("--now", now, "sla", "--record", "--json", db=path).stdout)
    assert again["recorded"] == []
    db = open_database(path, clock=Clock.frozen(ANCHOR), unix_user="t")
    assert sla_crossings.record_sla_crossings(db) == []
    with db.read() as conn:
        warned = q.list_items(conn, q.ItemFilter(sla_state="warning"), now=ANCHOR)
    listed = json.loads(first.stdout)
    breached = {r["key"] for r in listed["breached"]}
    # an item is "warning" in 'ls --sla' when no target of it is breached
    assert {i.key for i in warned} == {r["key"] for r in listed["warning"]} - breached
    db.dispose()


def test_upgrade_from_v2_adds_the_sla_columns(db_path: Path, clock: Clock) -> None:
    db = open_database(db_path, clock=clock)
    db.dispose()
    raw = sqlite3.connect(db_path)
    raw.execute("DROP INDEX ix_item_sla_check")
    for col in ("sla_fr_warn", "sla_res_warn", "sla_res_start", "sla_check_at"):
        raw.execute(f"ALTER TABLE item DROP COLUMN {col}")
    raw.execute("PRAGMA user_version = 2")
    raw.commit()
    raw.close()
    db = open_database(db_path, clock=clock)
    with db.read() as conn:
        cols = {r[1] for r in conn.exec_driver_sql("PRAGMA table_info(item)")}
        version = conn.exec_driver_sql("PRAGMA user_version").scalar_one()
    assert {"sla_fr_warn", "sla_res_warn", "sla_res_start", "sla_check_at"} <= cols
    assert version == SCHEMA_VERSION
    db.dispose()


def test_recompute_applies_changed_policies_to_open_items(sla_db) -> None:
    it = items.create_item(sla_db, queue="support", title="Printer")
    assert it.sla_fr_due == utc(2026, 12, 7, 9, 15)
    rules = json.loads(json.dumps(RULES))
    rules["sla_policies"][1]["first_response"] = "1h"
    load_data(sla_db, {"sla_policies": rules["sla_policies"]}, source="rules.toml")
    # loading policies recomputes open items in the same transaction
    assert get(sla_db, it.key).sla_fr_due == utc(2026, 12, 7, 9, 45)
    assert sla_compute.recompute_all(sla_db) == 1
    assert get(sla_db, it.key).sla_fr_due == utc(2026, 12, 7, 9, 45)


@pytest.mark.sqlite_only
def test_a_bad_stored_rule_never_blocks_writes(sla_db, db_path: Path) -> None:
    raw = sqlite3.connect(db_path)
    raw.execute("UPDATE business_calendar SET timezone = 'Nowhere/Town'")
    raw.commit()
    raw.close()
    it = items.create_item(sla_db, queue="support", title="Still works")
    assert it.sla_policy is None  # the policy on the broken calendar is skipped
    p1 = items.create_item(sla_db, queue="support", title="Down", priority="P1")
    assert p1.sla_policy == "support-p1"
    out = run_cli("--now", ANCHOR.isoformat(), "sla", db=db_path)
    assert out.returncode == 0
    assert "calendar 'office' is unusable: unknown time zone 'Nowhere/Town'" in out.stderr


def test_a_response_while_paused_is_on_time() -> None:
    from opstui.domain.sla import Policy, make_calendar, parse_target, parse_warn, target_state

    cal = make_calendar("office", "Europe/London", {"mon-fri": "09:00-17:00"})
    policy = Policy(
        name="support",
        calendar="office",
        first_response=parse_target("30m"),
        resolution=parse_target("16h"),
        warn=parse_warn("80%"),
        pause_in=frozenset({"waiting"}),
    )
    timeline = [(utc(2026, 12, 7, 9, 0), "new"), (utc(2026, 12, 7, 9, 5), "waiting")]
    cats = {"new": "new", "waiting": "waiting", "done": "done"}
    answered = utc(2026, 12, 7, 11, 0)  # after 09:30, but the clock stopped at 09:05
    sla = sla_compute.compute_item_sla(policy, cal, timeline, cats, answered, None)
    fr = sla.first_response
    assert sla.paused_since == utc(2026, 12, 7, 9, 5)
    assert fr.due is not None and fr.due >= answered
    assert target_state(answered, fr.due, fr.warn, fr.met_at) == "met"
    # resumed at 12:00: the 25 working minutes left at 09:05 are left at 12:00
    timeline.append((utc(2026, 12, 7, 12, 0), "new"))
    sla = sla_compute.compute_item_sla(policy, cal, timeline, cats, None, None)
    assert sla.paused_since is None and sla.first_response.due == utc(2026, 12, 7, 12, 25)
    assert sla.resolution.due == utc(2026, 12, 9, 11, 55)  # Tue 17:00 + 2h55m paused
