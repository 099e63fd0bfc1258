"""Processes: triggers, exactly-once runs (also across OS processes), runbooks, catalog."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from opstui.domain import models
from opstui.domain import workflow as wfl
from opstui.domain.clock import Clock
from opstui.services import items as svc
from opstui.services import people, transitions
from opstui.services.processes import catalog
from opstui.services.processes import run as processes
from opstui.store import queries as q
from opstui.store.schema import open_database
from tests._automation_support import NOW, REPO, count, data_with, make_db

pytestmark = pytest.mark.both_engines

RUN = models.ProcessRun.__table__
ITEM = models.Item.__table__

RUNBOOK = "# Invoice run\n\n1. Export hours\n2. Reconcile `contracts`\n3. Send invoices\n"

PROCESSES: list[dict[str, Any]] = [
    {
        "key": "invoices",
        "name": "Invoice run",
        "owner": "ann",
        "trigger": {"cron": "0 9 1 * *"},
        "timezone": "Europe/London",
        "queue": "work",
        "skills": ["qa"],
        "estimate": 4,
        "runbook": RUNBOOK,
    },
    {
        "key": "audit",
        "name": "Audit",
        "owner": "ben",
        "queue": "work",
        "estimate": 2,
        "trigger": {"rrule": "FREQ=MONTHLY;BYDAY=1MO;BYHOUR=10;BYMINUTE=0"},
        "timezone": "Europe/London",
        "skills": ["pm"],
        "runbook": "- check a\n- check b",
    },
    {
        "key": "orphan",
        "name": "Ownerless backup test",
        "queue": "notes",
        "trigger": {"cron": "30 8 * * 1-5"},
        "timezone": "America/New_York",
        "skills": ["rare"],
        "runbook": "1. Restore",
    },
    {
        "key": "onqa",
        "name": "On QA",
        "owner": "cat",
        "queue": "notes",
        "trigger": {"event": "task:ready"},
        "runbook": "1. Tell the client",
    },
    {"key": "idle", "name": "Nobody scheduled this", "owner": "dan", "queue": "notes"},
]


def proc_data() -> dict[str, Any]:
    return data_with(extra={"processes": PROCESSES})


# --- pure trigger logic ----------------------------------------------------------------


def test_cron_in_a_time_zone_follows_daylight_saving() -> None:
    t = wfl.Trigger("cron", "0 9 * * *", "Europe/London")
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert wfl.latest_occurrence(t, summer) == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)  # 09:00 BST
    assert wfl.next_occurrence(t, summer) == datetime(2026, 7, 2, 8, 0, tzinfo=UTC)
    winter = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert wfl.latest_occurrence(t, winter) == winter  # "at or before" includes now exactly
    assert wfl.next_occurrence(t, winter) == datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def test_rrule_occurrences() -> None:
    t = wfl.Trigger("rrule", "FREQ=MONTHLY;BYDAY=1MO;BYHOUR=10;BYMINUTE=0", "Europe/London")
    assert wfl.latest_occurrence(t, NOW) == datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    assert wfl.next_occurrence(t, NOW) == datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    assert wfl.latest_occurrence(wfl.Trigger("event", "task:ready"), NOW) is None


@pytest.mark.parametrize(
    ("kind", "text", "tz", "reason"),
    [
        ("cron", "61 * * * *", "UTC", "does not parse"),
        ("cron", "0 9 * *", "UTC", "5 fields"),
        ("cron", "* * * * * *", "UTC", "5 fields"),
        ("rrule", "FREQ=SOMETIMES", "UTC", "does not parse"),
        ("rrule", "FREQ=MINUTELY", "UTC", "at most hourly"),
        ("rrule", "", "UTC", "empty"),
        ("event", "ready", "UTC", "kind:state"),
        ("cron", "0 9 * * *", "Mars/Olympus", "unknown time zone"),
        ("weekly", "x", "UTC", "unknown trigger"),
    ],
)
def test_bad_triggers_say_why(kind: str, text: str, tz: str, reason: str) -> None:
    with pytest.raises(wfl.TriggerError, match=reason):
        wfl.validate_trigger(kind, text, tz)


def test_runbook_steps_and_templates() -> None:
    assert wfl.runbook_steps(RUNBOOK) == ["Export hours", "Reconcile `contracts`", "Send invoices"]
    assert wfl.runbook_steps("- [ ] a\n* b\n+ c\n2) d") == ["a", "b", "c", "d"]
    assert wfl.runbook_steps("first line\n\nsecond line") == ["first line", "second line"]
    assert (
        wfl.render("{key}: {title} {nope}", {"key": "A-1", "title": "{key} [b]x"})
        == "A-1: {key} [b]x {nope}"
    )


def test_find_cycle() -> None:
    assert wfl.find_cycle({1: [2], 2: [3], 3: []}) is None
    assert wfl.find_cycle({1: [2], 2: [3], 3: [1]}) == [1, 2, 3, 1]
    assert wfl.find_cycle({1: [1]}) == [1, 1]
    assert wfl.find_cycle({1: [2], 2: [], 3: [4], 4: [3]}) == [3, 4, 3]


# --- running -----------------------------------------------------------------------------


def test_run_due_creates_latest_occurrence_once_with_checklist(tmp_path: Path) -> None:
    db = make_db(tmp_path, proc_data())
    done = processes.run_due(db)
    by_proc = {r.process: r for r in done}
    assert set(by_proc) == {"invoices", "audit", "orphan"}
    # only the latest missed occurrence, not a backlog
    assert by_proc["invoices"].occurrence_at == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert by_proc["orphan"].occurrence_at == datetime(
        2026, 12, 4, 13, 30, tzinfo=UTC
    )  # 08:30 New York
    assert count(db, RUN) == 3
    with db.read() as conn:
        inv = q.get_item(conn, by_proc["invoices"].item)
        orphan = q.get_item(conn, by_proc["orphan"].item)
    assert (inv.owner, inv.queue, inv.estimate_hours, inv.kind) == ("ann", "work", 4.0, "process")
    assert inv.title == "Invoice run (2026-12-01)"
    assert inv.body.splitlines()[2:] == [
        "- [ ] Export hours",
        "- [ ] Reconcile `contracts`",
        "- [ ] Send invoices",
    ]
    assert inv.data["checklist"] == [
        {"step": s, "done": False}
        for s in ("Export hours", "Reconcile `contracts`", "Send invoices")
    ]
    assert orphan.owner is None and "UNOWNED" in by_proc["orphan"].text
    # same instant again: nothing; later the same day: still nothing new for monthly ones
    assert processes.run_due(db) == []
    db.clock.advance(timedelta(days=1))  # Saturday: no weekday run either
    assert processes.run_due(db) == []
    db.clock.advance(
        timedelta(days=2)
    )  # Monday 16:45: the audit's first Monday + orphan's weekday run
    again = processes.run_due(db)
    assert sorted(r.process for r in again) == ["audit", "orphan"]
    assert count(db, RUN) == 5


def test_inactive_owner_gives_a_visibly_unowned_item(tmp_path: Path) -> None:
    data = proc_data()
    data["processes"][0]["owner"] = "dan"  # inactive
    db = make_db(tmp_path, data)
    (inv,) = [r for r in processes.run_due(db) if r.process == "invoices"]
    assert inv.owner is None and "owner dan is inactive" in inv.text


def test_event_trigger_runs_once_per_item(tmp_path: Path) -> None:
    db = make_db(tmp_path, proc_data())
    item = svc.create_item(db, queue="work", title="Ship it", kind="task")
    transitions.transition(db, item.key, "doing")
    _, done = transitions.transition(db, item.key, "ready")
    procs = [d for d in done if d["type"] == "process"]
    assert len(procs) == 1 and procs[0]["process"] == "onqa"
    with db.read() as conn:
        made = q.get_item(conn, procs[0]["item"])
    assert made.title == "On QA: Ship it" and made.owner == "cat" and made.parent_id == item.id
    transitions.transition(db, item.key, "doing")
    _, done = transitions.transition(db, item.key, "ready")
    assert [d for d in done if d["type"] == "process"] == []
    # another kind does not trigger it
    other = svc.create_item(db, queue="work", title="Bug", kind="bug")
    transitions.transition(db, other.key, "doing")
    _, done = transitions.transition(db, other.key, "ready")
    assert [d for d in done if d["type"] == "process"] == []


def test_dry_run_of_run_due_changes_nothing(tmp_path: Path) -> None:
    from tests._automation_support import snapshot

    db = make_db(tmp_path, proc_data())
    before = snapshot(db)
    done = processes.run_due(db, dry_run=True)
    assert len(done) == 3 and all(r.text.startswith("would ") for r in done)
    assert snapshot(db) == before


WRAPPER = r"""
import os, sys, time
import opstui.cli  # pay the import cost before the barrier
barrier = sys.argv[1]
while not os.path.exists(barrier):
    time.sleep(0.0005)
sys.argv = ["opstui"] + sys.argv[2:]
import runpy
runpy.run_module("opstui", run_name="__main__", alter_sys=True)
"""


@pytest.mark.slow
def test_four_os_processes_running_due_at_the_same_instant(tmp_path: Path) -> None:
    db = make_db(tmp_path, proc_data())
    db.dispose()
    barrier = tmp_path / "go"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "OPSTUI_CONFIG": str(tmp_path / "none.toml"),
        "OPSTUI_STATE": str(tmp_path / "state"),
    }
    cmd = [
        sys.executable,
        "-c",
        WRAPPER,
        str(barrier),
        "--db",
        str(tmp_path / "t.db"),
        "--now",
        NOW.isoformat(),
        "run-due",
        "--json",
    ]
    procs = [
        subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    time.sleep(2.5)  # let all four import and reach the barrier
    barrier.touch()
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outputs.append(json.loads(out))
    created = [r["occurrence"] for out in outputs for r in out]
    assert sorted(created) == sorted({*created}) and len(created) == 3, outputs
    db = open_database(tmp_path / "t.db", create=False)
    with db.read() as conn:
        runs = conn.execute(select(RUN.c.occurrence_key, RUN.c.item_id)).all()
        made = conn.execute(select(ITEM.c.key).where(ITEM.c.kind == "process")).all()
    assert len(runs) == 3 and all(item_id is not None for _, item_id in runs)
    assert len(made) == 3


def test_cli_run_due_twice_at_the_same_now(tmp_path: Path) -> None:
    make_db(tmp_path, proc_data()).dispose()
    env = {
        **os.environ,
        "OPSTUI_CONFIG": str(tmp_path / "none.toml"),
        "OPSTUI_STATE": str(tmp_path / "state"),
    }
    cmd = [
        sys.executable,
        "-m",
        "opstui",
        "--db",
        str(tmp_path / "t.db"),
        "--now",
        "2026-12-04T16:45:00Z",
        "run-due",
    ]
    first = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert len(lines) == 3
    assert any(
        line.startswith("created NOTE-") and "UNOWNED: the process has no owner" in line
        for line in lines
    )
    second = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert second.returncode == 0 and second.stdout.strip() == "nothing due at 2026-12-04 16:45 UTC"


# --- catalog -------------------------------------------------------------------------------


def test_catalog_and_findings(tmp_path: Path) -> None:
    db = make_db(tmp_path, proc_data())
    processes.run_due(db)
    cat = catalog.process_catalog(db, NOW)
    procs = {p.key: p for p in cat.processes}
    assert list(procs) == ["audit", "idle", "invoices", "onqa", "orphan"]
    inv = procs["invoices"]
    assert inv.trigger_text == "cron 0 9 1 * * (Europe/London)"
    assert inv.next_run == datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
    # the last run is the occurrence's due date, not the moment it was created
    assert inv.last_run == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert inv.last_item and inv.runs == 1
    assert inv.steps == ("Export hours", "Reconcile `contracts`", "Send invoices")
    assert (
        procs["onqa"].next_run is None
        and procs["onqa"].trigger_text == "when a task item reaches ready"
    )
    kinds = {(f.kind, f.process, f.person) for f in cat.findings}
    assert ("no_owner", "orphan", None) in kinds
    assert ("no_trigger", "idle", None) in kinds
    assert ("no_runbook", "idle", None) in kinds
    assert ("owner_inactive", "idle", "dan") in kinds
    assert ("owner_away", "onqa", "cat") in kinds
    assert ("single_person", "orphan", "zed") in kinds
    assert ("owner_lacks_skill", "audit", None) not in kinds  # ben has pm
    # ann and jon both have qa: no single-person finding for invoices
    assert not any(f.process == "invoices" and f.kind == "single_person" for f in cat.findings)
    # zed leaves: nobody can run 'orphan' any more
    people.edit_person(db, "zed", active=False)
    cat = catalog.process_catalog(db, NOW)
    assert any(f.kind == "no_one_able" and f.process == "orphan" for f in cat.findings)


def test_cli_processes_json_and_text(tmp_path: Path) -> None:
    make_db(tmp_path, proc_data()).dispose()
    env = {
        **os.environ,
        "OPSTUI_CONFIG": str(tmp_path / "none.toml"),
        "OPSTUI_STATE": str(tmp_path / "state"),
        "COLUMNS": "160",
    }
    base = [
        sys.executable,
        "-m",
        "opstui",
        "--db",
        str(tmp_path / "t.db"),
        "--now",
        NOW.isoformat(),
        "processes",
    ]
    out = subprocess.run(
        [*base, "--json"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [p["key"] for p in data["processes"]] == ["audit", "idle", "invoices", "onqa", "orphan"]
    # processes and run-due agree on what is due: the missed 1 December run, due now
    assert data["processes"][2]["next_run"] == "2026-12-01T09:00:00+00:00"
    run_due = [*base[:-1], "run-due", "--json"]

    def cli(*args: str) -> Any:
        out = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    dry = cli(*run_due, "--dry-run")
    due_now = {p["key"]: p["next_run"] for p in data["processes"] if p["due_now"]}
    assert due_now == {r["process"]: r["occurrence_at"] for r in dry}
    assert due_now["invoices"] == "2026-12-01T09:00:00+00:00"
    ran = cli(*run_due)
    assert [(r["process"], r["occurrence_at"]) for r in ran] == [
        (r["process"], r["occurrence_at"]) for r in dry
    ]
    after = {p["key"]: p for p in cli(*base, "--json")["processes"]}
    assert not any(p["due_now"] for p in after.values())
    assert cli(*run_due, "--dry-run") == []
    inv = after["invoices"]
    assert (inv["next_run"], inv["last_run"]) == (
        "2027-01-01T09:00:00+00:00",
        "2026-12-01T09:00:00+00:00",
    )
    assert {
        "kind": "no_owner",
        "process": "orphan",
        "person": None,
        "text": "orphan: no owner (its items are created unowned)",
    } in data["findings"]
    text = subprocess.run(base, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert "orphan: no owner" in text.stdout and "(no owner)" in text.stdout
    assert "idle: no trigger" in text.stdout


def test_read_only_terminal_runs_nothing(tmp_path: Path) -> None:
    make_db(tmp_path, proc_data()).dispose()
    ro = open_database(tmp_path / "t.db", create=False, readonly=True)
    assert len(processes.due_occurrences(ro, NOW)) == 3
    ro.clock = Clock.frozen(NOW)
    assert processes.run_due(ro) == []
    ro.dispose()
    rw = open_database(tmp_path / "t.db", create=False)
    assert count(rw, RUN) == 0


def test_next_run_at_is_the_soonest_schedule(tmp_path: Path) -> None:
    db = make_db(tmp_path, proc_data())
    # missed occurrences are due now: the oldest (audit, 2 November) wakes a terminal
    assert processes.next_run_at(db) == datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    processes.run_due(db)
    # orphan: weekdays 08:30 New York = 13:30 UTC; next after Friday 16:45 UTC is Monday
    assert processes.next_run_at(db) == datetime(
        2026, 12, 7, 10, 0, tzinfo=UTC
    )  # audit, 1st Monday
    # seen on Tuesday 00:00 with nothing run since Friday: Monday's audit is due (missed)
    assert processes.next_run_at(db, datetime(2026, 12, 8, 0, 0, tzinfo=UTC)) == datetime(
        2026, 12, 7, 10, 0, tzinfo=UTC
    )


# --- catching up on missed occurrences ------------------------------------------------


def test_pending_occurrences_catch_up_latest_all_or_skip() -> None:
    weekly = wfl.Trigger("cron", "0 9 * * 1", "UTC")  # Mondays 09:00
    last = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)
    mondays = [datetime(2026, 11, d, 9, 0, tzinfo=UTC) for d in (16, 23, 30)]
    assert wfl.pending_occurrences(weekly, last, NOW, "latest") == mondays[-1:]
    assert wfl.pending_occurrences(weekly, last, NOW, "all") == mondays
    assert wfl.pending_occurrences(weekly, last, NOW, "skip") == []
    on_time = mondays[-1] + timedelta(minutes=1)
    assert wfl.pending_occurrences(weekly, last, on_time, "skip") == mondays[-1:]
    assert wfl.pending_occurrences(weekly, mondays[-1], NOW, "all") == []
    assert wfl.pending_occurrences(weekly, None, NOW, "all") == mondays[-1:]  # no backlog
    long_ago = datetime(2020, 1, 6, 9, 0, tzinfo=UTC)
    assert len(wfl.pending_occurrences(weekly, long_ago, NOW, "all")) == wfl.MAX_CATCH_UP
    with pytest.raises(wfl.TriggerError, match="catch_up"):
        wfl.pending_occurrences(weekly, last, NOW, "sometimes")


CATCH_UP = [
    {  # quarterly, two months late when the dashboard opens: one late item
        "key": "backup",
        "name": "Quarterly backup test",
        "owner": "ann",
        "queue": "work",
        "trigger": {"cron": "0 9 1 */3 *"},
        "runbook": "1. Restore",
    },
    {  # weekly, catches up every missed Monday
        "key": "weekly",
        "name": "Weekly check",
        "owner": "ben",
        "queue": "work",
        "trigger": {"cron": "0 9 * * 1"},
        "catch_up": "all",
        "runbook": "1. Check",
    },
    {  # weekly too, but a missed one is skipped
        "key": "skipper",
        "name": "Skippable",
        "owner": "ben",
        "queue": "work",
        "trigger": {"cron": "0 9 * * 1"},
        "catch_up": "skip",
        "runbook": "1. Check",
    },
]


def test_bad_catch_up_is_refused_with_its_place(tmp_path: Path) -> None:
    from opstui.services.loading import LoadError

    bad = [{**CATCH_UP[0], "catch_up": "sometimes"}]
    with pytest.raises(LoadError, match=r"processes.*catch_up must be one of latest, all, skip"):
        make_db(tmp_path, data_with(extra={"processes": bad}))


async def test_opening_the_dashboard_catches_up_once_late_and_says_so(tmp_path: Path) -> None:
    from opstui.config import Config
    from opstui.services.loading import load_data
    from opstui.services.review import weekly_review
    from opstui.ui.app import make_app

    db = make_db(tmp_path, data_with(extra={"processes": CATCH_UP[1:]}))
    # the weekly ones last ran on Monday 9 November (a terminal was open then)
    db.clock = Clock.frozen(datetime(2026, 11, 9, 9, 1, tzinfo=UTC))
    first = processes.run_due(db)
    assert {(r.process, r.late) for r in first} == {("weekly", False), ("skipper", False)}
    # ... then nothing ran until Friday 4 December 16:45 (the backup test defined meanwhile)
    db.clock = Clock.frozen(NOW)
    load_data(db, {"processes": CATCH_UP[:1]}, source="more.toml")
    cat = {p.key: p for p in catalog.process_catalog(db).processes}
    due = processes.due_occurrences(db)
    first_due: dict[str, datetime] = {}
    for _pid, okey, at in due:  # oldest first per process
        first_due.setdefault(okey.split("@")[0], at)
    assert {p.key: p.next_run for p in cat.values() if p.due_now} == first_due
    assert len(due) == 4  # backup once, weekly three times
    assert cat["skipper"].next_run == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    assert not cat["skipper"].due_now

    app = make_app(db, Config(), clock=db.clock, watch=False, housekeeping=True)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(30):
            await pilot.pause(0.1)
            await app.workers.wait_for_complete()
            if len(app._notifications):
                break
        notes = [(n.title, n.message) for n in app._notifications]
    # one notice says what was created and why
    assert len(notes) == 1, notes
    title, text = notes[0]
    assert title == "Process runs caught up late"
    assert text.startswith("created 4 process items (missed while nothing was running):")
    assert "backup: due 2026-10-01 09:00 UTC, LATE" in text
    assert text.count("weekly: due 2026-11-") == 3

    with db.read() as conn:
        made = [
            (r.process_id, r.occurrence_at, r.key, r.due_at, r.data)
            for r in conn.execute(
                select(
                    RUN.c.process_id, RUN.c.occurrence_at, ITEM.c.key, ITEM.c.due_at, ITEM.c.data
                )
                .join(ITEM, ITEM.c.id == RUN.c.item_id)
                .where(RUN.c.created_at == NOW)
                .order_by(RUN.c.occurrence_at)
            )
        ]
    # one late item for the quarterly backup test, three for the weekly (catch_up = all),
    # none for the skipper; each carries its due date and is marked late
    assert len(made) == 4
    assert sorted(at.date().isoformat() for _p, at, *_ in made) == [
        "2026-10-01",
        "2026-11-16",
        "2026-11-23",
        "2026-11-30",
    ]
    for _pid, at, _key, due_at, data in made:
        assert due_at.replace(tzinfo=UTC) == at.replace(tzinfo=UTC) and data["late"] is True

    # created once: another terminal (or run-due) finds nothing due; the catalog agrees
    assert processes.run_due(db) == [] and processes.due_occurrences(db) == []
    cat = {p.key: p for p in catalog.process_catalog(db).processes}
    assert not any(p.due_now for p in cat.values())
    assert cat["backup"].last_run == datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    assert cat["backup"].next_run == datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
    assert cat["weekly"].last_run == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    # the review's agenda has the late runs line
    rv = weekly_review(db)
    assert rv.counts["late_runs"] == 4
    assert {r.process for r in rv.late_runs} == {"backup", "weekly"}
    db.dispose()
