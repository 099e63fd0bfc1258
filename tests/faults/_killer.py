"""Fork writer processes and kill -9 them at random points (run as a script by the tests).

    python tests/faults/_killer.py DB TRIALS [PER_ROUND] [SEED]

Each trial is one child process, forked from this already-imported parent, that opens the
database and runs multi-statement service transactions (create with owner, transition,
comment, a two-field edit, assign) as fast as it can until it is SIGKILLed after a random
delay.  ``PER_ROUND`` children run (and die) at once.  Prints a JSON summary.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from opstui.errors import Conflict, InvalidTransition, OpsError  # noqa: E402
from opstui.services import items as svc  # noqa: E402
from opstui.store import queries as q  # noqa: E402
from opstui.store.schema import open_database  # noqa: E402

MOVES = {
    "new": ["in_progress"],
    "in_progress": ["waiting_on_customer", "blocked", "done"],
    "waiting_on_customer": ["in_progress"],
    "blocked": ["in_progress"],
    "done": ["in_progress"],
    "cancelled": ["new"],
}


def child(path: str, seed: int) -> None:
    rng = random.Random(seed)
    db = open_database(path, create=False, unix_user=f"killer{seed % 100}")
    n = 0
    while True:
        n += 1
        try:
            with db.read() as conn:
                keys = [i.key for i in q.list_items(conn, limit=40)]
            op = rng.random()
            if op < 0.2 or not keys:
                svc.create_item(
                    db,
                    queue="ops",
                    title=f"made by {seed}/{n}",
                    owner=rng.choice(["ana", "ben"]),
                    priority=rng.randint(1, 4),
                    estimate=rng.choice([None, 1, 2]),
                )
                continue
            key = rng.choice(keys)
            with db.read() as conn:
                item = q.get_item(conn, key)
            if op < 0.45:
                svc.transition(
                    db,
                    key,
                    rng.choice(MOVES.get(item.status, ["in_progress"])),
                    expected_version=item.version,
                )
            elif op < 0.65:
                svc.comment(db, key, f"comment {seed}/{n}")
            elif op < 0.85:
                svc.edit_item(
                    db,
                    key,
                    expected_version=item.version,
                    title=f"edit {seed}/{n}",
                    priority=1 + (item.priority % 4),
                )
            else:
                svc.assign(
                    db, key, "ben" if item.owner == "ana" else "ana", expected_version=item.version
                )
        except (Conflict, InvalidTransition):
            pass
        except OpsError as exc:
            print(f"child {seed}: {exc}", file=sys.stderr)
            os._exit(3)


def main() -> int:
    path = sys.argv[1]
    trials = int(sys.argv[2])
    per_round = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    rng = random.Random(seed)
    killed = exited = 0
    started = time.perf_counter()
    done_trials = 0
    while done_trials < trials:
        batch = min(per_round, trials - done_trials)
        pids = []
        for i in range(batch):
            child_seed = seed * 100_000 + done_trials + i
            pid = os.fork()
            if pid == 0:
                try:
                    child(path, child_seed)
                finally:
                    os._exit(4)
            pids.append(pid)
        # Kill each child at its own random moment: early ones die during open or their
        # first transaction, later ones somewhere inside a stream of transactions.
        deadlines = sorted(
            rng.choice([rng.uniform(0.0, 0.03), rng.uniform(0.03, 0.25)]) for _ in pids
        )
        t0 = time.perf_counter()
        for pid, at in zip(pids, deadlines, strict=True):
            delay = at - (time.perf_counter() - t0)
            if delay > 0:
                time.sleep(delay)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in pids:
            _, status = os.waitpid(pid, 0)
            if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
                killed += 1
            else:
                exited += 1
        done_trials += batch
    print(
        json.dumps(
            {
                "trials": done_trials,
                "killed": killed,
                "exited": exited,
                "seconds": round(time.perf_counter() - started, 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
