"""How much the SLA bookkeeping adds to a write, and what an idle crossing check costs.

Usage: python benchmarks/sla_refresh.py [N]   (prints medians; not a test)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from opstui.domain.clock import Clock  # noqa: E402
from opstui.services.context import writing  # noqa: E402
from opstui.services.loading import load_file  # noqa: E402
from opstui.services.sla import compute as sla  # noqa: E402
from opstui.services.sla.crossings import record_sla_crossings  # noqa: E402
from opstui.store import queries as q  # noqa: E402
from opstui.store.schema import open_database  # noqa: E402

ANCHOR = datetime(2026, 12, 4, 16, 45, tzinfo=UTC)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(Path(tmp) / "b.db", clock=Clock.frozen(ANCHOR), unix_user="bench")
        load_file(db, ROOT / "sample_data" / "shop.toml")
        with db.read() as conn:
            ids = [i.id for i in q.list_items(conn, q.ItemFilter(open_only=True), limit=None)]
        apply_ms, refresh_ms = [], []
        with writing(db, dry_run=True) as ctx:
            for k in range(n):
                item_id = ids[k % len(ids)]
                t0 = time.perf_counter()
                sla.apply_sla(ctx, item_id)
                apply_ms.append((time.perf_counter() - t0) * 1000)
                row = dict(
                    ctx.conn.execute(sla.ITEM.select().where(sla.ITEM.c.id == item_id))
                    .mappings()
                    .one()
                )
                t0 = time.perf_counter()
                sla.refresh_item_sla(ctx, item_id, row)
                refresh_ms.append((time.perf_counter() - t0) * 1000)
        record_sla_crossings(db)  # record the backlog once
        idle = []
        for _ in range(n):
            t0 = time.perf_counter()
            record_sla_crossings(db)
            idle.append((time.perf_counter() - t0) * 1000)
        print(f"open items: {len(ids)}, samples: {n}")
        print(
            f"apply_sla (read row + refresh + write changes): median {statistics.median(apply_ms):.3f} ms"
        )
        print(
            f"refresh_item_sla alone:                         median {statistics.median(refresh_ms):.3f} ms"
        )
        print(
            f"record_sla_crossings with nothing due:          median {statistics.median(idle):.3f} ms"
        )
        db.dispose()


if __name__ == "__main__":
    main()
