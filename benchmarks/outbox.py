"""What the outbox adds to a change: a transition with 3 matching hooks (3 delivery rows
written in its transaction) against the same transition with no hooks, same run.

    python -m benchmarks.outbox              # 7 alternating batches of 200 moves each
    python -m benchmarks.outbox --json

Two files set up alike; the batches alternate between them so machine load hits both.
Target (issue 19): the 3 hooks add under 1 ms to the change.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import machine_info

MOVES = {"new": "in_progress", "in_progress": "done", "done": "in_progress"}


def setup(path: Path, hooks: int, n_items: int) -> tuple[Any, list[str]]:
    from opstui.services import items, people
    from opstui.services import outbox as svc
    from opstui.store.schema import open_database

    db = open_database(path, unix_user="bench")
    people.add_person(db, handle="ann", name="Ann", capacity=40)
    people.add_queue(db, slug="support", prefix="SUP", triage_owner="ann")
    for i in range(hooks):
        svc.add_hook(
            db,
            {
                "name": f"hook{i}",
                "on": "transition",
                "url": f"http://127.0.0.1:9/h{i}",
                "secret": "benchmark-secret",
            },
        )
    keys = [items.create_item(db, queue="support", title=f"item {i}").key for i in range(n_items)]
    return db, keys


def batch(
    db: Any, keys: list[str], n: int, state: dict[str, str]
) -> tuple[float, float, list[float]]:
    """Mean wall and CPU ms per transition over ``n`` moves, and each move's wall ms."""
    from opstui.services import transitions

    wall = cpu = 0.0
    each: list[float] = []
    for i in range(n):
        key = keys[i % len(keys)]
        to = MOVES[state.get(key, "new")]
        w0, c0 = time.perf_counter(), time.process_time()
        transitions.transition(db, key, to)
        w = time.perf_counter() - w0
        wall += w
        each.append(w * 1000)
        cpu += time.process_time() - c0
        state[key] = to
    return wall / n * 1000, cpu / n * 1000, each


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="moves per batch")
    ap.add_argument("--batches", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        base_db, base_keys = setup(Path(d) / "base.db", 0, 50)
        hook_db, hook_keys = setup(Path(d) / "hooks.db", 3, 50)
        states: tuple[dict[str, str], dict[str, str]] = ({}, {})
        batch(base_db, base_keys, 50, states[0])  # warm-up
        batch(hook_db, hook_keys, 50, states[1])
        runs: dict[str, list[tuple[float, float, list[float]]]] = {"no hooks": [], "3 hooks": []}
        for _ in range(args.batches):
            runs["no hooks"].append(batch(base_db, base_keys, args.n, states[0]))
            runs["3 hooks"].append(batch(hook_db, hook_keys, args.n, states[1]))
        with hook_db.read() as conn:
            rows = conn.exec_driver_sql("SELECT count(*) FROM outbox").scalar_one()
        base_db.dispose()
        hook_db.dispose()
    med = {
        k: (
            statistics.median(r[0] for r in v),
            statistics.median(r[1] for r in v),
            statistics.median(x for r in v for x in r[2]),
        )
        for k, v in runs.items()
    }
    added_wall = med["3 hooks"][0] - med["no hooks"][0]
    added_cpu = med["3 hooks"][1] - med["no hooks"][1]
    added_typical = med["3 hooks"][2] - med["no hooks"][2]
    result = {
        "benchmark": "outbox",
        "machine": machine_info(),
        "moves_per_batch": args.n,
        "batches": args.batches,
        "median_of_batch_means_ms": {
            k: {"wall": round(v[0], 3), "cpu": round(v[1], 3)} for k, v in med.items()
        },
        "median_change_wall_ms": {k: round(v[2], 3) for k, v in med.items()},
        "added_ms": {
            "wall_mean": round(added_wall, 3),
            "cpu_mean": round(added_cpu, 3),
            "wall_median_change": round(added_typical, 3),
        },
        "ratio_wall": round(med["3 hooks"][0] / med["no hooks"][0], 3),
        "delivery_rows_written": rows,
        "target_ms": 1.0,
        "met": added_typical < 1.0 and added_cpu < 1.0,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{'':10} {'mean wall':>9} {'mean cpu':>9} {'median wall':>12}  ms per change")
    for k, (w, c, m) in med.items():
        print(f"{k:10} {w:9.3f} {c:9.3f} {m:12.3f}")
    print(
        f"added by 3 hooks: median change {added_typical:.3f} ms wall; mean {added_wall:.3f} ms "
        f"wall (with the WAL checkpoints the bigger rows bring), {added_cpu:.3f} ms CPU; "
        f"{rows} delivery rows written; target < 1 ms: " + ("met" if result["met"] else "MISSED")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
