"""Time logging and the forecast on a real database (issue: drift)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opstui.domain.clock import Clock
from opstui.errors import ValidationError
from opstui.services import forecast as fsvc
from opstui.services import items, people, transitions
from opstui.services.worklog import log_time
from opstui.store.engine import Database
from opstui.store.schema import SCHEMA_VERSION, open_database
from tests.conftest import run_cli

pytestmark = pytest.mark.both_engines

# Monday 7 December 2026, 09:00 UTC.
MONDAY = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def shop(tmp_path: Path) -> Database:
    created = MONDAY - timedelta(days=2)
    db = open_database(tmp_path / "ops.db", clock=Clock.frozen(created), unix_user="tester")
    people.add_person(db, handle="dev", name="Dev", skills="linux", capacity=40)
    people.add_person(db, handle="alice", name="Alice", skills="linux", capacity=40)
    people.add_queue(db, slug="infra", prefix="INF", triage_owner="alice")
    items.create_item(db, queue="infra", title="Big rebuild", owner="dev", estimate=40, priority=1)
    items.create_item(
        db,
        queue="infra",
        title="Cert renewal",
        owner="dev",
        estimate=4,
        priority=3,
        due_at=MONDAY + timedelta(days=2, hours=8),  # Wed 17:00
    )
    db.clock = Clock.frozen(MONDAY)
    yield db
    db.dispose()


def test_log_time_records_the_work_and_an_event(shop: Database) -> None:
    done = log_time(shop, "INF-2", "1h30m", note="renewed staging")
    assert done.seconds == 5400 and done.total_seconds == 5400
    assert done.remaining_hours == pytest.approx(2.5) and not done.over_estimate
    done = log_time(shop, "inf-2", "3h", at=MONDAY - timedelta(hours=20))
    assert done.total_seconds == 4.5 * 3600
    # Over the estimate: remaining stops at the floor and says so.
    assert done.remaining_hours == pytest.approx(0.5) and done.over_estimate
    with shop.read() as conn:
        events = conn.exec_driver_sql(
            "SELECT field, new, unix_user FROM event WHERE field = 'logged' ORDER BY id"
        ).all()
        logs = conn.exec_driver_sql("SELECT seconds, note FROM worklog ORDER BY id").all()
    assert [tuple(e) for e in events] == [
        ("logged", "1h30m", "tester"),
        ("logged", "3h00m", "tester"),
    ]
    assert [tuple(r) for r in logs] == [(5400, "renewed staging"), (10800, "")]


@pytest.mark.parametrize(
    ("spent", "at", "message"),
    [
        ("soon", None, "not a duration"),
        ("30s", None, "less than a minute"),
        ("25h", None, "more than 24 hours"),
        ("1h", MONDAY + timedelta(hours=2), "in the future"),
        ("1h", MONDAY - timedelta(days=30), "before INF-2 was created"),
    ],
)
def test_log_time_refuses_what_it_cannot_use(
    shop: Database, spent: str, at: datetime | None, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        log_time(shop, "INF-2", spent, at=at)
    with shop.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM worklog").scalar_one() == 0


def test_forecast_flags_drift_and_logged_time_brings_it_back(shop: Database) -> None:
    view = fsvc.forecast(shop)
    rows = {r.key: r for r in view.rows}
    # dev takes the P1 rebuild first: 40 h at 70% focus of 8 h a day.
    assert rows["INF-1"].projection.position == 0
    assert [r.key for r in view.drifting()] == ["INF-2"]
    text = fsvc.describe(rows["INF-2"], view.calendar)
    assert (
        text.startswith("finishes ") and "due Wed 09 Dec 17:00" in text and text.endswith(" late")
    )
    # Most of the rebuild turns out done: logged time shortens what is left of it.
    log_time(shop, "INF-1", "8h", at=MONDAY - timedelta(hours=30))
    log_time(shop, "INF-1", "8h", at=MONDAY - timedelta(hours=6))
    shop.clock = Clock.frozen(MONDAY)
    items.edit_item(shop, "INF-1", estimate=18)
    view = fsvc.forecast(shop)
    assert view.drifting() == []
    assert {r.key: r.remaining_hours for r in view.rows}["INF-1"] == pytest.approx(2.0)


def test_focus_is_learnt_from_logged_time(shop: Database) -> None:
    for days in range(1, 15):
        at = MONDAY - timedelta(days=days)
        if at.weekday() < 5:
            log_time(shop, "INF-1", "4h", at=max(at, MONDAY - timedelta(days=2)), by="dev")
    focus = fsvc.forecast(shop).focus
    assert focus["dev"].learnt and focus["dev"].logged_hours > 0
    assert not focus["alice"].learnt and focus["alice"].focus == fsvc.Settings().focus


def test_unowned_work_is_planned_on_the_triage_owner(shop: Database) -> None:
    items.create_item(shop, queue="infra", title="New request")
    row = {r.key: r for r in fsvc.forecast(shop).rows}["INF-3"]
    assert row.projection.planner == "alice" and row.projection.via_triage


def test_v3_file_gains_the_worklog_table(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    open_database(path).dispose()
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("DROP TABLE worklog")
    raw.execute("PRAGMA user_version = 3")
    raw.close()
    open_database(path).dispose()
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert raw.execute("SELECT count(*) FROM worklog").fetchone()[0] == 0
    raw.close()


@pytest.mark.slow
def test_cli_log_and_forecast(shop: Database) -> None:
    path = shop.target
    now = ["--now", MONDAY.isoformat()]
    out = run_cli(*now, "log", "INF-2", "45m", "-n", "checked", db=path)
    assert out.returncode == 0, out.stderr
    assert (
        out.stdout.strip() == "logged 45m on INF-2 (total 45m of 4h00m estimated; remaining 3h15m)"
    )
    bad = run_cli(*now, "log", "INF-2", "ages", db=path)
    assert bad.returncode == 1 and bad.stderr.startswith("opstui: time spent:")
    assert "Traceback" not in bad.stderr
    out = run_cli(*now, "forecast", "--json", db=path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    by_key = {i["key"]: i for i in data["items"]}
    assert by_key["INF-2"]["drifting"] and by_key["INF-2"]["logged_hours"] == 0.75
    assert by_key["INF-2"]["remaining_hours"] == 3.25
    assert run_cli(*now, "ls", "--drifting", db=path).stdout.strip() == "no items (drifting)"
    from opstui.services.drift import record_drift

    record_drift(shop)
    out = run_cli(*now, "ls", "--drifting", "--json", db=path)
    assert [i["key"] for i in json.loads(out.stdout)] == ["INF-2"]
    out = run_cli(*now, "forecast", "--owner", "nobody", db=path)
    assert out.returncode == 1 and "no person 'nobody'" in out.stderr


def test_backtest_replays_what_the_forecast_said(shop: Database) -> None:
    # INF-2 (due Wed 17:00) sat behind a 40 h P1 and was finished on Friday: late, and the
    # forecast a week before its date (here: at creation) said so.  INF-1 had no date.
    shop.clock = Clock.frozen(datetime(2026, 12, 11, 15, 0, tzinfo=UTC))
    for state in ("in_progress", "done"):
        transitions.transition(shop, "INF-2", state)
    result = fsvc.backtest(shop, weeks=2, now=datetime(2026, 12, 14, 9, 0, tzinfo=UTC))
    assert [c.key for c in result.cases] == ["INF-2"]
    case = result.cases[0]
    assert case.owner == "dev" and case.late and case.predicted_late and case.hit
    assert case.at_creation and case.asked_at == MONDAY - timedelta(days=2)
    assert result.hit_rate == 1.0 and result.median_error_hours is not None
    # Asked about a window with nothing finished: nothing to say.
    assert fsvc.backtest(shop, weeks=1, now=MONDAY).cases == ()


def test_sample_drift_is_flagged_days_ahead_and_a_suggested_move_fixes_it(sample_db) -> None:
    from opstui.services import drift

    now = sample_db.clock.now()
    view = fsvc.forecast(sample_db)
    drifting = view.drifting()
    # dev's P3 switch replacement, promised for Wednesday, sits behind ~48 h of P2 work.
    assert [r.key for r in drifting] == ["PRJ-25"]
    row = drifting[0]
    assert row.owner == "dev" and row.target_at - now > timedelta(days=4)
    assert drift.record_drift(sample_db) == 1
    assert drift.record_drift(sample_db) == 0  # told once
    # The item list filter and `ls --drifting` read the same figure.
    from opstui.store import panes
    from opstui.store import queries as q

    flt = q.ItemFilter(drifting=True)
    with sample_db.read() as conn:
        assert [i.key for i in q.list_items(conn, flt, now=now)] == ["PRJ-25"]
        assert len(panes.item_ids(conn, flt, now=now)) == 1
    with sample_db.read() as conn:
        _, moves = drift.rescues_in(conn, now)
    assert [(m.key, m.from_handle) for m in moves] == [("PRJ-25", "dev")]
    move = moves[0]
    assert move.to_handle != "dev" and "drifting: due Wed 09 Dec 17:00" in move.reason
    items.assign(sample_db, move.key, move.to_handle, expected_version=move.version)
    assert fsvc.forecast(sample_db).drifting() == []
    assert drift.record_drift(sample_db) == 1  # back on time: the episode ends
    with sample_db.read() as conn:
        marks = conn.exec_driver_sql(
            "SELECT new FROM event WHERE field = 'drifting' ORDER BY id"
        ).all()
    assert len(marks) == 2 and marks[0][0].endswith(" late") and marks[1][0] is None
    with sample_db.read() as conn:
        assert q.list_items(conn, flt, now=now) == []


def test_the_review_shows_estimate_accuracy(shop: Database) -> None:
    from opstui.services import review as rsvc
    from opstui.services.review.agenda import agenda

    log_time(shop, "INF-2", "3h", by="dev")  # 4 h estimated
    for state in ("in_progress", "done"):
        transitions.transition(shop, "INF-2", state)
    rv = rsvc.weekly_review(shop)
    by_person = {a.group: a for a in rv.accuracy["person"]}
    assert by_person["dev"].items == 1 and by_person["dev"].median_ratio == 0.75
    [line] = [a for a in agenda(rv) if a.key == "accuracy"]
    assert line.note.endswith("dev 0.75x")
    data = rsvc.to_json(rv)["estimate_accuracy"]
    assert data["kind"] == [{"who": "task", "items": 1, "median_logged_over_estimate": 0.75}]
