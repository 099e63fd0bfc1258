"""As-of board: rebuilding the board as it stood at a past moment, at 100k items.

    python -m benchmarks.asof                      # 100k items, 4 moments, 5 runs each
    python -m benchmarks.asof --items 10000 --repeat 3 --json

"Rebuilding the board" is what ``opstui --now <past>`` does before its first read:
``services.asof.open_as_of`` (the rewound copy: definitions, the items that existed with
their fields as of then, the log up to then, SLA columns recomputed for the items whose
SLA inputs changed since) plus the Queues, Owners and SLA panes' queries over it.  The
same-run baseline is a raw sqlite3 query over the event table: each item's first change
after the moment (the rule's core, with nothing materialised).  Target: under 1 s.
"""

from __future__ import annotations

import argparse
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks._common import (
    loadavg,
    machine_info,
    machine_line,
    report,
    table,
    time_call,
    verdict,
)

TARGET_S = 1.0
MOMENTS_DAYS = (1, 7, 30, 365)


def _latest(path: Path) -> datetime:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        value = con.execute("SELECT max(ts) FROM event").fetchone()[0]
    finally:
        con.close()
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _raw_first_changes(path: Path, at: datetime) -> int:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        t = at.replace(tzinfo=None).isoformat(sep=" ")
        rows = con.execute(
            "SELECT e.item_id, e.field, e.old FROM event e JOIN (SELECT min(id) AS id FROM event"
            " WHERE ts > ? AND item_id IS NOT NULL AND field IN ('status', 'owner', 'queue',"
            " 'priority') GROUP BY item_id, field) f ON f.id = e.id",
            (t,),
        ).fetchall()
    finally:
        con.close()
    return len(rows)


def measure(path: Path, repeat: int) -> dict[str, Any]:
    from opstui.domain.clock import Clock
    from opstui.services import asof
    from opstui.store import panes
    from opstui.store.schema import open_database

    source = open_database(path, create=False, readonly=True, clock=Clock())
    latest = _latest(path)
    out: dict[str, Any] = {}
    for days in MOMENTS_DAYS:
        at = latest - timedelta(days=days)
        facts: dict[str, Any] = {}

        def rebuild(at: datetime = at, facts: dict[str, Any] = facts) -> None:
            view = asof.open_as_of(source, at)
            try:
                with view.db.read() as conn:
                    queues = panes.queue_stats(conn, at)
                    panes.owner_stats(conn, at, at.date())
                    panes.sla_rows(conn)
                    facts["items"] = conn.exec_driver_sql("SELECT count(*) FROM item").scalar()
                facts["open"] = sum(q.open for q in queues)
                facts["breached"] = sum(q.breaching for q in queues)
            finally:
                view.close()

        stats = time_call(rebuild, repeat=repeat, warmup=1)
        base = time_call(lambda at=at: _raw_first_changes(path, at), repeat=repeat, warmup=1)
        out[f"{days}d"] = {"at": at.isoformat(), "rebuild_ms": stats, "baseline_ms": base, **facts}
    source.dispose()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="the board as of a past moment, at scale")
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/opstui-bench"))
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per moment (median)")
    ap.add_argument("--json", action="store_true", help="print only JSON")
    args = ap.parse_args(argv)
    from benchmarks.generate import ensure

    args.dir.mkdir(parents=True, exist_ok=True)
    path = args.dir / f"items-{args.items}.db"
    gen = ensure(path, args.items)
    started = time.time()
    data: dict[str, Any] = {
        "machine": machine_info(),
        "items": args.items,
        "target_s": TARGET_S,
        "loadavg_before": loadavg(),
        "moments": measure(path, args.repeat),
        "loadavg_after": loadavg(),
        "seconds": round(time.time() - started, 1),
    }
    if gen:
        data["generated"] = gen
    rows = []
    for name, m in data["moments"].items():
        rebuild, base = m["rebuild_ms"], m["baseline_ms"]
        rows.append(
            [
                f"{name} back",
                m["items"],
                m["open"],
                m["breached"],
                rebuild["median"],
                rebuild["cpu_median"],
                base["median"],
                verdict(rebuild["median"] < TARGET_S * 1000),
            ]
        )
    text = "\n".join(
        [
            machine_line(data["machine"]),
            f"{args.items:,} items; medians of {args.repeat} runs; load {data['loadavg_before']}",
            "",
            table(
                [
                    "moment",
                    "items in board",
                    "open then",
                    "breached then",
                    "rebuild ms",
                    "cpu ms",
                    "raw first-change query ms",
                    f"<{TARGET_S:g} s",
                ],
                rows,
            ),
        ]
    )
    report("asof", data, text, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
