"""The CLI's light read path (store.lite): the same answers as the Core queries, no heavy
imports, and the full store for anything it does not handle (issue 17)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opstui.store import lite
from opstui.store import queries as q
from opstui.store.engine import Database
from tests.conftest import ANCHOR, ROOT, run_cli

HEAVY = (
    "sqlalchemy",
    "sqlmodel",
    "pydantic",
    "textual",
    "rich",
    "watchfiles",
    "holidays",
    "croniter",
    "dateutil",
    "plotext",
    "textual_plotext",
)

FILTERS = [
    q.ItemFilter(),
    q.ItemFilter(open_only=True),
    q.ItemFilter(queue="support"),
    q.ItemFilter(owner="-", open_only=True),
    q.ItemFilter(owner="alice"),
    q.ItemFilter(status="in_progress", priority=2),
    q.ItemFilter(kind="incident"),
    q.ItemFilter(text="VPN"),
    q.ItemFilter(text="sup-1"),
    q.ItemFilter(text="100%_\\"),
]
#: Filters on a figure: one SQL definition (store.figures_sql), so the full store answers.
FIGURE_FILTERS = [
    *(q.ItemFilter(sla_state=s) for s in ("ok", "warning", "breached", "paused")),
    q.ItemFilter(drifting=True, open_only=True),
]


def _lite(path: Path) -> lite.LiteReader:
    conn = lite.open_lite(path)
    assert conn is not None, "a current-version sample file takes the light path"
    conn.execute("BEGIN")
    return lite.LiteReader(conn)


def test_light_reads_equal_the_core_queries(sample_db: Database) -> None:
    light = _lite(sample_db.path)
    with sample_db.read() as conn:
        core = lite.CoreReader(conn)
        for now in (ANCHOR, ANCHOR + timedelta(hours=7)):
            for flt in FILTERS:
                for limit in (None, 5):
                    want = core.list_items(flt, limit=limit, now=now)
                    assert light.list_items(flt, limit=limit, now=now) == want, flt
            for flt in FIGURE_FILTERS:
                with pytest.raises(lite.Unsupported):
                    light.list_items(flt, limit=None, now=now)
        keys = [i.key for i in core.list_items(q.ItemFilter(), limit=None, now=ANCHOR)]
        assert len(keys) > 100
        for key in [*keys[::7], "nope-1", f" {keys[0].lower()} "]:
            got = light.get_item(key)
            assert got == core.get_item(key)
            if got is None:
                continue
            assert got.data == core.get_item(key).data  # type: ignore[union-attr]
            assert light.item_comments(got.id) == core.item_comments(got.id)
            assert light.recent_events(500, got.id) == core.recent_events(500, got.id)
            assert light.recent_events(2, got.id) == core.recent_events(2, got.id)
            assert light.next_states_for_item(got.key) == core.next_states_for_item(got.key)
    light.conn.close()


def test_ls_and_help_import_nothing_heavy(sample_db_file: Path) -> None:
    probe = (
        "import runpy, sys, io, contextlib\n"
        "sys.argv = ['opstui'] + sys.argv[1:]\n"
        "out = io.StringIO()\n"
        "try:\n"
        "    with contextlib.redirect_stdout(out):\n"
        "        runpy.run_module('opstui', run_name='__main__')\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "assert out.getvalue().strip()\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "sys.stderr.write(','.join(heavy))\n"
    )
    for args in (
        ["--help"],
        ["--db", str(sample_db_file), "--now", ANCHOR.isoformat(), "sla"],
        ["--db", str(sample_db_file), "--read-only", "sla", "--json"],
        ["--db", str(sample_db_file), "ls"],
        ["--db", str(sample_db_file), "ls", "--open", "--json"],
        ["--db", str(sample_db_file), "show", "SUP-1"],
    ):
        r = subprocess.run(
            [sys.executable, "-c", probe, *args], capture_output=True, text=True, cwd=ROOT
        )
        assert r.returncode == 0, r.stderr[-800:]
        assert r.stderr == "", f"opstui {' '.join(args)} imported {r.stderr[:300]}"


def test_files_the_light_path_does_not_handle_go_through_the_full_store(
    sample_db_file: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.db"
    r = run_cli("ls", db=missing)
    assert r.returncode == 1 and "no database at" in r.stderr and "Traceback" not in r.stderr
    assert not missing.exists()

    foreign = tmp_path / "other.db"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.commit()
    r = run_cli("show", "SUP-1", db=foreign)
    assert r.returncode == 1 and "not an opstui database" in r.stderr

    # an older schema version: the full store upgrades it (with a backup), then answers
    old = tmp_path / "old.db"
    src, dst = sqlite3.connect(sample_db_file), sqlite3.connect(old)
    src.backup(dst)
    src.close()
    dst.execute(f"PRAGMA user_version = {lite.SCHEMA_VERSION - 1}")
    dst.commit()
    dst.close()
    assert lite.open_lite(old) is None
    r = run_cli("ls", "--open", db=old)
    assert r.returncode == 0, r.stderr
    assert "SUP-" in r.stdout
    assert lite.open_lite(old) is not None  # upgraded to the current version


def test_figure_filters_are_answered_by_the_full_store(sample_db_file: Path) -> None:
    light = run_cli("ls", "--open", "--json", db=sample_db_file)
    breached = run_cli("ls", "--sla", "breached", "--json", db=sample_db_file)
    assert light.returncode == 0 and breached.returncode == 0, breached.stderr
    assert breached.stdout.strip().startswith("[")


def test_show_missing_item_is_one_line(sample_db_file: Path) -> None:
    r = run_cli("show", "SUP-99999", db=sample_db_file)
    assert r.returncode == 1
    assert r.stderr.strip() == "opstui: no item 'SUP-99999'"


def test_light_sla_reads_equal_the_full_store(sample_db: Database) -> None:
    """``opstui sla`` on the light path: the same items, rule rows, rules, rows and
    "crossing due" answer as services.sla (views, rules, crossings) on the Core path."""
    from opstui.services.sla import crossings, parse, views
    from opstui.services.sla import rules as sla_rules
    from opstui.services.sla.listing import target_rows
    from opstui.store.sla_sql import CALENDAR_SQL, POLICY_SQL

    light = _lite(sample_db.path)
    with sample_db.read() as conn:
        items = views.open_target_items(conn)
        assert len(items) >= 10
        assert light.sla_items() == items
        pol, cal = light.sla_rule_rows()
        assert (pol, cal) == (
            tuple(q.raw_rows(conn, POLICY_SQL)),
            tuple(q.raw_rows(conn, CALENDAR_SQL)),
        )
        assert pol and cal
        assert parse.rules_from_rows(pol, cal) == sla_rules.load_rules(conn)
        due = [
            datetime.fromisoformat(r[0]).replace(tzinfo=UTC)
            for r in conn.exec_driver_sql(
                "SELECT sla_check_at FROM item WHERE sla_check_at IS NOT NULL ORDER BY 1"
            )
        ]
        assert due
        probes = [due[0] - timedelta(seconds=1), due[0], due[0] + timedelta(microseconds=1)]
        probes += [ANCHOR - timedelta(days=30), ANCHOR, ANCHOR + timedelta(days=30)]
        answers = set()
        for now in probes:
            want = crossings.pending_crossings(conn, now)
            assert light.crossing_due(now) == want, now
            answers.add(want)
            assert [r.as_json() for r in views.open_targets(conn, now)] == [
                r.as_json() for r in target_rows(light.sla_items(), now)
            ]
        assert answers == {True, False}
    light.conn.close()


def test_sla_light_and_full_paths_print_the_same(sample_db_file: Path, tmp_path: Path) -> None:
    """The light path answers when nothing is due for recording; with a crossing due the
    full store records it (a write) and both then list the same targets."""
    import json

    path = tmp_path / "sla.db"
    src, dst = sqlite3.connect(sample_db_file), sqlite3.connect(path)
    src.backup(dst)
    src.close()
    dst.close()
    later = (ANCHOR + timedelta(days=2)).isoformat()
    read_only = run_cli("--now", later, "sla", "--json", db=path)  # --now: records nothing
    assert read_only.returncode == 0, read_only.stderr
    recorded = run_cli("--now", later, "sla", "--record", "--json", db=path)  # full store
    assert recorded.returncode == 0, recorded.stderr
    first = json.loads(recorded.stdout)
    assert first["recorded"], "the sample data has crossings due two days on"
    again = json.loads(run_cli("--now", later, "sla", "--record", "--json", db=path).stdout)
    assert again["recorded"] == []  # nothing due now: the light path answered
    for part in ("breached", "warning", "upcoming"):
        assert again[part] == first[part] == json.loads(read_only.stdout)[part]
