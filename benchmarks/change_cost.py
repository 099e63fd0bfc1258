"""CPU per change through the service layer, one process, no contention.

    python -m benchmarks.change_cost                 # CPU ms per op, median of 5 batches
    python -m benchmarks.change_cost --profile 20    # plus the top 20 of a cProfile

The same mix as ``benchmarks.writers`` (read the item, then assign / transition / comment /
edit with the version read), on a fresh file, so the figure isolates the code path from
lock waits and page-cache invalidation.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.writers import OPEN_MOVES, setup


def run(path: Path, keys: list[str], n: int, rng: random.Random) -> dict[str, list[float]]:
    from opstui.services import items as svc
    from opstui.services import transitions
    from opstui.store import queries as q
    from opstui.store.schema import open_database

    db = open_database(path, create=False, unix_user="w00")
    handles = [f"w{i:02d}" for i in range(16)] + [None]
    per: dict[str, list[float]] = {"assign": [], "transition": [], "comment": [], "edit": []}
    ops = list(per)
    for i in range(n):
        key = rng.choice(keys)
        op = ops[i % 4]
        with db.read() as conn:
            item = q.get_item(conn, key)
        c0 = time.process_time()
        if op == "assign":
            h = rng.choice([h for h in handles if h != item.owner])
            svc.assign(db, key, h, expected_version=item.version)
        elif op == "transition":
            transitions.transition(
                db, key, rng.choice(OPEN_MOVES[item.status]), expected_version=item.version
            )
        elif op == "edit":
            svc.edit_item(db, key, expected_version=item.version, title=f"t{i}")
        else:
            svc.comment(db, key, f"c{i}")
        per[op].append(time.process_time() - c0)
    db.dispose()
    return per


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=400, help="changes per batch")
    ap.add_argument("--batches", type=int, default=5)
    ap.add_argument("--profile", type=int, default=0, help="print the top N cProfile entries")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "cost.db"
        info = setup(path, 64)
        keys = info["keys"]
        rng = random.Random(1)
        run(path, keys, 100, rng)  # warm-up: statement caches, imports
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
            run(path, keys, args.n, rng)
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(args.profile)
        medians: dict[str, list[float]] = {}
        for _ in range(args.batches):
            per = run(path, keys, args.n, rng)
            for op, xs in per.items():
                medians.setdefault(op, []).append(statistics.mean(xs) * 1000)
            medians.setdefault("all", []).append(
                sum(sum(xs) for xs in per.values()) / args.n * 1000
            )
        for op, xs in medians.items():
            print(f"{op:>10}: {statistics.median(xs):.3f} ms CPU per change")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
