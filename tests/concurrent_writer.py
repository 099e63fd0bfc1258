"""A writer process for the concurrency test: N changes through the service layer.

Each change either succeeds or raises Conflict (then it re-reads and retries).  Prints a
JSON summary on stdout.  Usage: python concurrent_writer.py DB WORKER CHANGES KEYS... [--go FILE]
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path


def main() -> None:
    db_path, worker, changes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    go = Path(sys.argv[4])
    keys = sys.argv[5:]
    from opstui.errors import Conflict
    from opstui.services import items
    from opstui.store import queries as q
    from opstui.store.schema import open_database

    db = open_database(db_path, unix_user=f"w{worker}")
    rng = random.Random(worker)
    summary = {
        "worker": worker,
        "edits": {k: 0 for k in keys},
        "comments": 0,
        "conflicts": 0,
        "false_conflicts": 0,
        "locked": 0,
    }
    while not go.exists():
        time.sleep(0.005)
    for n in range(changes):
        key = rng.choice(keys)
        if n % 4 == 3:
            items.comment(db, key, f"w{worker} change {n}")
            summary["comments"] += 1
            continue
        while True:
            with db.read() as conn:
                item = q.get_item(conn, key)
            try:
                items.edit_item(
                    db, key, expected_version=item.version, estimate=(item.estimate_hours or 0) + 1
                )
                summary["edits"][key] += 1
                break
            except Conflict as exc:
                summary["conflicts"] += 1
                if exc.current_version == item.version:
                    summary["false_conflicts"] += 1
            except Exception as exc:  # noqa: BLE001 - counted, then re-raised
                if "locked" in str(exc):
                    summary["locked"] += 1
                raise
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
