"""How fast does a commit reach other terminals?  (issue 4, DESIGN.md quality bars)

One writer process commits changes (assignments) at random intervals through the service
layer on a database made from sample_data/shop.toml.  N watcher processes, each running the
real sync code (``opstui.sync.watcher.ChangeWatcher``), record when each change became
visible.  The writer records its commit times; all processes use ``time.time()`` on one
machine.  Then nothing changes for an idle window and the idle CPU of every watcher process
is read from ``/proc/<pid>/stat`` (utime + stime, all threads).

    python benchmarks/propagation.py                 # N = 1, 5, 20 with the shipped settings
    python benchmarks/propagation.py --quick         # N = 1, 5, fewer changes, short idle
    python benchmarks/propagation.py --compare       # N = 20 for several watch settings
    python benchmarks/propagation.py --apps 5        # + N headless dashboards (needs the UI)
    python -m benchmarks.propagation --ns none --apps 1,5,10,20 --burst 500
    python benchmarks/propagation.py --engines sqlite postgresql   # both stores side by side

With ``--apps`` it also prints, per dashboard count: the change on screen (p50/p95, against
the issue-17 targets 40/60/100/250 ms at 1/5/10/20 dashboards), the CPU each dashboard
spent per applied change (its process CPU during the writes less its idle CPU, over the
changes; target under 5 ms), and with ``--burst N`` one transaction of N assignments: how
long until it was on screen in every dashboard (target under 1 s), how many refreshes each
dashboard made for it (target 1) and whether any dashboard still had work queued after it.
The same-run baselines are the watcher rows (change detection alone, no UI) and
``benchmarks.change_cost`` (a bare Textual app redrawing one line; a raw sqlite3 query).

Every row also prints its processes' CPU per change (watcher rows: change detection alone),
and a split of it by thread (read from ``/proc/<pid>/task``: the watcher's worker thread,
the event loop's main thread, the pane loader, the outbox thread...).  ``--feeds N`` runs N
processes with a dashboard's live feed and no UI (``sync.live.LiveFeed`` in an asyncio
loop, as the dashboard's sync worker runs it): the dashboard's cost outside the UI code.

With ``postgresql`` the same runs use a database on the server in ``OPSTUI_BENCH_PG`` (default:
role postgres on 127.0.0.1:5432), the watchers are the LISTEN/NOTIFY listener
(``opstui.sync.listener``), and the table ends with the PostgreSQL/SQLite p95 ratio per N.

Prints a table and JSON; saves the JSON to benchmarks/results/propagation.json
(``--compare``: propagation-compare.json).
Targets: p95 < 50 ms at N = 20 (on both engines); idle CPU < 0.5 % of a core.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "results" / "propagation.json"
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Variant:
    name: str
    step: int = 10
    debounce: int = 50
    poll: float | None = None  # seconds: force polling data_version at this interval

    def args(self) -> list[str]:
        out = ["--step", str(self.step), "--debounce", str(self.debounce)]
        if self.poll is not None:
            out += ["--poll-every", str(self.poll)]
        return out


SHIPPED = Variant("shipped (step 10, debounce 50)")
COMPARE = [
    Variant("awatch defaults (step 50, debounce 1600)", step=50, debounce=1600),
    Variant("step 20, debounce 50", step=20, debounce=50),
    Variant("step 15, debounce 50", step=15, debounce=50),
    Variant("step 10, debounce 50", step=10, debounce=50),
    Variant("poll data_version 50 ms", poll=0.05),
]


# --- child processes ---------------------------------------------------------------------


def _open(db_path: str) -> Any:
    from opstui.store.schema import open_database

    return open_database(db_path, create=False)


def watcher_main(args: argparse.Namespace) -> None:
    """Run the real watcher (the file watcher, or the LISTEN connection on PostgreSQL); print
    receipts as JSON when told to stop (a line on stdin)."""
    from opstui.sync.listener import watcher_for
    from opstui.sync.watcher import WatchSettings

    db = _open(args.db)
    poll = args.poll_every is not None
    watcher = watcher_for(
        db,
        poll_interval=args.poll_every if poll else 2.0,
        force_poll=poll,
        settings=WatchSettings(step=args.step, debounce=args.debounce),
    )
    seen: list[tuple[int, float]] = []

    def run() -> None:
        for batch in watcher.batches():
            now = time.time()
            seen.extend((e.id, now) for e in batch)

    thread = threading.Thread(target=run, name="watcher", daemon=True)
    thread.start()
    threads = _thread_names()  # while the watcher thread runs
    print(json.dumps({"ready": watcher.mode}), flush=True)
    sys.stdin.readline()
    watcher.stop()
    thread.join(5)
    print(
        json.dumps(
            {
                "seen": seen,
                "mode": watcher.mode,
                "checks": watcher.checks,
                "reads": watcher.reads,
                "fs_wakeups": getattr(watcher, "fs_wakeups", 0),
                "notifications": getattr(watcher, "notifications", 0),
                "threads": threads,
            }
        ),
        flush=True,
    )
    watcher.close()


def feed_main(args: argparse.Namespace) -> None:
    """A dashboard's live-sync path without the UI: ``sync.live.LiveFeed.updates()`` in an
    asyncio loop (the file watcher in AnyIO worker threads, notices computed), each update
    handed to a callback that only records it."""
    import asyncio

    from opstui.store import queries as q
    from opstui.sync.live import LiveFeed
    from opstui.sync.watcher import WatchSettings

    db = _open(args.db)
    with db.read() as conn:
        position = q.last_event_id(conn)
    seen: list[tuple[int, float]] = []
    counters: dict[str, Any] = {}

    async def main() -> None:
        feed = LiveFeed(
            db,
            position,
            force_poll=args.poll_every is not None,
            poll_interval=args.poll_every or 2.0,
            settings=WatchSettings(step=args.step, debounce=args.debounce),
        )

        async def follow() -> None:
            async for update in feed.updates():
                now = time.time()
                seen.extend((e.id, now) for e in update.events)

        task = asyncio.ensure_future(follow())
        await asyncio.sleep(0.2)
        print(json.dumps({"ready": feed.mode}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        threads = _thread_names()
        w = feed.watcher
        counters.update(
            mode=feed.mode,
            checks=w.checks,
            reads=w.reads,
            fs_wakeups=getattr(w, "fs_wakeups", 0),
            threads=threads,
        )
        feed.watcher.stop()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        feed.close()

    asyncio.run(main())
    print(json.dumps({"seen": seen, **counters}), flush=True)


def app_main(args: argparse.Namespace) -> None:
    """A real headless dashboard (its own start_sync watcher).  Records, per event, when the
    app applied it (refresh_from_events) and when the refreshed panes were painted."""
    import asyncio
    import importlib

    from opstui.config import Config

    make_app = importlib.import_module("opstui.ui.app").make_app  # the dashboard (ui layer)

    db = _open(args.db)
    seen: list[tuple[int, float]] = []
    painted: list[tuple[int, float]] = []
    app = make_app(db, Config(), poll=args.poll_every is not None)
    original = app.refresh_from_events
    #: Applied but not yet on screen: stamped after the frame that follows the pane load
    #: which left nothing pending (a merged delta shows several changes at once).  Found
    #: from the app's own messages, so the measuring adds no polling to the process whose
    #: CPU is measured.
    unpainted: list[int] = []

    def recording(events: Any) -> Any:
        fresh = [e.id for e in events if e.id > app.event_cursor]
        result = original(events)
        now = time.time()
        seen.extend((i, now) for i in fresh)
        unpainted.extend(fresh)
        return result

    app.refresh_from_events = recording  # type: ignore[method-assign]
    loads: list[float] = []

    def hook(message: Any) -> None:
        if type(message).__name__ != "PanesLoaded":
            return
        loads.append(time.time())
        if not unpainted or (app.pane_loader is not None and app.pane_loader.waiting):
            return  # another delta waits to be applied: its load shows these too
        ids = list(unpainted)
        unpainted.clear()

        def stamp() -> None:
            now = time.time()
            painted.extend((i, now) for i in ids)

        app.call_after_refresh(stamp)  # after the frame this load's panes are drawn in

    async def main() -> None:
        async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
            while not app.loaded or getattr(app, "sync_mode", "starting") == "starting":
                await pilot.pause(0.05)
            print(json.dumps({"ready": getattr(app, "sync_mode", "?")}), flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
            await pilot.pause(0.1)
            mode = getattr(app, "sync_mode", "?")
            busy = bool(app.pane_loader is not None and app.pane_loader.busy)
            report = {
                "seen": seen,
                "painted": painted,
                "mode": mode,
                "loads": loads,
                "busy": busy,
                "cursor": app.event_cursor,
                "threads": _thread_names(),
            }
            # report before shutting down: what happens while the app tears down is not
            # part of the measurement
            print(json.dumps(report), flush=True)

    asyncio.run(main())


def writer_main(args: argparse.Namespace) -> None:
    """Commit ``--changes`` assignments at random intervals; print (last event id, time)."""
    from opstui.services.context import writing
    from opstui.services.items import assign_in, item_for_update
    from opstui.store import queries as q

    db = _open(args.db)
    rng = random.Random(args.seed)
    with db.read() as conn:
        items = [i for i in q.list_items(conn, q.ItemFilter(), limit=400) if i.is_open]
        people = [p.handle for p in q.list_people(conn, include_inactive=False)]
    owners = {i.key: i.owner for i in items}
    print(json.dumps({"ready": len(items)}), flush=True)
    sys.stdin.readline()
    commits: list[tuple[int, float]] = []
    for _ in range(args.changes):
        time.sleep(rng.uniform(args.min_gap, args.max_gap))
        key = rng.choice(items).key
        handle = rng.choice([p for p in people if p != owners[key]])
        with writing(db) as ctx:
            assign_in(ctx, item_for_update(ctx, key), handle)
            last = q.last_event_id(ctx.conn)
        commits.append((last, time.time()))
        owners[key] = handle
    print(json.dumps({"commits": commits}), flush=True)
    if args.burst:
        sys.stdin.readline()
        # one transaction of ``--burst`` assignments (an import, a run-due, a chain)
        with writing(db) as ctx:
            for _ in range(args.burst):
                key = rng.choice(items).key
                handle = rng.choice([p for p in people if p != owners[key]])
                assign_in(ctx, item_for_update(ctx, key), handle)
                owners[key] = handle
            last = q.last_event_id(ctx.conn)
        print(json.dumps({"burst": [last, time.time()]}), flush=True)


# --- the driver ----------------------------------------------------------------------------


def _spawn(role: str, db: str, extra: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, "--role", role, "--db", db, *extra],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _thread_names() -> dict[str, str]:
    """This process's live threads: native id -> name (for the per-thread CPU split)."""
    return {str(t.native_id): t.name for t in threading.enumerate() if t.native_id}


def _task_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of each thread of ``pid`` now (utime + stime), by native thread id."""
    out: dict[str, float] = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended
        out[tid] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


def _by_thread(
    before: dict[str, float], after: dict[str, float], names: dict[str, str], changes: int
) -> dict[str, float]:
    """CPU ms per change of each thread during the writes, summed by thread name (pool
    threads share a name; threads that ended during the writes are not listed)."""
    out: dict[str, float] = {}
    for tid, cpu in after.items():
        name = names.get(tid, "(ended or unnamed)")
        name = name.rstrip("0123456789").rstrip("_-") or name  # asyncio_0, asyncio_1...
        out[name] = out.get(name, 0.0) + (cpu - before.get(tid, 0.0)) * 1000 / max(1, changes)
    return {k: round(v, 2) for k, v in sorted(out.items(), key=lambda kv: -kv[1])}


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def make_db(directory: Path, engine: str = "sqlite") -> str:
    path: Path | str = directory / "shop.db"
    if engine == "postgresql":
        from benchmarks._common import pg_create

        path = pg_create("prop")
        subprocess.run(
            [sys.executable, "-m", "opstui", "--db", path, "init"],
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "opstui",
            "--db",
            str(path),
            "load",
            str(ROOT / "sample_data" / "shop.toml"),
        ],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return str(path)


def run_once(
    n: int,
    variant: Variant,
    *,
    changes: int,
    idle: float,
    seed: int,
    role: str = "watcher",
    engine: str = "sqlite",
    burst: int = 0,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="opstui-prop-") as tmp:
        db = make_db(Path(tmp), engine)
        try:
            result = _run_on(
                db, n, variant, changes=changes, idle=idle, seed=seed, role=role, burst=burst
            )
        finally:
            if engine == "postgresql":
                from benchmarks._common import pg_drop

                pg_drop(db)
    result["engine"] = engine
    if engine == "postgresql":
        result["variant"] = "LISTEN/NOTIFY"
        result["settings"] = {"listen": True}
    return result


def _run_on(
    db: str,
    n: int,
    variant: Variant,
    *,
    changes: int,
    idle: float,
    seed: int,
    role: str,
    burst: int = 0,
) -> dict[str, Any]:
    load_before = os.getloadavg()
    watchers = [_spawn(role, db, variant.args()) for _ in range(n)]
    modes = []
    for w in watchers:
        line = w.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise SystemExit(f"a {role} process failed to start (see its stderr)")
        modes.append(json.loads(line).get("ready"))
    extra = ["--changes", str(changes), "--seed", str(seed), "--burst", str(burst)]
    writer = _spawn("writer", db, extra)
    json.loads(writer.stdout.readline())  # type: ignore[union-attr]
    time.sleep(1.0)  # let every watcher settle into its wait
    cpu_go = {w.pid: _cpu_seconds(w.pid) for w in watchers}
    tasks_go = {w.pid: _task_cpu(w.pid) for w in watchers}
    started = time.time()
    t_go = time.monotonic()
    writer.stdin.write("go\n")  # type: ignore[union-attr]
    writer.stdin.flush()  # type: ignore[union-attr]
    commits = json.loads(writer.stdout.readline())["commits"]  # type: ignore[union-attr]
    write_secs = time.time() - started
    time.sleep(1.0)  # stragglers
    busy_cpu = {w.pid: _cpu_seconds(w.pid) - cpu_go[w.pid] for w in watchers}
    tasks_busy = {w.pid: _task_cpu(w.pid) for w in watchers}
    busy_secs = time.monotonic() - t_go
    burst_at: list[Any] = []
    if burst:
        writer.stdin.write("burst\n")  # type: ignore[union-attr]
        writer.stdin.flush()  # type: ignore[union-attr]
        burst_at = json.loads(writer.stdout.readline())["burst"]  # type: ignore[union-attr]
        time.sleep(2.0)
    writer.wait()
    # Idle window: nothing commits; measure every watcher's CPU (all its threads).
    cpu0 = {w.pid: _cpu_seconds(w.pid) for w in watchers}
    t0 = time.monotonic()
    time.sleep(idle)
    elapsed = time.monotonic() - t0
    idle_pct = [(_cpu_seconds(w.pid) - cpu0[w.pid]) / elapsed * 100 for w in watchers]
    # CPU per applied change: the process CPU while the changes came, less its idle rate
    per_change = [
        max(0.0, busy_cpu[w.pid] - pct / 100 * busy_secs) / max(1, changes) * 1000
        for w, pct in zip(watchers, idle_pct, strict=True)
    ]
    results = []
    for w in watchers:
        w.stdin.write("stop\n")  # type: ignore[union-attr]
        w.stdin.flush()  # type: ignore[union-attr]
    for w in watchers:
        out, _ = w.communicate(timeout=180)
        lines = [ln for ln in out.strip().splitlines() if ln.startswith("{")]
        if not lines:
            raise SystemExit(f"a {role} process failed (exit {w.returncode}); see its stderr")
        results.append(json.loads(lines[-1]))
    load_after = os.getloadavg()
    # per-thread CPU per change during the writes (busy; idle not subtracted), median over
    # the processes for each thread name
    split: dict[str, list[float]] = {}
    for w, r in zip(watchers, results, strict=True):
        names = r.get("threads", {})
        for name, ms in _by_thread(tasks_go[w.pid], tasks_busy[w.pid], names, len(commits)).items():
            split.setdefault(name, []).append(ms)
    by_thread = {k: round(statistics.median(v), 2) for k, v in split.items()}

    paint: list[float] = []
    for r in results:
        at_paint = {i: t for i, t in r.get("painted", [])}
        paint += [(at_paint[i] - t) * 1000 for i, t in commits if i in at_paint]
    latencies: list[float] = []
    missing = 0
    duplicates = 0
    out_of_order = 0
    for r in results:
        ids = [i for i, _t in r["seen"]]
        duplicates += len(ids) - len(set(ids))
        out_of_order += sum(1 for a, b in zip(ids, ids[1:], strict=False) if b <= a)
        at = {i: t for i, t in r["seen"]}
        for last_id, t_commit in commits:
            if last_id in at:
                latencies.append((at[last_id] - t_commit) * 1000)
            else:
                missing += 1
    burst_out: dict[str, Any] | None = None
    if burst_at:
        last_id, t_commit = burst_at
        on_screen = []
        refreshes = []
        for r in results:
            at_paint = {i: t for i, t in r.get("painted", [])}
            if last_id in at_paint:
                on_screen.append((at_paint[last_id] - t_commit) * 1000)
            refreshes.append(sum(1 for t in r.get("loads", []) if t >= t_commit))
        burst_out = {
            "changes": burst,
            "on_screen_ms_max": round(max(on_screen), 1) if on_screen else None,
            "on_screen_ms_median": round(statistics.median(on_screen), 1) if on_screen else None,
            "shown_in": len(on_screen),
            "refreshes_per_app": sorted(set(refreshes)),
            "backlog": [bool(r.get("busy")) or r.get("cursor", last_id) < last_id for r in results],
        }
    return {
        "n": n,
        "kind": role,
        "cpu_ms_per_change": {
            "median": round(statistics.median(per_change), 2),
            "max": round(max(per_change), 2),
        },
        "cpu_ms_per_change_by_thread": by_thread,
        "burst": burst_out,
        "variant": variant.name,
        "settings": {"step": variant.step, "debounce": variant.debounce, "poll": variant.poll},
        "modes": sorted(set(map(str, modes))),
        "changes": len(commits),
        "write_seconds": round(write_secs, 2),
        "latency_ms": {
            "p50": round(_pct(latencies, 50), 1),
            "p95": round(_pct(latencies, 95), 1),
            "max": round(max(latencies), 1) if latencies else None,
            "mean": round(statistics.fmean(latencies), 1) if latencies else None,
        },
        "painted_ms": (
            {
                "p50": round(_pct(paint, 50), 1),
                "p95": round(_pct(paint, 95), 1),
                "max": round(max(paint), 1),
            }
            if paint
            else None
        ),
        "missing": missing,
        "duplicates": duplicates,
        "out_of_order": out_of_order,
        "idle_cpu_pct_of_core": {
            "median": round(statistics.median(idle_pct), 3),
            "max": round(max(idle_pct), 3),
            "window_s": round(elapsed, 1),
        },
        "counters": {
            "checks": sum(r.get("checks", 0) for r in results),
            "reads": sum(r.get("reads", 0) for r in results),
            "fs_wakeups": sum(r.get("fs_wakeups", 0) for r in results),
            "notifications": sum(r.get("notifications", 0) for r in results),
        },
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
    }


def machine() -> dict[str, Any]:
    import watchfiles

    model = ""
    try:
        with open("/proc/cpuinfo") as fh:
            model = next(
                (ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), ""
            )
    except OSError:
        pass
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "watchfiles": watchfiles.__version__,
        "platform": platform.platform(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def table(runs: list[dict[str, Any]]) -> str:
    head = (
        f"{'engine':<10} {'kind':<8} {'N':>3}  {'settings':<42} {'p50':>7} {'p95':>7} {'max':>7}"
        f"  {'paint p50/p95':>15}  {'miss':>4}  {'idle CPU med/max %':>18}"
        f"  {'CPU/change med/max':>18}  load"
    )
    lines = [head, "-" * len(head)]
    for r in runs:
        lat, cpu, paint = r["latency_ms"], r["idle_cpu_pct_of_core"], r.get("painted_ms")
        per = r["cpu_ms_per_change"]
        shown = f"{paint['p50']:.1f}/{paint['p95']:.1f}m" if paint else "-"
        lines.append(
            f"{r.get('engine', 'sqlite'):<10} {r['kind']:<8} {r['n']:>3}  {r['variant']:<42} {lat['p50']:>6.1f}m {lat['p95']:>6.1f}m"
            f" {lat['max'] or 0:>6.1f}m  {shown:>15}  {r['missing']:>4}"
            f"  {cpu['median']:>8.3f} / {cpu['max']:<7.3f}"
            f"  {per['median']:>8.2f}/{per['max']:<6.2f}ms  {r['loadavg_before'][0]:.2f}"
        )
    return "\n".join(lines)


def thread_table(runs: list[dict[str, Any]]) -> str:
    """Where a process's CPU per change went, by thread (median over the processes)."""
    lines = ["CPU per change by thread (ms, busy window, idle not subtracted):"]
    for r in runs:
        split = r.get("cpu_ms_per_change_by_thread") or {}
        parts = ", ".join(f"{name} {ms:.2f}" for name, ms in split.items() if ms >= 0.01)
        lines.append(f"  {r.get('engine', 'sqlite')} {r['kind']} N={r['n']}: {parts or '-'}")
    return "\n".join(lines)


#: Issue 17: a change on screen, p95, by number of dashboards (ms).
SCREEN_P95_TARGET = {1: 40, 5: 60, 10: 100, 20: 250}


def app_table(runs: list[dict[str, Any]]) -> str:
    """The dashboards against the issue-17 targets."""
    head = (
        f"{'apps':>4}  {'on screen p50/p95':>18}  {'target p95':>10}  {'CPU/change med/max':>19}"
        f"  {'burst on screen':>15}  {'refreshes':>9}  backlog"
    )
    lines = [head, "-" * len(head)]
    for r in runs:
        paint = r.get("painted_ms") or {}
        target = SCREEN_P95_TARGET.get(r["n"])
        p95 = paint.get("p95")
        ok = "" if target is None or p95 is None else (" ok" if p95 < target else " MISS")
        cpu = r["cpu_ms_per_change"]
        cpu_ok = " ok" if cpu["median"] < 5 else " MISS"
        b = r.get("burst") or {}
        shown = b.get("on_screen_ms_max")
        burst_text = "-" if not b else (f"{shown:.0f} ms" if shown is not None else "never")
        if b and shown is not None:
            burst_text += " ok" if shown < 1000 and b["shown_in"] == r["n"] else " MISS"
        refreshes = ",".join(map(str, b.get("refreshes_per_app", []))) or "-"
        backlog = "-" if not b else ("yes" if any(b.get("backlog", [])) else "no")
        lines.append(
            f"{r['n']:>4}  {paint.get('p50', float('nan')):>8.1f}/{p95 or float('nan'):<8.1f}ms"
            f"  {('< ' + str(target)) if target else '-':>7}{ok:<4}"
            f"  {cpu['median']:>7.2f}/{cpu['max']:<6.2f}ms{cpu_ok:<5}"
            f"  {burst_text:>15}  {refreshes:>9}  {backlog}"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--role",
        choices=["driver", "watcher", "writer", "app", "feed"],
        default="driver",
        help=argparse.SUPPRESS,
    )
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--step", type=int, default=SHIPPED.step, help=argparse.SUPPRESS)
    ap.add_argument("--debounce", type=int, default=SHIPPED.debounce, help=argparse.SUPPRESS)
    ap.add_argument("--poll-every", type=float, default=None, help=argparse.SUPPRESS)
    ap.add_argument(
        "--min-gap", type=float, default=0.02, help="shortest pause between commits (s)"
    )
    ap.add_argument("--max-gap", type=float, default=0.15, help="longest pause between commits (s)")
    ap.add_argument(
        "--changes", type=int, default=None, help="commits per run (default 120, quick 40)"
    )
    ap.add_argument(
        "--idle", type=float, default=None, help="idle CPU window in s (default 20, quick 5)"
    )
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument(
        "--burst",
        type=int,
        default=0,
        metavar="N",
        help="dashboards: then one transaction of N assignments (e.g. 500)",
    )
    ap.add_argument("--engines", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite"])
    ap.add_argument(
        "--ns", default=None, help="comma-separated watcher counts (default 1,5,20; 'none')"
    )
    ap.add_argument(
        "--quick", action="store_true", help="N = 1, 5; fewer changes; short idle window"
    )
    ap.add_argument("--compare", action="store_true", help="N = 20 with several watch settings")
    ap.add_argument("--steps", default=None, help="with --compare: only these awatch steps (ms)")
    ap.add_argument(
        "--apps",
        default="",
        metavar="N[,N]",
        help="also run N real headless dashboards (e.g. 5 or 5,20)",
    )
    ap.add_argument(
        "--feeds",
        default="",
        metavar="N[,N]",
        help="also run N processes with a dashboard's live feed and no UI (sync.live)",
    )
    ap.add_argument(
        "--no-save", action="store_true", help="do not write benchmarks/results/propagation.json"
    )
    args = ap.parse_args()

    if args.role == "watcher":
        return watcher_main(args)
    if args.role == "writer":
        args.changes = args.changes or 120
        return writer_main(args)
    if args.role == "app":
        return app_main(args)
    if args.role == "feed":
        return feed_main(args)

    changes = args.changes or (40 if args.quick else 120)
    idle = args.idle if args.idle is not None else (5.0 if args.quick else 20.0)
    if args.ns == "none":
        ns: list[int] = []
    elif args.ns:
        ns = [int(x) for x in args.ns.split(",")]
    else:
        ns = [1, 5] if args.quick else [1, 5, 20]
    plan: list[tuple[int, Variant, str]] = []
    if args.compare:
        variants = COMPARE
        if args.steps:
            variants = [
                Variant(f"step {st}, debounce 50", step=int(st)) for st in args.steps.split(",")
            ]
        plan += [(ns[-1] if args.ns else 20, v, "watcher") for v in variants]
    else:
        plan += [(n, SHIPPED, "watcher") for n in ns]
    for n_feeds in [int(x) for x in args.feeds.split(",") if x.strip()]:
        plan.append((n_feeds, SHIPPED, "feed"))
    for n_apps in [int(x) for x in args.apps.split(",") if x.strip()]:
        plan.append((n_apps, SHIPPED, "app"))

    info = machine()
    print(
        f"machine: {info['cpu_count']} cpus ({info['cpu_model']}), python {info['python']}, "
        f"sqlite {info['sqlite']}, watchfiles {info['watchfiles']}, load {info['loadavg']}",
        file=sys.stderr,
    )
    if "postgresql" in args.engines:
        from benchmarks._common import pg_reachable

        if why := pg_reachable():
            raise SystemExit(f"no PostgreSQL server for the benchmark: {why}")
    runs = []
    for engine in args.engines:
        for n, variant, role in plan:
            if engine == "postgresql" and role != "watcher":
                continue  # the dashboards and watch-setting variants are about the file watcher
            print(f"running {engine} {role} N={n} ...", file=sys.stderr, flush=True)
            runs.append(
                run_once(
                    n,
                    variant,
                    changes=changes,
                    idle=idle,
                    seed=args.seed,
                    role=role,
                    engine=engine,
                    burst=args.burst if role == "app" else 0,
                )
            )
    ratios = {}
    for r in runs:
        if r["engine"] == "postgresql":
            base = next(
                (
                    b
                    for b in runs
                    if b["engine"] == "sqlite" and b["n"] == r["n"] and b["kind"] == "watcher"
                ),
                None,
            )
            if base and base["latency_ms"]["p95"]:
                ratios[str(r["n"])] = round(r["latency_ms"]["p95"] / base["latency_ms"]["p95"], 2)
    report = {
        "machine": info,
        "changes_per_run": changes,
        "idle_window_s": idle,
        "runs": runs,
        "targets": {"p95_ms_at_20": 50, "idle_cpu_pct": 0.5},
        "p95_ratio_postgresql_to_sqlite": ratios,
    }
    print(table(runs))
    print(thread_table(runs))
    apps = [r for r in runs if r["kind"] == "app"]
    if apps:
        print()
        print(app_table(apps))
    for n_key, ratio in ratios.items():
        print(f"N={n_key}: PostgreSQL p95 / SQLite p95 = {ratio:.2f}x")
    print(json.dumps(report, indent=2))
    if not args.no_save:
        target = RESULTS.with_name("propagation-compare.json") if args.compare else RESULTS
        if "postgresql" in args.engines:
            target = RESULTS.with_name("propagation-engines.json")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(report, indent=2) + "\n")
        print(f"saved {target.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
