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
import select
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from opstui.errors import Conflict, InvalidTransition, OpsError  # noqa: E402
from opstui.services import items as svc  # noqa: E402
from opstui.services import transitions
from opstui.store import queries as q  # noqa: E402
from opstui.store.engine import Database  # noqa: E402
from opstui.store.schema import open_database  # noqa: E402

MOVES = {
    "new": ["in_progress"],
    "in_progress": ["waiting_on_customer", "blocked", "done"],
    "waiting_on_customer": ["in_progress"],
    "blocked": ["in_progress"],
    "done": ["in_progress"],
    "cancelled": ["new"],
}


def child(db: Database, seed: int, report: int) -> None:
    """``report`` is a pipe: b"r" once running, b"c" after each acknowledged commit (so the
    parent knows what was promised before the kill)."""
    rng = random.Random(seed)
    db.engine.dispose(close=False)  # never share the parent's connections (none are open)
    db.unix_user = f"killer{seed % 100}"
    os.write(report, b"r")
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
                os.write(report, b"c")
                continue
            key = rng.choice(keys)
            with db.read() as conn:
                item = q.get_item(conn, key)
            if op < 0.45:
                transitions.transition(
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
            os.write(report, b"c")
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
    # longest life after "running" (s): a server store needs a new session per child
    max_delay = float(sys.argv[5]) if len(sys.argv) > 5 else 0.15
    rng = random.Random(seed)
    # Open once here and run each kind of change, so the children inherit a warm statement
    # cache: otherwise a loaded machine spends a child's whole life compiling SQL.
    db = open_database(path, create=False, unix_user="killer")
    child_db = db
    with db.read() as conn:
        warm_key = q.list_items(conn, limit=1)[0].key
    svc.comment(db, warm_key, "warm-up")
    svc.edit_item(db, warm_key, title="warm-up", priority=2)
    svc.assign(db, warm_key, "ben")
    with db.read() as conn:
        status = q.get_item(conn, warm_key).status
    transitions.transition(db, warm_key, MOVES.get(status, ["in_progress"])[0], dry_run=True)
    svc.create_item(db, queue="ops", title="warm-up", owner="ana")
    db.engine.dispose()
    killed = exited = acked = early = 0
    started = time.perf_counter()
    done_trials = 0
    while done_trials < trials:
        batch = min(per_round, trials - done_trials)
        children = []
        for i in range(batch):
            child_seed = seed * 100_000 + done_trials + i
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(r)
                try:
                    child(child_db, child_seed, w)
                finally:
                    os._exit(4)
            os.close(w)
            children.append((pid, r))
        # Each child dies at its own random moment.  One in ten goes within 20 ms of its
        # fork (often before or during its first transaction); the rest up to 150 ms after
        # they report running (timed from that report, so that a loaded machine does not
        # turn every trial into a kill during start-up), inside a stream of
        # multi-statement transactions.
        for pid, r in children:
            if rng.random() < 0.1:
                time.sleep(rng.uniform(0.0, 0.02))
                early += 1
            else:
                select.select([r], [], [], 30)
                time.sleep(rng.uniform(0.0, max_delay))
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid, r in children:
            _, status = os.waitpid(pid, 0)
            if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
                killed += 1
            else:
                exited += 1
            while chunk := os.read(r, 65536):
                acked += chunk.count(b"c")
            os.close(r)
        done_trials += batch
    print(
        json.dumps(
            {
                "trials": done_trials,
                "killed": killed,
                "exited": exited,
                "killed_early": early,
                "acknowledged_commits": acked,
                "seconds": round(time.perf_counter() - started, 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
