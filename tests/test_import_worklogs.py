"""Jira's Time Spent and Log Work columns imported as worklogs: logged time per item equals
what the CSV says, re-import adds nothing, a newer export adds only its new entries."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import run_cli
from sqlalchemy import func, select

from opstui.domain import models
from opstui.domain.clock import Clock
from opstui.importers import jira
from opstui.importers.mapping import Mapping, mapping_from_data
from opstui.importers.model import ImportError_
from opstui.services.importing import run_import
from opstui.store import queries as q
from opstui.store import worklog as wq
from opstui.store.schema import open_database

DATA = Path(__file__).parent / "data"
FIRST = DATA / "jira_worklogs.csv"
LATER = DATA / "jira_worklogs_later.csv"
NOW = datetime(2025, 7, 21, 9, 0, tzinfo=UTC)
WORKLOG = models.WorkLog.__table__
EVENT = models.Event.__table__


def _db(path: Path) -> object:
    return open_database(path, clock=Clock.frozen(NOW), unix_user="importer")


def _import(db: object, path: Path, mapping: Mapping | None = None, **kw: object) -> object:
    m = mapping or Mapping(tz="Europe/Berlin")
    return run_import(
        db,  # type: ignore[arg-type]
        jira.parse(path, m),
        m,
        default_states=jira.DEFAULT_STATES,
        default_priorities=jira.DEFAULT_PRIORITIES,
        **kw,  # type: ignore[arg-type]
    )


def _from_csv(path: Path) -> dict[str, tuple[int, int]]:
    """Straight from the file: issue key -> (Log Work seconds, Time Spent seconds)."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    head = rows[0]
    logs = [i for i, h in enumerate(head) if h == "Log Work"]
    out = {}
    for r in rows[1:]:
        cells = [r[i] for i in logs if r[i]]
        spent = r[head.index("Time Spent")]
        out[r[head.index("Issue key")]] = (
            sum(int(c.split(";")[-1]) for c in cells),
            int(spent) if spent else 0,
        )
    return out


def _logged(db: object) -> dict[str, int]:
    with db.read() as conn:  # type: ignore[attr-defined]
        out = {}
        for key in _from_csv(FIRST):
            item = q.get_item(conn, key)
            assert item is not None
            out[key] = wq.logged_seconds(conn, item.id)
        return out


def _count(db: object, table: object) -> int:
    with db.read() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.mark.both_engines
def test_logged_time_per_item_equals_the_csv_and_reimport_adds_nothing(db: object) -> None:
    dry = _import(db, FIRST, dry_run=True)
    assert dry.worklogs == 7 and _count(db, WORKLOG) == 0  # 5 cells + 2 rests, nothing written
    first = _import(db, FIRST)
    assert (first.created, first.worklogs) == (4, 7)
    expected = {k: max(logs, spent) for k, (logs, spent) in _from_csv(FIRST).items()}
    assert _logged(db) == expected
    with db.read() as conn:
        web1 = q.get_item(conn, "WEB-1")
        assert web1 is not None and web1.estimate_hours == 4.0
        rows = {(r.person, r.seconds, r.note) for r in wq.worklogs_for(conn, web1.id)}
        # a comment holding a semicolon stays whole; the uncovered 30m goes to the assignee
        assert ("bo-chen", 5400, "Fix; plus tests for the retry") in rows
        assert ("ana-lima", 3600, "Reproduced the hang") in rows
        rest = [r for r in wq.worklogs_for(conn, web1.id) if r.seconds == 1800]
        assert rest[0].person == "ana-lima" and "Time Spent total (3h00m)" in rest[0].note
        # 15/Jul/25 5:10 PM Berlin (Resolved) = 15:10 UTC
        assert rest[0].at == datetime(2025, 7, 15, 15, 10, tzinfo=UTC)
        web4 = q.get_item(conn, "WEB-4")
        assert web4 is not None and web4.estimate_hours is None
        # two equal entries on one issue are two worklogs
        assert [r.seconds for r in wq.worklogs_for(conn, web4.id)] == [900, 900]
        logged_events = conn.execute(
            select(func.count()).select_from(EVENT).where(EVENT.c.field == "logged")
        ).scalar_one()
        assert logged_events == 7
    events = _count(db, EVENT)
    again = _import(db, FIRST)
    assert (again.created, again.updated, again.worklogs) == (0, 0, 0)
    assert _count(db, WORKLOG) == 7 and _count(db, EVENT) == events
    assert _logged(db) == expected


@pytest.mark.both_engines
def test_a_newer_export_adds_only_its_new_worklogs(db: object) -> None:
    _import(db, FIRST)
    with db.read() as conn:
        before = {r.source for r in conn.execute(select(WORKLOG.c.source))}
    dry = _import(db, LATER, dry_run=True)
    assert dry.worklogs == 2 and any(line.startswith("time WEB-3:") for line in dry.lines)
    later = _import(db, LATER)
    assert later.worklogs == 2
    with db.read() as conn:
        after = {r.source for r in conn.execute(select(WORKLOG.c.source))}
        web4 = q.get_item(conn, "WEB-4")
        assert web4 is not None and web4.estimate_hours == 1.0  # Original Estimate, now given
    assert sorted(s.split(":")[1] for s in after - before) == ["WEB-2", "WEB-3"]
    assert before <= after
    expected = {k: max(logs, spent) for k, (logs, spent) in _from_csv(LATER).items()}
    assert _logged(db) == expected
    assert _import(db, LATER).worklogs == 0 and _logged(db) == expected


def test_an_unmapped_worklog_author_is_reported_and_nothing_imported(tmp_path: Path) -> None:
    db = _db(tmp_path / "w.db")
    m = mapping_from_data(
        {"import": {"tz": "Europe/Berlin"}, "people": {"Ana Lima": "ana", "Bo Chen": "bo"}},
        "map.toml",
    )
    with pytest.raises(ImportError_) as err:
        _import(db, FIRST, mapping=m)
    assert any("'Kai Berg'" in str(p) and "[people]" in str(p) for p in err.value.problems)
    assert _count(db, WORKLOG) == 0


def test_a_bad_log_work_cell_names_file_line_and_reason(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        FIRST.read_text(encoding="utf-8").replace("Bo Chen;7200", "Bo Chen;2h"), encoding="utf-8"
    )
    db = _db(tmp_path / "w.db")
    with pytest.raises(ImportError_) as err:
        _import(db, bad)
    assert any(
        str(p).startswith("bad.csv:3: WEB-2: Log Work time spent '2h'") for p in err.value.problems
    )


def test_show_and_forecast_give_logged_and_remaining_of_imported_items(tmp_path: Path) -> None:
    path = tmp_path / "cli.db"
    assert run_cli("init", db=path).returncode == 0
    out = run_cli("import", "jira", str(FIRST), "--tz", "Europe/Berlin", db=path)
    assert out.returncode == 0, out.stderr
    assert "logged 7 worklogs (6.50 h)" in out.stdout
    shown = run_cli("show", "WEB-2", db=path)
    assert "logged 2h00m   remaining 6h00m" in shown.stdout, shown.stdout
    data = json.loads(run_cli("show", "WEB-2", "--json", db=path).stdout)
    assert (data["logged_hours"], data["remaining_hours"]) == (2.0, 6.0)
    fc = json.loads(run_cli("forecast", "--json", db=path).stdout)
    web2 = next(r for r in fc["items"] if r["title"] == "Search ignores accents")
    assert web2["logged_hours"] == 2.0 and web2["remaining_hours"] == 6.0


def test_the_service_path_writes_the_same_worklogs(tmp_path: Path) -> None:
    bulk, services = _db(tmp_path / "b.db"), _db(tmp_path / "s.db")
    _import(bulk, FIRST)
    _import(services, FIRST, bulk=False)
    assert _logged(bulk) == _logged(services)

    def rows(db: object) -> set[tuple[object, ...]]:
        with db.read() as conn:  # type: ignore[attr-defined]
            return {
                (r.source, r.seconds, r.person_id, r.at, r.note)
                for r in conn.execute(select(WORKLOG))
            }

    assert rows(bulk) == rows(services)
