"""store.prepared: the bounded re-read of a delta, compiled once and run on the DBAPI
cursor on SQLite, answers exactly what the SQLAlchemy statement answers (issue 17)."""

from __future__ import annotations

import pytest

from opstui.store import panes
from opstui.store import queries as q
from opstui.store.engine import Database


def _by_id(items: list[panes.OpenItem]) -> list[panes.OpenItem]:
    return sorted(items, key=lambda it: it.id)


@pytest.mark.both_engines
def test_bounded_re_read_equals_the_full_read(sample_db: Database) -> None:
    with sample_db.read() as conn:
        every = _by_id(panes.open_items(conn))
        assert len(every) > 20
        closed = [
            i.id for i in q.list_items(conn, q.ItemFilter(), limit=None) if i.category == "done"
        ]
        assert closed, "the sample data has done items"
        ids = [it.id for it in every]
        # open ones come back, done and missing ids do not; duplicates once
        asked = [*ids, *ids[:3], *closed[:5], 10**9]
        assert _by_id(panes.open_items(conn, asked)) == every
        for one in (ids[0], ids[-1]):
            assert panes.open_items(conn, [one]) == [next(it for it in every if it.id == one)]
        assert panes.open_items(conn, closed[:3]) == []
        assert panes.open_items(conn, []) == []
        generic = panes._OPEN_BY_ID._generic_stmt()
        rows = sorted((tuple(r) for r in conn.execute(generic, {"ids": ids})), key=lambda r: r[4])
        assert sorted(panes._OPEN_BY_ID.rows(conn, ids), key=lambda r: r[4]) == rows


def test_sqlite_takes_the_prepared_path(sample_db: Database) -> None:
    with sample_db.read() as conn:
        ids = [it.id for it in panes.open_items(conn)][:4]
        got = panes._OPEN_BY_ID._sqlite_rows(conn, sorted(ids))  # raises if it cannot
        assert sorted(r[4] for r in got) == sorted(ids)


@pytest.mark.both_engines
def test_events_after_records(sample_db: Database) -> None:
    with sample_db.read() as conn:
        last = q.last_event_id(conn)
        tail = q.events_after(conn, last - 5)
        assert [e.id for e in tail] == list(range(last - 4, last + 1))
        assert q.events_after(conn, last - 5, 2) == tail[:2]
        assert tail == sorted(q.recent_events(conn, 5), key=lambda e: e.id)
