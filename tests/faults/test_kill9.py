"""kill -9 of writer processes at random points: the file stays sound, every change is
all-or-nothing (an item's version agrees with its events, comments with theirs, queue
counters with the items made).  The same on a PostgreSQL store."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import ROOT, cli_env, make_db

TRIALS = 200
#: Fewer on PostgreSQL: the server, not a file, is under test there; the checks are the same.
TRIALS_PG = 40


class _Pg:
    """sqlite3's execute() shape over psycopg (``?`` placeholders)."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)

    def execute(self, sql: str, params: tuple[object, ...] = ()) -> object:
        return self.conn.execute(sql.replace("?", "%s"), params)

    def close(self) -> None:
        self.conn.close()


def check_all_or_nothing(path: Path | str) -> dict[str, int]:
    con: object = _Pg(path) if isinstance(path, str) else sqlite3.connect(path)
    try:
        if not isinstance(con, _Pg):
            assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        items = con.execute(
            "SELECT item.id, item.key, item.version, item.status, item.title, item.priority, "
            "person.handle, item.queue_id FROM item LEFT JOIN person ON person.id = item.owner_id"
        ).fetchall()
        events: dict[int, list[tuple[int, str, str | None, str | None, int]]] = defaultdict(list)
        for row in con.execute(
            "SELECT item_id, field, old, new, item_version FROM event "
            "WHERE entity = 'item' AND item_id IS NOT NULL ORDER BY id"
        ):
            events[row[0]].append(row)
        comments = dict(
            con.execute("SELECT item_id, count(*) FROM comment GROUP BY item_id").fetchall()
        )
        for item_id, key, version, status, title, priority, owner, _queue in items:
            evs = events[item_id]
            created = [e for e in evs if e[1] == "created"]
            assert len(created) == 1 and created[0][3] == key, (key, created)
            bumps = {e[4] for e in evs if e[1] not in ("comment", "created", "first_response")}
            # versions 2..version each come from exactly one committed change
            assert bumps | {1} == set(range(1, version + 1)), (key, version, sorted(bumps))
            per_version: dict[int, set[str]] = defaultdict(set)
            for e in evs:
                per_version[e[4]].add(e[1])
            for v, fields in per_version.items():
                if "title" in fields or "priority" in fields:  # the two-field edit
                    assert {"title", "priority"} <= fields or v == 1, (key, v, fields)
            assert comments.get(item_id, 0) == sum(1 for e in evs if e[1] == "comment"), key
            last = {}
            for e in evs:
                if e[1] in ("status", "title", "owner", "priority"):
                    last[e[1]] = e[3]
            if "status" in last:
                assert status == last["status"], (key, status, last)
            if "title" in last:
                assert title == last["title"], (key, title, last)
            if "priority" in last:
                assert f"P{priority}" == last["priority"], (key, priority, last)
            if "owner" in last:
                assert owner == last["owner"], (key, owner, last)
        for qid, prefix, nxt in con.execute("SELECT id, prefix, next_number FROM queue"):
            numbers = sorted(
                int(k.split("-")[1])
                for (k,) in con.execute("SELECT key FROM item WHERE queue_id = ?", (qid,))
            )
            assert numbers == list(range(1, nxt)), (prefix, nxt, numbers[-5:])
        n_events = con.execute("SELECT count(*) FROM event").fetchone()[0]
        return {"items": len(items), "events": n_events}
    finally:
        con.close()


@pytest.mark.slow
def test_kill_minus_nine_200_trials(tmp_path: Path) -> None:
    _kill_trials(make_db(tmp_path / "kill.db", n_items=10), TRIALS, tmp_path, 0.15)


@pytest.mark.slow
def test_kill_minus_nine_on_postgresql(tmp_path: Path, new_pg_db: Callable[..., str]) -> None:
    _kill_trials(make_db(new_pg_db(), n_items=10), TRIALS_PG, tmp_path, 0.6)


def _kill_trials(db: Path | str, trials: int, tmp_path: Path, max_delay: float) -> None:
    before = check_all_or_nothing(db)
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests" / "faults" / "_killer.py"),
            str(db),
            str(trials),
            "4",
            "7",
            str(max_delay),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=cli_env(tmp_path),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "child" not in proc.stderr, proc.stderr  # no child hit an unexpected error
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    print(summary)
    assert summary["trials"] == trials
    assert summary["killed"] >= trials * 0.9, summary  # they were running when killed
    after = check_all_or_nothing(db)
    # the writers did real work between the kills, and every commit they were told about
    # is there (each acknowledged commit wrote at least one event)
    assert summary["acknowledged_commits"] >= trials // 10, summary
    assert after["events"] - before["events"] >= summary["acknowledged_commits"], (
        before,
        after,
        summary,
    )
    # and the file is still usable by a fresh process
    from opstui.services import items as svc
    from opstui.store.schema import open_database

    store = open_database(db, create=False)
    made = svc.create_item(store, queue="ops", title="after the storm")
    store.dispose()
    assert made.version == 1
    check_all_or_nothing(db)


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE item SET version = version + 1 WHERE id = 1",  # a change without its event
        "DELETE FROM event WHERE id = (SELECT max(id) FROM event WHERE field = 'status')",
        "INSERT INTO comment (item_id, unix_user, body, created_at) VALUES (1, 'x', 'y', '2026-01-01 00:00:00')",
        "UPDATE queue SET next_number = next_number + 1",  # a create that lost its item
    ],
)
def test_checker_sees_a_partial_change(tmp_path: Path, damage: str) -> None:
    """The all-or-nothing check above is able to fail."""
    db = make_db(tmp_path / "partial.db")
    check_all_or_nothing(db)
    con = sqlite3.connect(db)
    con.execute(damage)
    con.commit()
    con.close()
    with pytest.raises(AssertionError):
        check_all_or_nothing(db)
