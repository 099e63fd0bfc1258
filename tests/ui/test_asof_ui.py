"""The dashboard and the review as of a past moment: marked, read-only, that moment's board."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from ui_helpers import settle

from opstui.domain import models
from opstui.domain.clock import Clock
from opstui.services import asof
from opstui.store import asof as store_asof
from opstui.store.schema import open_database
from opstui.ui.screens.main import MainScreen
from opstui.ui.widgets.status import StatusBar

NOW = datetime(2026, 12, 4, 16, 45, tzinfo=UTC)
AT = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
EVENT = models.Event.__table__
STATE = models.WorkflowState.__table__
QUEUE = models.Queue.__table__


async def test_dashboard_as_of_is_marked_and_refuses_writes(
    sample_db_file: Path, tmp_path: Path, make
) -> None:
    path = tmp_path / "sample.db"
    shutil.copy(sample_db_file, path)
    source = open_database(path, create=False, clock=Clock.frozen(NOW), readonly=True)
    with source.read() as conn:
        board = store_asof.board_at(conn, AT)
        category = {
            (q, s): c
            for q, s, c in conn.execute(
                select(QUEUE.c.slug, STATE.c.name, STATE.c.category).join(
                    STATE, STATE.c.workflow_id == QUEUE.c.workflow_id
                )
            )
        }
        events_before = conn.execute(select(EVENT.c.id)).all()
    open_then = Counter(r.queue for r in board if category[(r.queue, r.status)] != "done")
    view = asof.open_as_of(source, AT)
    app = make(view.db, read_only_note=view.db.readonly_note)
    assert app.housekeeping is False  # no SLA crossings, process runs or drift written
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        bar = str(app.screen.query_one(StatusBar).render())
        assert "AS OF Fri 20 Nov" in bar and "read-only" in bar
        shown = {q.slug: q.open for q in app.pane_data.queues if q.open}
        assert shown == dict(open_then)
        for key in ("n", "a"):
            await pilot.press(key)
            await settle(pilot, app)
            assert isinstance(app.screen, MainScreen)
        refusals = [n.message for n in app._notifications if "the past is read-only" in n.message]
        assert refusals and all("\n" not in m for m in refusals)
    view.close()
    with source.read() as conn:
        assert conn.execute(select(EVENT.c.id)).all() == events_before
    source.dispose()


async def test_review_picks_a_past_week(sample_db_file: Path, tmp_path: Path, make) -> None:
    from opstui.ui.screens.review import ReviewScreen

    path = tmp_path / "sample.db"
    shutil.copy(sample_db_file, path)
    db = open_database(path, create=False, clock=Clock.frozen(NOW), unix_user="tester")
    app = make(db, review=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        await pilot.press("w")
        await settle(pilot, app)
        await pilot.press("down", "down", "down", "down", "enter")  # W46, 9-15 Nov
        await settle(pilot, app)
        assert app.screen is screen and screen.week == "2026-11-09"
        rv = screen.review
        assert rv is not None and rv.end <= datetime(2026, 11, 16, tzinfo=UTC)
        assert all(m.met_at is None or m.met_at < rv.end for m in rv.breaches)
        head = str(screen.query_one("#rv-title").render())
        assert "as it stood then" in head
    db.dispose()
