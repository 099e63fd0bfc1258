"""The backtest and the drift check read each table once, however many cases or items:
statements are counted on the engine (issue: drift; known slowness)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from opstui.domain import models
from opstui.services import forecast as fsvc
from opstui.services.drift import record_drift
from opstui.services.worklog import log_time

ITEM = models.Item.__table__


@contextmanager
def statements(db) -> Iterator[list[str]]:
    seen: list[str] = []

    def hook(conn, cursor, statement, params, context, executemany) -> None:  # noqa: ANN001
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", hook)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", hook)


def _log_some_time(db) -> None:
    now = db.clock.now()
    with db.read() as conn:
        rows = conn.execute(
            select(ITEM.c.key, ITEM.c.created_at)
            .where(ITEM.c.created_at > now - timedelta(weeks=6))
            .order_by(ITEM.c.id)
        ).all()
    for n, (key, created) in enumerate(rows[::5]):
        log_time(db, key, 1800 + 600 * (n % 4), at=created + (now - created) / 2, by="dev")


@pytest.mark.both_engines
def test_backtest_reads_do_not_grow_with_its_cases(sample_db) -> None:
    _log_some_time(sample_db)
    with statements(sample_db) as few:
        short = fsvc.backtest(sample_db, 1)
    with statements(sample_db) as many:
        long = fsvc.backtest(sample_db, 6)
    assert len(long.cases) > len(short.cases) > 0
    assert len(many) == len(few)
    assert sum("FROM worklog" in s for s in many) == 1


@pytest.mark.both_engines
def test_the_drift_check_reads_the_open_items_once(sample_db) -> None:
    with statements(sample_db) as seen:
        assert record_drift(sample_db) == 1
    open_reads = [s for s in seen if "GROUP BY worklog.item_id" in s]  # wq.open_work
    assert len(open_reads) == 1, open_reads
