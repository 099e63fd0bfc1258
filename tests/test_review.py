"""Weekly review aggregates on a hand-made database: throughput, cycle time, SLA, findings."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from opstui.domain import models
from opstui.domain.clock import Clock
from opstui.errors import ValidationError
from opstui.services import items as item_svc
from opstui.services import loading as loader
from opstui.services import review as rsvc
from opstui.services.context import writing
from opstui.services.processes.catalog import process_catalog
from opstui.store.schema import open_database

pytestmark = pytest.mark.both_engines

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 12, 4, 16, 45, tzinfo=UTC)  # Friday
ITEM = models.Item.__table__


def iso(t: datetime) -> str:
    return t.isoformat()


def done_item(
    title: str, created: datetime, hours: float, owner: str = "ann", queue: str = "ops"
) -> dict[str, Any]:
    resolved = created + timedelta(hours=hours)
    return {
        "queue": queue,
        "title": title,
        "created": iso(created),
        "estimate": 1,
        "history": [
            {"at": iso(created + timedelta(minutes=1)), "by": owner, "assign": owner},
            {"at": iso(created + timedelta(minutes=2)), "by": owner, "to": "in_progress"},
            {"at": iso(resolved), "by": owner, "to": "done"},
        ],
    }


def team_data() -> dict[str, Any]:
    week_start = NOW - timedelta(days=7)
    prev_start = NOW - timedelta(days=14)
    items = [
        # this week: 3 done in ops (cycle 2h, 4h, 10h); 1 in web (cycle 30h)
        done_item("ops a", week_start + timedelta(days=1), 2),
        done_item("ops b", week_start + timedelta(days=2), 4),
        done_item("ops c", week_start + timedelta(days=3), 10),
        done_item("web a", week_start + timedelta(days=1), 30, owner="bo", queue="web"),
        # the week before: 2 done in ops (cycle 8h, 12h)
        done_item("ops d", prev_start + timedelta(days=1), 8),
        done_item("ops e", prev_start + timedelta(days=2), 12),
        # 5 weeks ago: 1 done
        done_item("ops f", NOW - timedelta(days=35), 1),
        # 10 weeks ago: outside the 8-week trend
        done_item("ops old", NOW - timedelta(days=70), 1),
        # open work
        {
            "ref": "blocker",
            "queue": "ops",
            "title": "Firewall renewal",
            "owner": "ann",
            "estimate": 30,
            "created": iso(NOW - timedelta(days=10)),
            "history": [{"at": iso(NOW - timedelta(days=10)), "by": "ann", "to": "in_progress"}],
        },
        {
            "queue": "ops",
            "title": "VPN tunnel",
            "owner": "ann",
            "estimate": 20,
            "created": iso(NOW - timedelta(days=9)),
            "blocked_by": ["blocker"],
            "history": [
                {
                    "at": iso(NOW - timedelta(hours=3)),
                    "by": "ann",
                    "comment": "waiting for the firewall",
                }
            ],
        },
        {
            "queue": "ops",
            "title": "Linux patching",
            "owner": "ann",
            "estimate": 8,
            "priority": "P4",
            "created": iso(NOW - timedelta(hours=5)),
        },
        {
            "queue": "ops",
            "title": "Nobody's <b>[red]job[/red]</b>",
            "priority": "P1",
            "created": iso(NOW - timedelta(hours=2)),
        },
        {
            "queue": "web",
            "title": "Refund customer",
            "owner": "bo",
            "created": iso(NOW - timedelta(days=1)),
            "history": [{"at": iso(NOW - timedelta(hours=20)), "by": "bo", "to": "in_progress"}],
            "approval": "done",
        },
        {
            "queue": "ops",
            "title": "Marked blocked",
            "owner": "bo",
            "created": iso(NOW - timedelta(hours=4)),
            "history": [
                {"at": iso(NOW - timedelta(hours=4)), "by": "bo", "to": "in_progress"},
                {"at": iso(NOW - timedelta(hours=3)), "by": "bo", "to": "blocked"},
            ],
        },
    ]
    return {
        "people": [
            {"handle": "ann", "name": "Ann", "capacity": 40, "skills": ["linux", "firewall"]},
            {"handle": "bo", "name": "Bo", "capacity": 40, "skills": ["linux", "web"]},
            {"handle": "cy", "name": "Cy", "capacity": 20, "skills": ["web"]},
        ],
        "queues": [
            {"slug": "ops", "name": "Ops", "prefix": "OPS", "workflow": "default"},
            {"slug": "web", "name": "Web", "prefix": "WEB", "workflow": "default"},
        ],
        "processes": [
            {
                "key": "restore-test",
                "name": "Restore test",
                "trigger": {"cron": "0 9 1 * *"},
                "runbook": "1. restore",
                "queue": "ops",
                "skills": ["linux"],
            },
            {
                "key": "fw-review",
                "name": "Firewall review",
                "owner": "ann",
                "trigger": {"cron": "0 9 * * 1"},
                "runbook": "1. review",
                "queue": "ops",
                "skills": ["firewall"],
            },
            {
                "key": "no-steps",
                "name": "No steps",
                "owner": "bo",
                "trigger": {"cron": "0 9 * * 1"},
                "queue": "web",
            },
        ],
        "items": items,
    }


@pytest.fixture
def db(tmp_path: Path) -> Any:
    database = open_database(
        tmp_path / "team.db", create=True, clock=Clock.frozen(NOW), unix_user="lead"
    )
    loader.load_data(database, team_data(), source="team")
    yield database
    database.dispose()


def key_of(db: Any, title: str) -> str:
    with db.read() as conn:
        return str(conn.execute(select(ITEM.c.key).where(ITEM.c.title == title)).scalar_one())


def test_week_bounds_default_and_chosen() -> None:
    assert rsvc.week_bounds(NOW) == (NOW - timedelta(days=7), NOW)
    start, end = rsvc.week_bounds(NOW, "2026-11-23")
    assert start == datetime(2026, 11, 23, tzinfo=UTC) and end == datetime(2026, 11, 30, tzinfo=UTC)
    assert rsvc.week_bounds(NOW, "2026-12-01")[1] == NOW  # never later than now
    with pytest.raises(ValidationError, match="date like"):
        rsvc.week_bounds(NOW, "last tuesday")
    with pytest.raises(ValidationError, match="not started"):
        rsvc.week_bounds(NOW, "2026-12-10")


def test_percentile_nearest_rank() -> None:
    assert rsvc.percentile([], 85) is None
    assert rsvc.percentile([5], 85) == 5
    assert rsvc.percentile(list(range(1, 21)), 85) == 17
    assert rsvc.percentile([1, 2, 3, 4], 50) == 2


def test_throughput_and_cycle_time_per_week_and_queue(db: Any) -> None:
    rv = rsvc.weekly_review(db)
    assert len(rv.weeks) == rsvc.TREND_WEEKS
    assert rv.weeks[-1].end == NOW
    assert [w.done for w in rv.weeks] == [0, 0, 0, 1, 0, 0, 2, 4]
    this, prev = rv.this_week, rv.prev_week
    assert this.median_h == pytest.approx(7.0)  # 2, 4, 10, 30
    assert this.p85_h == pytest.approx(30.0)
    assert (
        prev is not None
        and prev.median_h == pytest.approx(10.0)
        and prev.p85_h == pytest.approx(12.0)
    )
    ops = next(q for q in rv.queues if q.queue == "ops")
    assert ops.done == 6
    assert ops.median_h == pytest.approx(6.0)  # 1, 2, 4, 8, 10, 12
    assert ops.week_median_h == pytest.approx(4.0) and ops.prev_week_median_h == pytest.approx(10.0)
    web = next(q for q in rv.queues if q.queue == "web")
    assert (web.done, web.week_median_h, web.prev_week_median_h) == (1, pytest.approx(30.0), None)
    assert rsvc.change_text(this.done, prev.done) == "+2 (+100%)"
    assert rsvc.change_text(this.median_h, prev.median_h, unit="h") == "-3.0h (-30%)"


def test_findings_blocked_stuck_unowned_processes_approvals(db: Any) -> None:
    rv = rsvc.weekly_review(db, stuck_days=3)
    blocked = {b.title: b for b in rv.blocked}
    assert [x.title for x in blocked["VPN tunnel"].blockers] == ["Firewall renewal"]
    assert blocked["Marked blocked"].blockers == ()
    # last event 10 days ago -> stuck; the commented one 3 h ago is not
    assert [s.title for s in rv.stuck] == ["Firewall renewal"]
    assert rv.stuck[0].idle_days >= 3
    assert [u.title for u in rv.unowned] == ["Nobody's <b>[red]job[/red]</b>"]
    # the process catalog's findings: the same list `opstui processes` shows
    findings = {(p.key, p.kind) for p in rv.process_findings}
    assert findings == {
        ("restore-test", "no_owner"),
        ("no-steps", "no_runbook"),
        ("fw-review", "single_person"),
    }
    catalog = process_catalog(db, rv.now)
    assert rv.counts["process_findings"] == len(catalog.findings) == 3
    assert [(a.title, a.to_state) for a in rv.approvals] == [("Refund customer", "done")]
    # capacity: ann holds 30+20+8 = 58h of 62h owned load
    assert rv.capacity.busiest == "ann" and rv.capacity.busiest_warning
    assert [c.name for c in rv.capacity.skill_risks] == ["firewall"]


def test_sla_breaches_and_near_misses_from_cached_columns_and_events(db: Any) -> None:
    a, b, c, d = (key_of(db, t) for t in ("ops a", "ops b", "ops c", "Linux patching"))
    with db.write() as conn:
        created = {
            k: conn.execute(select(ITEM.c.created_at).where(ITEM.c.key == k)).scalar_one()
            for k in (a, b, c, d)
        }
        conn.execute(
            update(ITEM).where(ITEM.c.key == a).values(sla_res_due=created[a] + timedelta(hours=1))
        )
        # ops b resolved after 4h, due after 4.5h: 0.5h of 4.5h left (<20%) -> near miss
        conn.execute(
            update(ITEM)
            .where(ITEM.c.key == b)
            .values(sla_res_due=created[b] + timedelta(hours=4.5))
        )
        # ops c resolved after 10h, due after 40h: comfortably met
        conn.execute(
            update(ITEM).where(ITEM.c.key == c).values(sla_res_due=created[c] + timedelta(hours=40))
        )
        # still open, first response due 1h ago -> breached, not yet met
        conn.execute(
            update(ITEM).where(ITEM.c.key == d).values(sla_fr_due=NOW - timedelta(hours=1))
        )
    with writing(db) as ctx:  # what the SLA engine writes
        item = item_svc.item_for_update(ctx, key_of(db, "VPN tunnel"))
        ctx.record("sla_breached", "ok", "resolution", item_id=item.id)
        other = item_svc.item_for_update(ctx, key_of(db, "Marked blocked"))
        ctx.record("sla_warning", "ok", "first_response", item_id=other.id)
        # an event for a breach the columns explain already is not counted twice
        ctx.record(
            "sla_breached", "ok", "first_response", item_id=item_svc.item_for_update(ctx, d).id
        )
    rv = rsvc.weekly_review(db)
    breaches = {(m.key, m.target): m for m in rv.breaches}
    assert set(breaches) == {
        (a, "resolution"),
        (d, "first response"),
        (key_of(db, "VPN tunnel"), "resolution"),
    }
    assert breaches[(a, "resolution")].margin_s == pytest.approx(3600)
    assert breaches[(d, "first response")].met_at is None
    assert breaches[(key_of(db, "VPN tunnel"), "resolution")].source == "event"
    near = {(m.key, m.target) for m in rv.near_misses}
    assert near == {(b, "resolution"), (key_of(db, "Marked blocked"), "first response")}
    by_owner = {o: (n_b, n_n) for o, n_b, n_n in rv.misses_by("owner")}
    assert by_owner == {"ann": (3, 1), "bo": (0, 1)}
    assert rv.misses_by("queue") == [("ops", 3, 2)]


def test_record_review_writes_a_row_and_an_event(db: Any) -> None:
    rv = rsvc.weekly_review(db)
    rid = rsvc.record_review(
        db,
        rv.start,
        rv.end,
        [{"kind": "reassign", "item": "OPS-1", "detail": "ann -> bo"}],
        "cross-train on \x1b[31mfirewall",
    )
    with db.read() as conn:
        row = conn.execute(
            select(models.Review.__table__).where(models.Review.__table__.c.id == rid)
        ).one()
        ev = conn.execute(
            select(models.Event.__table__).where(models.Event.__table__.c.entity == "review")
        ).one()
    assert row.held_by == "lead" and row.held_at == NOW and row.week_start == rv.start
    assert row.decisions[0]["item"] == "OPS-1"
    assert "\x1b" not in row.decisions[1]["text"]
    assert ev.field == "review_held" and ev.entity_id == rid
    assert rsvc.weekly_review(db).last_review is not None


def test_markdown_and_json_exports_of_the_hand_made_team(db: Any) -> None:
    rv = rsvc.weekly_review(db)
    md = rsvc.to_markdown(rv)
    assert md.startswith("# Weekly review: 2026-11-27 16:45 to 2026-12-04 16:45 UTC")
    # DB text is escaped for tables, never interpreted
    assert "Nobody's <b>[red]job[/red]</b>" in md
    assert "| restore-test | Restore test | no owner (its items are created unowned) |" in md
    data = json.loads(json.dumps(rsvc.to_json(rv), default=str))
    assert data["counts"]["unowned"] == 1
    assert [w["done"] for w in data["throughput"]] == [0, 0, 0, 1, 0, 0, 2, 4]


def run_cli(*args: str, db_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opstui", "--db", str(db_path), "--now", iso(NOW), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": "/usr/bin:/bin",
            "OPSTUI_CONFIG": str(db_path.parent / "none.toml"),
            "OPSTUI_STATE": str(db_path.parent / "state"),
            "HOME": str(db_path.parent),
        },
    )


def test_cli_capacity_and_review_exports(db: Any, tmp_path: Path) -> None:
    path = tmp_path / "team.db"
    out = run_cli("capacity", "--json", db_path=path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["busiest"]["handle"] == "ann"
    assert {s["skill"] for s in data["skills"] if s["risk"]} == {"firewall"}
    text = run_cli("capacity", db_path=path)
    assert text.returncode == 0 and "skill firewall: ann" in text.stdout
    bad = run_cli("review", "--week", "nope", "--markdown", db_path=path)
    assert bad.returncode == 1 and bad.stderr.startswith("opstui: --week wants a date")
    both = run_cli("review", "--markdown", "--json", db_path=path)
    assert both.returncode != 0 and "choose one" in both.stderr
    js = run_cli("review", "--json", "--week", "2026-11-23", db_path=path)
    assert js.returncode == 0, js.stderr
    assert json.loads(js.stdout)["week"]["start"].startswith("2026-11-23")
