"""Every figure through every surface agrees (domain.figures is the one definition).

Seeded on purpose with the cases where copies used to disagree: an item that breached and
then went to a paused (waiting) state, an item paused before its due time, and a person
away for part of the planning window.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from textual.widgets import DataTable
from ui_helpers import ANCHOR, settle

from opstui.domain import figures, models
from opstui.domain.clock import Clock
from opstui.services import items, people, transitions
from opstui.services.loading import load_data
from opstui.services.sla import crossings as sla_svc
from opstui.store import panes as pane_q
from opstui.store import queries as q
from opstui.store.schema import open_database

RULES = {
    "sla_policies": [
        {
            "name": "support",
            "queue": "support",
            "calendar": "24x7",
            "first_response": "1h",
            "resolution": "4h",
            "warn_at": "80%",
            "pause_in": ["waiting_on_customer"],
        }
    ],
    # no owner, no trigger, no runbook: three findings, and no work created on opening
    "processes": [{"key": "orphan", "name": "Orphan process", "queue": "infra"}],
}
NOW = ANCHOR  # Friday 16:45 UTC: the window is Fri, Mon-Thu
T0 = NOW - timedelta(hours=6)


def build(path: Path) -> None:
    """The seeded shop; every write at its own moment (the clock is moved, not faked)."""
    clock = Clock.frozen(T0 - timedelta(days=10))
    db = open_database(path, clock=clock, unix_user="tester")
    today = NOW.date()
    people.add_person(db, handle="alice", name="Alice", capacity=40)
    people.add_person(db, handle="bob", name="Bob", capacity=20)
    # away Monday and Tuesday: 2 of the window's 5 working days
    away = {"start": str(today + timedelta(days=3)), "end": str(today + timedelta(days=4))}
    people.add_person(db, handle="carol", name="Carol", capacity=30, away=[away])
    people.add_queue(db, slug="support", prefix="SUP", triage_owner="alice")
    people.add_queue(db, slug="infra", prefix="INF")
    load_data(db, RULES, source="rules.toml")

    def at(delta: timedelta) -> None:
        clock.advance(T0 + delta - clock.now())

    # INF-1: nobody touched it for ten days: stuck (no SLA policy on infra)
    items.create_item(db, queue="infra", title="idle", owner="bob", estimate=1)
    at(timedelta(0))

    # SUP-1: answered, resolution due T0+4h, breached, then waiting on the customer at T0+5h
    a = items.create_item(
        db, queue="support", title="breached then paused", owner="alice", requester="cust"
    )
    # SUP-2: nobody answered within the hour: breached
    items.create_item(db, queue="support", title="never answered", owner="bob", estimate=6)
    at(timedelta(minutes=10))
    items.comment(db, a.key, "on it")
    transitions.transition(db, a.key, "in_progress")
    # SUP-3: paused before anything was due: paused, not breached
    at(timedelta(hours=5))
    transitions.transition(db, a.key, "waiting_on_customer")
    e = items.create_item(
        db, queue="support", title="waiting early", owner="carol", estimate=5, requester="cust"
    )
    at(timedelta(hours=5, minutes=5))
    items.comment(db, e.key, "asked for logs")
    transitions.transition(db, e.key, "in_progress")
    transitions.transition(db, e.key, "waiting_on_customer")
    # SUP-4: 50 of 60 minutes used, unowned: warning
    at(timedelta(hours=5, minutes=10))
    items.create_item(db, queue="support", title="close to the line")
    # SUP-5: fresh: ok
    at(timedelta(hours=5, minutes=55))
    items.create_item(db, queue="support", title="fresh", owner="carol", estimate=4)
    # INF-1..2: no policy, no due time; INF-2 done
    items.create_item(db, queue="infra", title="no sla", owner="carol", estimate=3)
    done = items.create_item(db, queue="infra", title="closed", owner="alice", estimate=50)
    transitions.transition(db, done.key, "in_progress")
    transitions.transition(db, done.key, "done")
    at(timedelta(hours=6))
    sla_svc.record_sla_crossings(db)  # the engine's recorded states, as a terminal would
    db.dispose()


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    path = tmp_path / "figures.db"
    build(path)
    return path


ROOT = Path(__file__).resolve().parents[2]


def cli_json(path: Path, *args: str) -> object:
    """The real command line in a subprocess, as of NOW."""
    argv = [sys.executable, "-m", "opstui", "--db", str(path), "--now", NOW.isoformat()]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [*argv, *args, "--json"], capture_output=True, text=True, env=env, timeout=60, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


async def test_every_surface_shows_the_same_figures(seeded: Path, make) -> None:
    db = open_database(seeded, clock=Clock.frozen(NOW), unix_user="tester")
    try:
        with db.read() as conn:
            every = q.list_items(conn, limit=None)
            queues = pane_q.queue_stats(conn, NOW)
            owners = {o.handle: o for o in pane_q.owner_stats(conn, NOW, NOW.date())}
            listed = {
                state: set(pane_q.item_ids(conn, q.ItemFilter(sla_state=state), now=NOW))
                for state in ("breached", "warning", "paused", "ok")
            }
            counted = {
                state: q.count_items(conn, q.ItemFilter(sla_state=state), NOW)
                for state in ("breached", "warning", "paused", "ok")
            }
            sla_rows = pane_q.sla_rows(conn, 200)
            ev = models.Event.__table__
            last_event = dict(
                conn.execute(select(ev.c.item_id, func.max(ev.c.ts)).group_by(ev.c.item_id)).all()
            )

        # the definition, applied to every item
        state = {i.key: figures.item_sla_state(i, NOW) for i in every}
        keys = {s: {k for k, v in state.items() if v == s} for s in ("breached", "warning")}
        keys |= {s: {k for k, v in state.items() if v == s} for s in ("paused", "ok")}
        assert keys == {
            "breached": {"SUP-1", "SUP-2"},
            "warning": {"SUP-4"},
            "paused": {"SUP-3"},
            "ok": {"SUP-5"},
        }
        ids = {i.key: i.id for i in every}
        unowned = {i.key for i in every if figures.is_unowned(i)}
        assert unowned == {"SUP-4"}
        breached_by_owner = Counter(i.owner for i in every if i.key in keys["breached"])
        stuck = {
            i.key
            for i in every
            if figures.is_stuck(i.category, last_event[i.id].replace(tzinfo=NOW.tzinfo), NOW, 3)
        }
        assert stuck == {"INF-1"}

        # store: Queues pane counts, Owners pane counts, the item list filter and its count
        assert sum(s.breaching for s in queues) == len(keys["breached"])
        assert sum(s.warning for s in queues) == len(keys["warning"])
        assert sum(s.unowned for s in queues) == len(unowned)
        for s, wanted in keys.items():
            assert listed[s] == {ids[k] for k in wanted}, s
            assert counted[s] == len(wanted), s
        assert {h: o.breached for h, o in owners.items() if o.breached} == {
            (h or None): n for h, n in breached_by_owner.items()
        }

        # load %: one definition, its basis named (carol is away 2 of 5 window days)
        carol = owners["carol"]
        assert (carol.hours, carol.available_hours, carol.away_days) == (12.0, 18.0, 2)
        assert carol.load == pytest.approx(12 / 18)
        assert carol.load_of_capacity == pytest.approx(12 / 30)

        # the CLI, as separate processes
        sla = cli_json(seeded, "sla")
        assert {r["key"] for r in sla["breached"]} == keys["breached"]
        assert {r["key"] for r in sla["warning"]} == keys["warning"]
        paused_rows = {r["key"] for r in sla["upcoming"] if r["state"] == "paused"}
        assert paused_rows == keys["paused"]
        ls = cli_json(seeded, "ls", "--sla", "breached")
        assert {r["key"] for r in ls} == keys["breached"]
        cap = cli_json(seeded, "capacity")
        assert cap["rules"]["load_basis"] == figures.BASIS_AVAILABLE
        util = {p["handle"]: p["utilisation"] for p in cap["people"]}
        for handle, o in owners.items():
            if handle is not None:
                assert util[handle] == pytest.approx(o.load, abs=1e-3), handle
        top, share = figures.busiest_share({h: o.hours for h, o in owners.items() if h})
        assert (cap["busiest"]["handle"], cap["busiest"]["share"]) == (top, round(share, 3))

        # the review (its JSON, hence its Markdown and screen, which share the record)
        review = cli_json(seeded, "review")
        counts = review["counts"]
        assert counts["unowned"] == len(unowned)
        assert {u["item"] for u in review["unowned"]} == unowned
        assert {s["item"] for s in review["stuck"]} == stuck
        assert counts["stuck"] == len(stuck)
        catalog = cli_json(seeded, "processes")
        assert counts["process_findings"] == len(catalog["findings"]) == 3
        assert review["capacity"]["rules"]["load_basis"] == figures.BASIS_AVAILABLE
        for p in review["capacity"]["people"]:
            assert p["utilisation"] == util[p["handle"]], p["handle"]
        md = subprocess.run(
            [sys.executable, "-m", "opstui", "--db", str(seeded), "--now", NOW.isoformat()]
            + ["review", "--markdown"],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=60,
            cwd=ROOT,
        ).stdout
        assert f"| Unowned items | {len(unowned)} |" in md
        assert f"| Stuck items | {len(stuck)} |" in md
        assert f"| Process findings | {counts['process_findings']} |" in md
        assert "Load % of available hours" in md

        # the dashboard a user sees: header, Queues, Owners, SLA and Capacity panes
        app = make(db)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot, app)
            header = str(app.query_one("StatusBar").render())
            assert f"{len(keys['breached'])} breached" in header
            assert f"{len(unowned)} unowned" in header
            qpane = app.query_one("#queues")
            assert sum(s.breaching for s in qpane.stats) == len(keys["breached"])
            opane = app.query_one("#owners")
            assert "load % of available hours" in str(opane.border_title)
            for i, o in enumerate(opane.stats):
                cells = opane.row_cells(i)
                if o.id is not None:
                    assert str(cells[2][0]).strip("·") == (str(o.breached) if o.breached else "")
                    assert str(cells[3][0]).strip("·") == (str(o.drifting) if o.drifting else "")
                    assert str(cells[5][0]) == f"{util[o.handle] * 100:.0f}%"
            spane = app.query_one("#sla")
            shown = Counter(spane.state_of(r) for r in spane.items)
            assert {s: shown[s] for s in keys} == {s: len(v) for s, v in keys.items()}
            assert len(spane.items) == len(sla_rows)
            cpane = app.query_one("#capacity")
            assert re.search(rf"busiest {top} holds {share * 100:.0f}%", cpane.border_subtitle)
            assert "Load of avail hrs" in [c.label for c in cpane.COLUMNS]

            # the review screen: its agenda and its Load tab say the same numbers
            await pilot.press("w")
            await settle(pilot, app)
            agenda = app.screen.query_one("#t-agenda", DataTable)
            shown_counts = {
                str(agenda.coordinate_to_cell_key((r, 0)).row_key.value): int(
                    agenda.get_cell_at((r, 1)).plain
                )
                for r in range(agenda.row_count)
            }
            assert shown_counts["unowned"] == len(unowned)
            assert shown_counts["stuck"] == len(stuck)
            assert shown_counts["procs"] == counts["process_findings"]
            assert shown_counts["breaches"] == counts["breaches"]
            load = app.screen.query_one("#t-load", DataTable)
            for r in range(load.row_count):
                handle = load.get_cell_at((r, 0)).plain
                if util.get(handle) is not None:
                    assert load.get_cell_at((r, 4)).plain == f"{util[handle]:.0%}", handle
    finally:
        db.dispose()


def test_opstui_sla_counts_late_answers_and_due_dates_as_the_panes_do(tmp_path: Path) -> None:
    path = tmp_path / "late.db"
    clock = Clock.frozen(T0)
    db = open_database(path, clock=clock, unix_user="tester")
    people.add_queue(db, slug="support", prefix="SUP")
    people.add_queue(db, slug="infra", prefix="INF")
    load_data(db, RULES, source="rules.toml")
    late = items.create_item(db, queue="support", title="answered late", requester="cust")
    due = items.create_item(db, queue="infra", title="explicit due date")
    items.edit_item(db, due.key, due=T0 + timedelta(hours=1))
    clock.advance(timedelta(hours=2))
    items.comment(db, late.key, "sorry for the wait")  # 1h late; resolution due at T0+4h
    with db.read() as conn:
        every = {i.key: figures.item_sla_state(i, clock.now()) for i in q.list_items(conn)}
    db.dispose()
    assert every == {late.key: "ok", due.key: "breached"}
    out = subprocess.run(
        [sys.executable, "-m", "opstui", "--db", str(path), "--now", clock.now().isoformat()]
        + ["sla", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
        cwd=ROOT,
    )
    assert {r["key"] for r in json.loads(out.stdout)["breached"]} == {due.key}
