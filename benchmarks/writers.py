"""Writers: 1, 4 and 16 processes changing shared items through the service layer.

    python -m benchmarks.writers                      # 1, 4, 16 processes, 5 s each, 3 rounds
    python -m benchmarks.writers --procs 16 --seconds 10 --items 64 --rounds 1
    python -m benchmarks.writers --procs 16 --engines sqlite postgresql   # side by side

With ``--engines sqlite postgresql`` every round runs on a file and on a fresh database on the
PostgreSQL server in ``OPSTUI_BENCH_PG`` (default: role postgres on 127.0.0.1:5432), and the
table ends with the PostgreSQL/SQLite ratio.  On PostgreSQL the CPU per commit includes the
local server's processes.

Every process loops: read an item (as a terminal that shows it would), then one of
``assign`` / ``transition`` / ``comment`` / ``edit_item`` with ``expected_version``.  Each
acknowledged change is logged by the process; afterwards the log is checked against the
final rows and the event log:

* lost updates: an acknowledged change whose event is missing, two acknowledged changes
  that got the same item version, an item whose version does not equal its initial
  version plus its acknowledged changes, a field whose final value is not the value of
  its last acknowledged change, an acknowledged comment missing from the comment table;
* "database is locked" errors (target 0);
* conflicts: refused stale edits (expected when two processes race for one item: each is
  a change *not* made and reported, never a lost one).

Targets: >= 1,000 commits/s at 16 processes, 0 locked, 0 lost; on PostgreSQL at least as
many commits/s as on SQLite.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks._common import (
    ROOT,
    loadavg,
    machine_info,
    machine_line,
    pg_create,
    pg_drop,
    pg_reachable,
    report,
    server_cpu_s,
    table,
    verdict,
)

COMMIT_TARGET = 1000.0
OPS = [("assign", 35), ("transition", 30), ("comment", 15), ("edit", 20)]
OPEN_MOVES = {
    "in_progress": ["waiting_on_customer", "blocked"],
    "waiting_on_customer": ["in_progress"],
    "blocked": ["in_progress"],
}


def setup(path: Path | str, n_items: int, n_people: int = 16) -> dict[str, Any]:
    """A fresh database: people w00.., a queue on the default workflow, shared items."""
    from opstui.services import items as svc
    from opstui.services import people as people_svc
    from opstui.services import transitions
    from opstui.store import queries as q
    from opstui.store.schema import open_database

    db = open_database(path, create=True, unix_user="setup")
    for i in range(n_people):
        people_svc.add_person(db, handle=f"w{i:02d}", name=f"Writer {i}", capacity=40)
    people_svc.add_queue(db, slug="ops", name="Ops", prefix="OPS")
    keys = []
    for i in range(n_items):
        item = svc.create_item(db, queue="ops", title=f"shared item {i}", priority=3)
        transitions.transition(db, item.key, "in_progress")
        keys.append(item.key)
    with db.read() as conn:
        cursor = q.last_event_id(conn)
        initial = {k: _snapshot(q.get_item(conn, k)) for k in keys}
    db.dispose()
    return {"keys": keys, "cursor": cursor, "initial": initial}


def _snapshot(item: Any) -> dict[str, Any]:
    return {
        "id": item.id,
        "version": item.version,
        "owner": item.owner,
        "status": item.status,
        "title": item.title,
        "priority": item.priority,
    }


def worker(
    path: Path | str, wid: int, keys: list[str], seconds: float, out: Path, seed: int
) -> None:
    """One writer process: loop until the deadline; write its acknowledgements to ``out``."""
    from opstui.errors import Conflict, OpsError
    from opstui.services import items as svc
    from opstui.services import transitions
    from opstui.store import queries as q
    from opstui.store.schema import open_database

    me = f"w{wid:02d}"
    db = open_database(path, create=False, unix_user=me)
    rng = random.Random(seed * 1000 + wid)
    handles = [f"w{i:02d}" for i in range(16)] + [None]
    acks: list[dict[str, Any]] = []
    counts = {"conflict": 0, "locked": 0, "other_error": 0, "reads": 0}
    errors: list[str] = []
    latencies: list[float] = []
    ops = [o for o, _ in OPS]
    weights = [w for _, w in OPS]
    # Barrier: say "ready" (imports done, database open), wait for the common start time.
    Path(str(out) + ".ready").touch()
    start_file = out.parent / out.name.rsplit("-", 1)[0]
    start_file = Path(str(start_file) + ".start")
    while not start_file.exists():
        time.sleep(0.005)
    start_at = float(start_file.read_text() or 0)
    while time.time() < start_at:
        time.sleep(0.001)
    deadline = start_at + seconds
    seq = 0
    cpu0 = time.process_time()
    while time.time() < deadline:
        seq += 1
        key = rng.choice(keys)
        op = rng.choices(ops, weights)[0]
        try:
            with db.read() as conn:
                item = q.get_item(conn, key)
            counts["reads"] += 1
            assert item is not None
            t0 = time.perf_counter()
            if op == "assign":
                handle = rng.choice([h for h in handles if h != item.owner])
                res = svc.assign(db, key, handle, expected_version=item.version)
                ack = {"field": "owner", "new": handle}
            elif op == "transition":
                target = rng.choice(OPEN_MOVES[item.status])
                res, _ = transitions.transition(db, key, target, expected_version=item.version)
                ack = {"field": "status", "new": target}
            elif op == "edit":
                if rng.random() < 0.5:
                    title = f"title by {me} #{seq}"
                    res = svc.edit_item(db, key, expected_version=item.version, title=title)
                    ack = {"field": "title", "new": title}
                else:
                    prio = rng.choice([p for p in (1, 2, 3, 4) if p != item.priority])
                    res = svc.edit_item(db, key, expected_version=item.version, priority=prio)
                    ack = {"field": "priority", "new": prio}
            else:
                body = f"comment by {me} #{seq}"
                res = svc.comment(db, key, body)
                ack = {"field": "comment", "new": body}
            latencies.append((time.perf_counter() - t0) * 1000)
            ack.update(key=key, version=res.version, at=time.time(), op=op)
            acks.append(ack)
        except Conflict:
            counts["conflict"] += 1
        except OpsError as exc:
            if "locked" in str(exc).lower():
                counts["locked"] += 1
            else:
                counts["other_error"] += 1
                errors.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
            text = f"{type(exc).__name__}: {exc}"
            if "locked" in text.lower():
                counts["locked"] += 1
            else:
                counts["other_error"] += 1
                errors.append(text + " " + traceback.format_exc(limit=3))
    cpu = time.process_time() - cpu0
    db.dispose()
    out.write_text(
        json.dumps(
            {
                "wid": wid,
                "acks": acks,
                "counts": counts,
                "errors": errors[:20],
                "latency_ms": latencies,
                "cpu_s": cpu,
            }
        )
    )


class _PgReader:
    """sqlite3's execute() shape over psycopg (``?`` placeholders), for verify()."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        if sql.startswith("PRAGMA integrity_check"):
            sql = "SELECT 'ok'"  # a server has no file to check; the checks below still run
        return self.conn.execute(sql.replace("?", "%s"), params)

    def close(self) -> None:
        self.conn.close()


def verify(
    path: Path | str, setup_info: dict[str, Any], logs: list[dict[str, Any]]
) -> dict[str, Any]:
    """Check every acknowledged change against the final rows and the event log."""
    import sqlite3

    con: Any = (
        _PgReader(path)
        if isinstance(path, str)
        else sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    )
    problems: list[str] = []
    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for log in logs:
        for ack in log["acks"]:
            by_key[ack["key"]].append(ack)
    cursor = setup_info["cursor"]
    ev_rows = con.execute(
        "SELECT item_id, field, new, item_version FROM event WHERE id > ? AND entity='item'",
        (cursor,),
    ).fetchall()
    events: dict[tuple[int, str, int], list[str | None]] = defaultdict(list)
    for item_id, fld, new, ver in ev_rows:
        events[(item_id, fld, ver)].append(new)
    comments = defaultdict(int)
    for (body,) in con.execute("SELECT body FROM comment"):
        comments[body] += 1
    lost = 0
    for key, init in setup_info["initial"].items():
        acks = by_key.get(key, [])
        bumping = sorted((a for a in acks if a["field"] != "comment"), key=lambda a: a["version"])
        versions = [a["version"] for a in bumping]
        if len(set(versions)) != len(versions):
            lost += len(versions) - len(set(versions))
            problems.append(f"{key}: two acknowledged changes share a version")
        row = con.execute(
            "SELECT item.version, person.handle, item.status, item.title, item.priority FROM item "
            "LEFT JOIN person ON person.id = item.owner_id WHERE item.id = ?",
            (init["id"],),
        ).fetchone()
        version, owner, status, title, priority = row
        expected_version = init["version"] + len(bumping)
        if version != expected_version:
            lost += abs(version - expected_version)
            problems.append(f"{key}: version {version}, expected {expected_version} from the acks")
        final = {
            "owner": init["owner"],
            "status": init["status"],
            "title": init["title"],
            "priority": init["priority"],
        }
        for a in bumping:
            final[a["field"]] = a["new"]
            shown = f"P{a['new']}" if a["field"] == "priority" else a["new"]
            got = events.get((init["id"], a["field"], a["version"]))
            if not got or (shown is not None and str(shown) not in [str(g) for g in got]):
                lost += 1
                problems.append(
                    f"{key} v{a['version']}: no event for acknowledged {a['field']}={shown}"
                )
        actual = {"owner": owner, "status": status, "title": title, "priority": priority}
        for fld, want in final.items():
            if actual[fld] != want:
                lost += 1
                problems.append(f"{key}: final {fld}={actual[fld]!r}, last acknowledged {want!r}")
        for a in acks:
            if a["field"] == "comment" and comments.get(a["new"], 0) != 1:
                lost += 1
                problems.append(
                    f"{key}: acknowledged comment {a['new']!r} stored {comments.get(a['new'], 0)} times"
                )
    n_acks = sum(len(v) for v in by_key.values())
    n_events = sum(
        1 for r in ev_rows if r[1] in ("owner", "status", "title", "priority", "comment")
    )
    if n_events != n_acks:
        problems.append(f"{n_events} change events after setup but {n_acks} acknowledged changes")
    integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
    con.close()
    return {
        "lost_updates": lost,
        "problems": problems[:20],
        "events": n_events,
        "acks": n_acks,
        "integrity": integrity,
    }


def run_round(
    procs: int, seconds: float, n_items: int, seed: int, workdir: Path, engine: str = "sqlite"
) -> dict[str, Any]:
    path: Path | str = workdir / f"writers-{procs}-{seed}.db"
    if engine == "postgresql":
        path = pg_create(f"w{procs}")
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    info = setup(path, n_items)
    setup_file = workdir / f"setup-{procs}-{seed}.json"
    setup_file.write_text(json.dumps(info))
    children = []
    outs = []
    start_file = workdir / f"log-{procs}-{seed}.start"
    start_file.unlink(missing_ok=True)
    for wid in range(procs):
        out = workdir / f"log-{procs}-{seed}-{wid}.json"
        outs.append(out)
        children.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.writers",
                    "--worker",
                    str(wid),
                    "--db",
                    str(path),
                    "--setup",
                    str(setup_file),
                    "--seconds",
                    str(seconds),
                    "--out",
                    str(out),
                    "--seed",
                    str(seed),
                ],
                cwd=ROOT,
            )
        )
    ready_by = time.time() + 180
    while not all(Path(str(o) + ".ready").exists() for o in outs):
        if time.time() > ready_by or any(c.poll() not in (None, 0) for c in children):
            for c in children:
                c.kill()
            raise SystemExit("writer processes did not start")
        time.sleep(0.01)
    start_at = time.time() + 0.2
    server_cpu0 = server_cpu_s() if engine == "postgresql" else 0.0
    tmp = start_file.with_suffix(".tmp")
    tmp.write_text(repr(start_at))
    tmp.rename(start_file)
    for c in children:
        c.wait(timeout=seconds + 120)
    server_cpu = server_cpu_s() - server_cpu0 if engine == "postgresql" else 0.0
    logs = [json.loads(o.read_text()) for o in outs if o.exists()]
    if len(logs) != procs:
        raise SystemExit(f"{procs - len(logs)} writer processes died")
    acks = [a for log in logs for a in log["acks"]]
    last = max((a["at"] for a in acks), default=start_at + seconds)
    elapsed = max(1e-9, min(seconds, last - start_at))
    counts = defaultdict(int)
    for log in logs:
        for k, v in log["counts"].items():
            counts[k] += v
    lat = sorted(x for log in logs for x in log["latency_ms"])
    result = {
        "procs": procs,
        "seconds": round(elapsed, 3),
        "commits": len(acks),
        "commits_per_s": round(len(acks) / elapsed, 1),
        "conflicts": counts["conflict"],
        "locked": counts["locked"],
        "other_errors": counts["other_error"],
        "error_samples": [e for log in logs for e in log["errors"]][:5],
        "latency_ms": {
            "median": round(statistics.median(lat), 2) if lat else None,
            "p95": round(lat[int(0.95 * (len(lat) - 1))], 2) if lat else None,
            "max": round(lat[-1], 2) if lat else None,
        },
        "loadavg": loadavg(),
    }
    # CPU spent by the writers per commit (reads, refused attempts and all): on a machine
    # shared with other work, wall-clock commits/s mostly measures the others' load; this
    # gives what the cores would do if they were ours: cpu_count / (cpu per commit).
    cpu_total = sum(log.get("cpu_s", 0.0) for log in logs) + server_cpu
    result["server_cpu_s"] = round(server_cpu, 3)
    result["cpu_ms_per_commit"] = round(1000 * cpu_total / max(1, len(acks)), 3)
    result["projected_commits_per_s_idle"] = round(
        (os.cpu_count() or 1) * len(acks) / max(1e-9, cpu_total), 1
    )
    result.update(verify(path, info, logs))
    result["engine"] = engine
    for p in [*outs, *[Path(str(o) + ".ready") for o in outs], setup_file, start_file]:
        p.unlink(missing_ok=True)
    if engine == "postgresql":
        pg_drop(str(path))
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="parallel writers through the service layer")
    ap.add_argument("--procs", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--items", type=int, default=64, help="shared items all writers change")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--engines", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite"])
    # worker mode
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--db", type=str, help=argparse.SUPPRESS)
    ap.add_argument("--setup", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker is not None:
        keys = json.loads(args.setup.read_text())["keys"]
        target = args.db if "://" in args.db else Path(args.db)
        worker(target, args.worker, keys, args.seconds, args.out, args.seed)
        return 0

    if "postgresql" in args.engines and (why := pg_reachable()):
        raise SystemExit(f"no PostgreSQL server for the benchmark: {why}")
    info = machine_info()
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="opstui-writers-"))
    data: dict[str, Any] = {
        "machine": info,
        "target_commits_per_s_at_16": COMMIT_TARGET,
        "seconds": args.seconds,
        "items": args.items,
        "runs": {},
    }
    rows = []
    for engine in args.engines:
        for procs in args.procs:
            rounds = [
                run_round(procs, args.seconds, args.items, seed, workdir, engine)
                for seed in range(1, args.rounds + 1)
            ]
            med = statistics.median(r["commits_per_s"] for r in rounds)
            key = str(procs) if engine == "sqlite" else f"{engine}:{procs}"
            data["runs"][key] = {"engine": engine, "median_commits_per_s": med, "rounds": rounds}
            rows.append(
                [
                    engine,
                    procs,
                    med,
                    [r["commits_per_s"] for r in rounds],
                    sum(r["conflicts"] for r in rounds),
                    sum(r["locked"] for r in rounds),
                    sum(r["lost_updates"] for r in rounds),
                    sum(r["other_errors"] for r in rounds),
                    statistics.median(r["latency_ms"]["median"] or 0 for r in rounds),
                    statistics.median(r["latency_ms"]["p95"] or 0 for r in rounds),
                    statistics.median(r["cpu_ms_per_commit"] for r in rounds),
                    statistics.median(r["projected_commits_per_s_idle"] for r in rounds),
                    all(r["integrity"] == "ok" for r in rounds),
                    rounds[-1]["loadavg"][0] if rounds[-1]["loadavg"] else "-",
                ]
            )
    text = f"writers  ({machine_line(info)})\n{args.items} shared items, {args.seconds:g} s per round\n\n"
    text += table(
        [
            "engine",
            "procs",
            "commits/s (median)",
            "per round",
            "conflicts",
            "locked",
            "lost",
            "errors",
            "ms median",
            "ms p95",
            "cpu ms/commit",
            "idle projection/s",
            "integrity",
            "load",
        ],
        rows,
    )
    if "16" in data["runs"]:
        got = data["runs"]["16"]["median_commits_per_s"]
        text += f"\n\n16 processes: {got:,.0f} commits/s vs target {COMMIT_TARGET:,.0f}: {verdict(got >= COMMIT_TARGET)}"
    for procs in args.procs:
        lite, pg = data["runs"].get(str(procs)), data["runs"].get(f"postgresql:{procs}")
        if lite and pg and "sqlite" in args.engines:
            ratio = pg["median_commits_per_s"] / max(1e-9, lite["median_commits_per_s"])
            data.setdefault("ratio_postgresql_to_sqlite", {})[str(procs)] = round(ratio, 3)
            text += (
                f"\n{procs} processes: PostgreSQL {pg['median_commits_per_s']:,.0f} vs SQLite "
                f"{lite['median_commits_per_s']:,.0f} commits/s = {ratio:.2f}x "
                f"(target >= 1.00x: {verdict(ratio >= 1.0)})"
            )
    problems = [p for run in data["runs"].values() for r in run["rounds"] for p in r["problems"]]
    if problems:
        text += "\n\nPROBLEMS:\n  " + "\n  ".join(problems[:20])
    report("writers", data, text, args.json)
    if not args.dir:
        try:
            os.rmdir(workdir)
        except OSError:
            pass
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
