"""Dashboard at 100 vs 100k items: pane queries, item-list ids, first paint of the list.

    python benchmarks/ui_item_list.py [N ...]

Builds databases with the services (a few items) and bulk SQL copies (the rest), then
prints medians.  Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opstui.config import Config  # noqa: E402
from opstui.domain.clock import Clock  # noqa: E402
from opstui.services import items, people  # noqa: E402
from opstui.store import panes  # noqa: E402
from opstui.store import queries as q  # noqa: E402
from opstui.store.schema import open_database  # noqa: E402

ANCHOR = datetime(2026, 12, 4, 16, 45, tzinfo=UTC)


def build(path: Path, n: int):
    db = open_database(path, clock=Clock.frozen(ANCHOR), unix_user="bench")
    for h in ("alice", "bob", "carol", "dev"):
        people.add_person(db, handle=h, name=h.title(), capacity=40)
    people.add_queue(db, slug="support", prefix="SUP", wip_limit=50)
    people.add_queue(db, slug="infra", prefix="INF")
    seed = items.create_item(db, queue="support", title="seed", owner="alice", estimate=2)
    items.edit_item(db, seed.key, due=ANCHOR + timedelta(hours=1))
    with db.write() as conn:
        conn.exec_driver_sql(
            """
            WITH RECURSIVE seq(x) AS (SELECT 2 UNION ALL SELECT x + 1 FROM seq WHERE x < ?)
            INSERT INTO item (key, title, body, kind, priority, queue_id, workflow_id, status,
                category, owner_id, requester, estimate_hours, created_at, updated_at, approval,
                version, next_due_at, data)
            SELECT 'B-' || x, 'Bulk item ' || x, '', 'task', 1 + x % 4, 1 + x % 2, i.workflow_id,
                CASE WHEN x % 10 = 0 THEN 'new' WHEN x % 10 = 1 THEN 'in_progress' ELSE 'done' END,
                CASE WHEN x % 10 = 0 THEN 'new' WHEN x % 10 = 1 THEN 'active' ELSE 'done' END,
                CASE WHEN x % 3 = 0 THEN NULL ELSE 1 + x % 4 END, 'bench', x % 8,
                i.created_at, i.updated_at, 'none', 1,
                CASE WHEN x % 10 < 2 AND x % 7 = 0 THEN datetime(i.created_at, '+' || (x % 500) || ' minutes') END,
                '{}'
            FROM seq, (SELECT * FROM item WHERE id = 1) AS i
            """,
            (n,),
        )
    return db


def median_ms(fn, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


async def first_paint(db) -> float:
    from opstui.ui.app import make_app

    app = make_app(db, Config(), clock=db.clock, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        t = time.perf_counter()
        app.open_items(q.ItemFilter())
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one("ItemTable")
        while not table.ids:
            await pilot.pause(0.01)
        await pilot.pause()
        return (time.perf_counter() - t) * 1000


def main(sizes: list[int]) -> None:
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            db = build(Path(tmp) / "b.db", n)
            now = ANCHOR
            with db.read() as conn:
                count = q.count_items(conn)
                t_queues = median_ms(lambda: panes.queue_stats(conn, now))
                t_owners = median_ms(lambda: panes.owner_stats(conn, now, now.date()))
                t_sla = median_ms(lambda: panes.sla_rows(conn, 200))
                t_ids = median_ms(lambda: panes.item_ids(conn, q.ItemFilter()))
                t_open = median_ms(lambda: panes.item_ids(conn, q.ItemFilter(open_only=True)))
            paint = asyncio.run(first_paint(db))
            db.dispose()
        print(
            f"{count:>7} items: queues {t_queues:6.1f} ms  owners {t_owners:6.1f} ms  "
            f"sla {t_sla:6.1f} ms  ids(all) {t_ids:6.1f} ms  ids(open) {t_open:6.1f} ms  "
            f"item list open+paint {paint:6.0f} ms"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 100_000])
