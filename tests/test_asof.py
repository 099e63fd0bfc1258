"""The board as of a past moment, rebuilt from the event log (issue 15, "the past on demand").

Every check compares the rewound board with what is computed without it: the source rows
up to the moment (a ServiceNow log cut there and imported into an empty database with the
clock at the moment), or the event log replayed in Python.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import run_cli
from sqlalchemy import func, select
from test_import import _csv_open_per_group, _cut_file, _sn

from benchmarks.servicenow_log import generate
from opstui.domain import models
from opstui.domain.clock import Clock
from opstui.errors import ReadOnlyError
from opstui.services import asof
from opstui.services.items import assign
from opstui.services.review import to_markdown, weekly_review
from opstui.store import asof as store_asof
from opstui.store import panes
from opstui.store.engine import Database
from opstui.store.past import changed_after
from opstui.store.schema import open_database

ITEM = models.Item.__table__
EVENT = models.Event.__table__
QUEUE = models.Queue.__table__
PERSON = models.Person.__table__
NOW = datetime(2026, 12, 4, 16, 45, tzinfo=UTC)
ZONE = ZoneInfo("Europe/Amsterdam")


def _items(db: Database) -> dict[str, tuple[object, ...]]:
    """external key -> (queue, status, category, owner, priority) of every item."""
    with db.read() as conn:
        rows = conn.execute(
            select(
                ITEM.c.external_key,
                QUEUE.c.slug,
                ITEM.c.status,
                ITEM.c.category,
                PERSON.c.handle,
                ITEM.c.priority,
            )
            .select_from(
                ITEM.join(QUEUE, QUEUE.c.id == ITEM.c.queue_id).outerjoin(
                    PERSON, PERSON.c.id == ITEM.c.owner_id
                )
            )
            .order_by(ITEM.c.external_key)
        )
        return {r[0]: tuple(r[1:]) for r in rows}


POLICY = {
    "sla_policies": [
        {"name": "all", "calendar": "24x7", "first_response": "1h", "resolution": "1d"}
    ]
}


def _with_policy(path: Path, at: datetime) -> Database:
    from opstui.services.loading import load_data

    db = open_database(path, clock=Clock.frozen(at), unix_user="importer")
    load_data(db, POLICY)
    return db


def _queue_figures(db: Database, at: datetime) -> dict[str, tuple[int, int, int, int]]:
    """The Queues pane's figures (open, unowned, breached, warning) per queue, at ``at``."""
    with db.read() as conn:
        return {
            s.name: (s.open, s.unowned, s.breaching, s.warning)
            for s in panes.queue_stats(conn, at)
            if s.open
        }


@pytest.fixture(scope="module")
def servicenow(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A generated ServiceNow log imported whole, and the same log cut at CUT."""
    folder = tmp_path_factory.mktemp("sn")
    log = folder / "log.csv"
    generate(log, 160, groups=7, resolvers=12, seed=11, days=10)
    db = _with_policy(folder / "full.db", NOW)
    _sn(db, log)
    db.dispose()
    return log, folder / "full.db"


CUTS = [datetime(2016, 3, 3, 9, 30, tzinfo=ZONE), datetime(2016, 3, 6, 17, 0, tzinfo=ZONE)]


@pytest.mark.parametrize("cut", CUTS, ids=["early", "late"])
def test_board_as_of_matches_the_source_rows_up_to_then(
    servicenow: tuple[Path, Path], tmp_path: Path, cut: datetime
) -> None:
    log, full_path = servicenow
    # what the source says at the cut: its rows up to then, imported with the clock there
    part = tmp_path / "cut.csv"
    _cut_file(log, part, cut, ZONE)
    then = _with_policy(tmp_path / "cut.db", cut)
    _sn(then, part)
    full = open_database(full_path, create=False, clock=Clock.frozen(NOW), readonly=True)
    view = asof.open_as_of(full, cut)
    try:
        assert view.db.readonly and view.db.clock.now() == cut
        rewound, expected = _items(view.db), _items(then)
        assert rewound == expected  # every item: queue, state, category, owner, priority
        assert len(rewound) < len(_items(full))  # items created later are absent
        # the Queues pane's figures as of then: open per queue straight from the rows,
        # and open / unowned / breached / warning equal to the board built from them
        figures = _queue_figures(view.db, cut)
        group_names = {name: n for name, (n, *_rest) in figures.items()}
        assert group_names == _csv_open_per_group(log, cut, ZONE)
        assert figures == _queue_figures(then, cut)
        assert sum(b for *_x, b, _w in figures.values()) > 0  # breaches do occur here
        with view.db.read() as conn:
            last = conn.execute(select(func.max(EVENT.c.ts))).scalar()
        assert last is not None and last <= cut
        # the query alone (no copy) says the same for states, owners and queues
        with full.read() as conn:
            board = {
                r.key: (r.queue, r.status, r.owner, r.priority)
                for r in store_asof.board_at(conn, cut)
            }
        with view.db.read() as conn:
            keys = dict(conn.execute(select(ITEM.c.key, ITEM.c.external_key)).all())
        assert {keys[k]: v for k, v in board.items()} == {
            k: (q, s, o, p) for k, (q, s, _c, o, p) in rewound.items()
        }
    finally:
        view.close()
        full.dispose()
        then.dispose()
    assert not view.folder.exists()


def _replay(conn: object, at: datetime) -> dict[str, tuple[str, str | None, str]]:
    """key -> (queue, status, owner) from the events in Python: the last value at or
    before ``at``, else the first change's old value after it, else today's value."""
    rows = conn.execute(  # type: ignore[attr-defined]
        select(
            ITEM.c.id, ITEM.c.key, ITEM.c.created_at, QUEUE.c.slug, ITEM.c.status, PERSON.c.handle
        ).select_from(
            ITEM.join(QUEUE, QUEUE.c.id == ITEM.c.queue_id).outerjoin(
                PERSON, PERSON.c.id == ITEM.c.owner_id
            )
        )
    ).all()
    before: dict[tuple[int, str], str | None] = {}
    after: dict[tuple[int, str], str | None] = {}
    for item_id, field, old, new, ts in conn.execute(  # type: ignore[attr-defined]
        select(EVENT.c.item_id, EVENT.c.field, EVENT.c.old, EVENT.c.new, EVENT.c.ts)
        .where(EVENT.c.field.in_(("queue", "status", "owner")))
        .order_by(EVENT.c.id)
    ):
        if ts <= at:
            before[(item_id, field)] = new
        else:
            after.setdefault((item_id, field), old)
    out = {}
    for item_id, key, created, slug, status, owner in rows:
        if created > at:
            continue
        now = {"queue": slug, "status": status, "owner": owner}
        out[key] = tuple(
            before[(item_id, f)]
            if (item_id, f) in before
            else after.get((item_id, f), now[f])
            if (item_id, f) in after
            else now[f]
            for f in ("queue", "status", "owner")
        )
    return out  # type: ignore[return-value]


@pytest.mark.both_engines
def test_board_at_equals_the_events_replayed(sample_db: Database) -> None:
    for at in (
        datetime(2026, 11, 2, 10, tzinfo=UTC),
        datetime(2026, 11, 20, 15, 30, tzinfo=UTC),
        datetime(2026, 12, 3, 8, tzinfo=UTC),
    ):
        with sample_db.read() as conn:
            board = {r.key: (r.queue, r.status, r.owner) for r in store_asof.board_at(conn, at)}
            expected = _replay(conn, at)
            now = {r.key: (r.queue, r.status, r.owner) for r in store_asof.board_at(conn, NOW)}
        assert board == expected
        assert board != {k: now[k] for k in board}  # the past differs from today


def _sample_copy(sample_db_file: Path, tmp_path: Path) -> Database:
    import shutil

    path = tmp_path / "sample.db"
    shutil.copy(sample_db_file, path)
    return open_database(path, create=False, clock=Clock.frozen(NOW), unix_user="tester")


def test_past_week_review_has_no_later_event(sample_db_file: Path, tmp_path: Path) -> None:
    db = _sample_copy(sample_db_file, tmp_path)
    week = "2026-11-09"
    end = datetime(2026, 11, 16, tzinfo=UTC)
    rv = weekly_review(db, week=week)
    assert rv.end <= end and rv.now < end
    misses = [*rv.breaches, *rv.near_misses]
    assert misses and all(m.met_at is None or m.met_at < end for m in misses)
    # an item resolved after the week is "not yet" met in it (it was met later today)
    with db.read() as conn:
        later = {
            k
            for (k,) in conn.execute(
                select(ITEM.c.key).where(ITEM.c.resolved_at >= end, ITEM.c.created_at < end)
            )
        }
    assert any(m.key in later and m.met_at is None for m in rv.breaches)
    text = to_markdown(rv)
    stamps = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d", text)
    assert stamps
    for stamp in stamps:
        assert datetime.fromisoformat(stamp).replace(tzinfo=UTC) < end, stamp
    # the present is untouched, and the review of the current week still sees it
    with db.read() as conn:
        assert conn.execute(select(func.max(EVENT.c.ts))).scalar() >= end
    db.dispose()


def test_past_board_refuses_writes(sample_db_file: Path, tmp_path: Path) -> None:
    db = _sample_copy(sample_db_file, tmp_path)
    at = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
    assert asof.is_past(db, at) and not asof.is_past(db, NOW)
    view = asof.open_as_of(db, at)
    with view.db.read() as conn:
        key = conn.execute(select(ITEM.c.key).order_by(ITEM.c.id)).scalar()
    with pytest.raises(ReadOnlyError, match="as of .*the past is read-only"):
        assign(view.db, key, None)
    view.close()
    db.dispose()


def test_cli_reads_answer_as_of_then_and_writes_are_refused(
    sample_db_file: Path, tmp_path: Path
) -> None:
    db = _sample_copy(sample_db_file, tmp_path)
    at = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
    with db.read() as conn:
        board = {r.key: (r.status, r.owner) for r in store_asof.board_at(conn, at)}
    db.dispose()
    path = tmp_path / "sample.db"
    out = run_cli("--now", at.isoformat(), "ls", "-n", "10000", "--json", db=path)
    assert "AS OF Fri 20 Nov" in out.stderr and "read-only" in out.stderr
    listed = {i["key"]: (i["status"], i["owner"]) for i in json.loads(out.stdout)}
    assert listed == board
    created_later = run_cli("--now", at.isoformat(), "show", "SUP-184", db=path)
    assert created_later.returncode == 1 and "SUP-184" in created_later.stderr
    refused = run_cli("--now", at.isoformat(), "assign", next(iter(board)), "--none", db=path)
    assert refused.returncode == 1
    assert refused.stderr.strip().endswith("the past is read-only, nothing was changed")
    assert len(refused.stderr.strip().splitlines()) == 2  # the marker, then the one line
    sla = run_cli("--now", at.isoformat(), "sla", "--json", db=path)
    assert sla.returncode == 0
    keys = set(re.findall(r'"key": "([A-Z]+-\d+)"', sla.stdout))
    assert keys and keys <= set(board)
    # the present: no marker, no rewind
    present = run_cli("--now", NOW.isoformat(), "ls", "--json", db=path)
    assert "AS OF" not in present.stderr


def test_a_change_at_the_very_moment_belongs_to_it(sample_db_file: Path, tmp_path: Path) -> None:
    db = _sample_copy(sample_db_file, tmp_path)
    with db.read() as conn:
        key, created = conn.execute(
            select(ITEM.c.key, ITEM.c.created_at)
            .where(ITEM.c.created_at < datetime(2026, 11, 25, tzinfo=UTC))
            .order_by(ITEM.c.created_at.desc())
        ).first()
    assert changed_after(tmp_path / "sample.db", created)
    view = asof.open_as_of(db, created)
    with view.db.read() as conn:
        keys = {k for (k,) in conn.execute(select(ITEM.c.key))}
        later = conn.execute(select(func.count()).where(ITEM.c.created_at > created)).scalar()
    assert key in keys and later == 0
    view.close()
    assert not changed_after(tmp_path / "sample.db", NOW)
    db.dispose()


@pytest.mark.both_engines
def test_past_board_and_past_week_on_either_engine(sample_db: Database) -> None:
    """A PostgreSQL store is copied to a file, then rewound: the same board as SQLite."""
    at = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
    with sample_db.read() as conn:
        expected = _replay(conn, at)
    view = asof.open_as_of(sample_db, at)
    try:
        with view.db.read() as conn:
            board = {r.key: (r.queue, r.status, r.owner) for r in store_asof.board_at(conn, at)}
        assert board == expected
        with pytest.raises(ReadOnlyError):
            assign(view.db, next(iter(board)), None)
    finally:
        view.close()
    assert not view.folder.exists()
    end = datetime(2026, 11, 16, tzinfo=UTC)
    rv = weekly_review(sample_db, week="2026-11-09")
    misses = [*rv.breaches, *rv.near_misses]
    assert misses and all(m.met_at is None or m.met_at < end for m in misses)
