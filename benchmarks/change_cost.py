"""CPU per change: to write it (service layer) and to apply it in an open dashboard.

    python -m benchmarks.change_cost                 # both parts
    python -m benchmarks.change_cost --profile 20    # plus the top 20 of a cProfile (writes)
    python -m benchmarks.change_cost --only dashboard --changes 60

Writes: the same mix as ``benchmarks.writers`` (read the item, then assign / transition /
comment / edit with the version read), on a fresh file, so the figure isolates the code
path from lock waits and page-cache invalidation.

Dashboard (issue 17, target under 5 ms for an owner change and a state change): a real
headless dashboard (120x40) on the sample shop; another connection commits a change,
then the CPU of the whole process (all threads) is measured from reading the events after
the cursor to the frame that shows the change.  Beside it, in the same run: a bare
Textual app redrawing one line (the floor of any on-screen change) and a raw sqlite3
query by primary key; and the full-reload fallback on the same dashboard.  The events are
read as the dashboard's watcher reads them (``queries.events_after_sqlite`` on a plain
sqlite3 connection); the watcher's wait and file check are in ``benchmarks.propagation``.
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


def dashboard_costs(changes: int, seed: int = 7) -> dict[str, dict[str, float]]:
    """CPU ms per applied change in a headless dashboard, and the same-run baselines."""
    import asyncio
    import sqlite3
    import subprocess
    import sys

    from opstui.config import Config
    from opstui.services import items as svc
    from opstui.services import transitions
    from opstui.store import queries as q
    from opstui.store.schema import open_database
    from opstui.sync.delta import Delta
    from opstui.ui.app import make_app
    from opstui.ui.messages import PanesLoaded

    root = Path(__file__).resolve().parent.parent
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "shop.db"
        subprocess.run(
            [sys.executable, "-m", "opstui", "--db", str(path), "load"]
            + [str(root / "opstui" / "sample_data" / "shop.toml")],
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=root,
        )
        db = open_database(path)
        writer = open_database(path, unix_user="writer")
        raw_events = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        app = make_app(db, Config(), watch=False, housekeeping=False, persist_theme=False)
        painted = asyncio.Event()

        def hook(message: object) -> None:
            # the panes handle this message now; the next frame shows the change
            if isinstance(message, PanesLoaded):
                app.call_after_refresh(painted.set)

        rng = random.Random(seed)

        async def measure(pilot: object, kind: str, full: bool = False) -> list[float]:
            with writer.read() as conn:
                open_items = q.list_items(conn, q.ItemFilter(open_only=True), limit=400)
                people = [p.handle for p in q.list_people(conn, include_inactive=False)]
            cpu: list[float] = []
            for _ in range(changes):
                it = rng.choice(open_items)
                with writer.read() as conn:
                    it = q.get_item(conn, it.key)
                    moves = q.next_states_for_item(conn, it.key) if kind == "state" else []
                if kind == "owner":
                    svc.assign(writer, it.key, rng.choice([h for h in people if h != it.owner]))
                else:
                    # between open states, so the item stays on the board
                    moves = [m for m in moves if m.to_state not in ("done", "cancelled", "lost")]
                    if not moves:
                        continue
                    try:
                        transitions.transition(writer, it.key, rng.choice(moves).to_state)
                    except Exception:
                        continue  # refused (approval, blocker): nothing to apply
                await asyncio.sleep(0.05)  # let the previous frame settle
                painted.clear()
                c0 = time.process_time()
                # read as the dashboard's watcher does (sync.watcher: its own connection)
                events = q.events_after_sqlite(
                    raw_events, db.engine.dialect, app.event_cursor, 1000
                )
                if Delta.from_events(events).empty:
                    print(f"  (skipped: {[(e.entity, e.field) for e in events]})")
                    app.event_cursor = max([app.event_cursor, *(e.id for e in events)])
                    continue
                if full:
                    app.event_cursor = max(e.id for e in events)
                    app.request_delta(Delta.full("benchmark"))
                else:
                    app.refresh_from_events(events)
                await asyncio.wait_for(painted.wait(), 10)
                cpu.append((time.process_time() - c0) * 1000)
            return cpu

        async def run() -> None:
            async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
                while not app.loaded:
                    await pilot.pause(0.05)
                await pilot.pause(0.5)
                await measure(pilot, "owner")  # warm-up
                out["owner change"] = _stats(await measure(pilot, "owner"))
                out["state change"] = _stats(await measure(pilot, "state"))
                out["owner change, full reload (fallback)"] = _stats(
                    await measure(pilot, "owner", full=True)
                )

        asyncio.run(run())
        # baseline: a raw sqlite3 query by primary key (one item's row)
        raw = sqlite3.connect(path)
        ids = [r[0] for r in raw.execute("SELECT id FROM item")]
        xs = []
        for i in range(2000):
            c0 = time.process_time()
            raw.execute("SELECT * FROM item WHERE id = ?", (ids[i % len(ids)],)).fetchall()
            xs.append((time.process_time() - c0) * 1000)
        out["baseline: raw sqlite3 query by id"] = _stats(xs)
        raw.close()
        raw_events.close()
        db.dispose()
        writer.dispose()
    out["baseline: bare Textual app redrawing one line"] = _stats(_bare_line_redraw(changes))
    return out


def _bare_line_redraw(changes: int) -> list[float]:
    """A bare Textual app (one Line-API widget, 120x40) redrawing one line per change."""
    import asyncio

    from rich.segment import Segment
    from textual.app import App, ComposeResult
    from textual.scroll_view import ScrollView
    from textual.strip import Strip

    class Lines(ScrollView):
        def __init__(self) -> None:
            super().__init__()
            self.values = [0] * 40

        def render_line(self, y: int) -> Strip:
            return Strip([Segment(f"line {y}: {self.values[y] if y < 40 else ''}")])

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Lines()

    app = Bare()
    cpu: list[float] = []

    async def run() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.3)
            lines = app.query_one(Lines)
            painted = asyncio.Event()
            for n in range(changes * 2):
                await asyncio.sleep(0.05)
                painted.clear()
                c0 = time.process_time()
                lines.values[n % 40] += 1
                lines.refresh_line(n % 40)
                app.call_after_refresh(painted.set)
                await asyncio.wait_for(painted.wait(), 10)
                if n >= changes:
                    cpu.append((time.process_time() - c0) * 1000)

    asyncio.run(run())
    return cpu


def _stats(xs: list[float]) -> dict[str, float]:
    s = sorted(xs)
    return {
        "median": round(statistics.median(s), 3),
        "p90": round(s[int(0.9 * (len(s) - 1))], 3),
        "n": len(s),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=400, help="changes per batch")
    ap.add_argument("--batches", type=int, default=5)
    ap.add_argument("--profile", type=int, default=0, help="print the top N cProfile entries")
    ap.add_argument("--only", choices=["writes", "dashboard"], default=None)
    ap.add_argument("--changes", type=int, default=60, help="dashboard: changes per kind")
    args = ap.parse_args()
    if args.only != "dashboard":
        writes(args)
    if args.only != "writes":
        costs = dashboard_costs(args.changes)
        base = costs["baseline: bare Textual app redrawing one line"]["median"]
        print()
        print("CPU per applied change in one dashboard (whole process, read to frame):")
        print(f"{'':44} {'median':>8} {'p90':>8} {'x bare':>7}  target")
        for name, st in costs.items():
            target = "< 5 ms" if name in ("owner change", "state change") else ""
            verdict = ""
            if target:
                verdict = "ok" if st["median"] < 5 else "MISS"
            print(
                f"{name:44} {st['median']:>7.2f}m {st['p90']:>7.2f}m"
                f" {st['median'] / base if base else 0:>6.1f}x  {target} {verdict}"
            )
    return 0


def writes(args: argparse.Namespace) -> None:
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


if __name__ == "__main__":
    raise SystemExit(main())
