"""Import of a generated ServiceNow incident event log, with another writer at work.

    python -m benchmarks.import_log                       # 25,000 incidents (~170,000 rows)
    python -m benchmarks.import_log --incidents 5000 --rounds 1

Each round: a fresh database with a business calendar and SLA policies; a concurrent
writer process (a comment every 20 ms through the service layer, as another terminal
would) runs first alone for a few seconds (the baseline wait), then during
``opstui import servicenow`` run as a real process.  Reported: import wall time and CPU,
rows per second, and the writer's longest and 99th percentile wait alone and during the
import.  A second baseline in the same run: reading the file with Python's csv module
alone (the floor for any importer written in Python).

Targets (DESIGN.md): under 15 s for 25,000 incidents / ~170,000 rows on 2 cores; the
concurrent writer waits under 1 s.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import ROOT, machine_info, machine_line, report, table, verdict
from benchmarks.servicenow_log import generate

IMPORT_TARGET_S = 15.0
WAIT_TARGET_S = 1.0

SETUP = """
[[people]]
handle = "bench"
name = "Bench Writer"

[[queues]]
slug = "desk"
name = "Desk"
prefix = "DESK"

[[calendars]]
name = "office"
timezone = "Europe/Amsterdam"
hours = { mon = "08:00-18:00", tue = "08:00-18:00", wed = "08:00-18:00", thu = "08:00-18:00", fri = "08:00-18:00" }

[[sla_policies]]
name = "p1"
priorities = [1]
calendar = "24x7"
first_response = "30m"
resolution = "4h"

[[sla_policies]]
name = "incident"
calendar = "office"
first_response = "4h"
resolution = "3d"

[[items]]
queue = "desk"
title = "the writer's item"
"""


def writer_main(db_path: str, stop_file: str, out_file: str) -> None:
    """Comment on DESK-1 every 20 ms until ``stop_file`` exists; log each call's time."""
    sys.path.insert(0, str(ROOT))
    from opstui.services import items as svc
    from opstui.store.schema import open_database

    db = open_database(db_path, unix_user="bench")
    samples: list[tuple[float, float]] = []
    errors = 0
    first_error = ""
    n = 0
    while not os.path.exists(stop_file):
        t0 = time.perf_counter()
        try:
            svc.comment(db, "DESK-1", f"writer note {n}")
        except Exception as exc:  # noqa: BLE001  (counted and reported)
            errors += 1
            first_error = first_error or f"{type(exc).__name__}: {exc}"
        t1 = time.perf_counter()
        samples.append((time.time(), t1 - t0))
        n += 1
        time.sleep(0.02)
    Path(out_file).write_text(
        json.dumps({"samples": samples, "errors": errors, "first_error": first_error})
    )


def _waits(samples: list[list[float]], start: float, end: float) -> dict[str, float]:
    waits = sorted(w for t, w in samples if start <= t <= end)
    if not waits:
        return {"n": 0, "max_s": 0.0, "p99_s": 0.0, "median_s": 0.0}
    return {
        "n": len(waits),
        "max_s": round(waits[-1], 3),
        "p99_s": round(waits[min(len(waits) - 1, int(len(waits) * 0.99))], 3),
        "median_s": round(statistics.median(waits), 4),
    }


def one_round(log: Path, workdir: Path, baseline_s: float) -> dict[str, Any]:
    db = workdir / "import.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    setup = workdir / "setup.toml"
    setup.write_text(SETUP)
    opstui = [sys.executable, "-m", "opstui", "--db", str(db)]
    subprocess.run([*opstui, "init"], check=True, capture_output=True, cwd=ROOT)
    subprocess.run([*opstui, "load", str(setup)], check=True, capture_output=True, cwd=ROOT)
    stop = workdir / "stop"
    stop.unlink(missing_ok=True)
    out = workdir / "writer.json"
    writer = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.import_log", "--writer", str(db), str(stop), str(out)],
        cwd=ROOT,
    )
    time.sleep(baseline_s)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    run = subprocess.run(
        [*opstui, "import", "servicenow", str(log), "--tz", "Europe/Amsterdam", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    t1 = time.time()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    time.sleep(0.5)
    stop.write_text("")
    writer.wait(timeout=60)
    if run.returncode != 0:
        raise SystemExit(f"import failed: {run.stderr[-2000:]}")
    result = json.loads(run.stdout)
    data = json.loads(out.read_text())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "import_s": round(t1 - t0, 2),
        "import_cpu_s": round(cpu, 2),
        "rows": result["rows"],
        "items": result["created"],
        "batches": result["batches"],
        "writer_alone": _waits(data["samples"], 0, t0),
        "writer_during_import": _waits(data["samples"], t0, t1),
        "writer_errors": data["errors"],
        "writer_first_error": data.get("first_error", ""),
    }


def csv_floor(log: Path) -> tuple[float, float]:
    """Wall and CPU seconds of reading the file with the csv module alone."""
    t0, c0 = time.perf_counter(), time.process_time()
    with open(log, newline="", encoding="utf-8") as fh:
        for _row in csv.reader(fh):
            pass
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--writer":
        writer_main(*sys.argv[2:5])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--incidents", type=int, default=25_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--baseline-seconds", type=float, default=3.0)
    ap.add_argument("--dir", default=str(Path(tempfile.gettempdir()) / "opstui-bench"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    workdir = Path(args.dir)
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"incident_event_log-{args.incidents}.csv"
    if not log.exists():
        generate(log, args.incidents)
    rounds = []
    floors = []
    for _ in range(args.rounds):
        floors.append(csv_floor(log))
        rounds.append(one_round(log, workdir, args.baseline_seconds))
    med = statistics.median(r["import_s"] for r in rounds)
    med_cpu = statistics.median(r["import_cpu_s"] for r in rounds)
    worst_wait = max(r["writer_during_import"]["max_s"] for r in rounds)
    alone_wait = max(r["writer_alone"]["max_s"] for r in rounds)
    floor = statistics.median(f[0] for f in floors)
    floor_cpu = statistics.median(f[1] for f in floors)
    rows = rounds[0]["rows"]
    data = {
        "machine": machine_info(),
        "incidents": args.incidents,
        "rows": rows,
        "rounds": rounds,
        "median_import_s": med,
        "median_import_cpu_s": med_cpu,
        "csv_read_floor_s": round(floor, 3),
        "csv_read_floor_cpu_s": round(floor_cpu, 3),
        "import_cpu_vs_csv_cpu": round(med_cpu / floor_cpu, 1) if floor_cpu else None,
        "import_vs_csv_floor": round(med / floor, 1) if floor else None,
        "rows_per_s": round(rows / med),
        "worst_writer_wait_s": worst_wait,
        "writer_wait_alone_s": alone_wait,
        "import_ok": med < IMPORT_TARGET_S,
        "writer_errors": sum(r["writer_errors"] for r in rounds),
        # a writer whose changes fail measures nothing: its waits only count when it wrote
        "wait_ok": worst_wait < WAIT_TARGET_S and not any(r["writer_errors"] for r in rounds),
    }
    text = "\n".join(
        [
            machine_line(data["machine"]),
            f"{args.incidents} incidents, {rows} rows, {args.rounds} rounds",
            table(
                [
                    "round",
                    "import s",
                    "cpu s",
                    "batches",
                    "wait alone max/p99 s",
                    "wait during max/p99 s",
                ],
                [
                    [
                        i + 1,
                        r["import_s"],
                        r["import_cpu_s"],
                        r["batches"],
                        f"{r['writer_alone']['max_s']}/{r['writer_alone']['p99_s']}",
                        f"{r['writer_during_import']['max_s']}/{r['writer_during_import']['p99_s']}",
                    ]
                    for i, r in enumerate(rounds)
                ],
            ),
            f"median import {med:.1f} s (cpu {med_cpu:.1f} s), {rows / med:,.0f} rows/s; "
            f"baseline csv read alone {floor:.2f} s, cpu {floor_cpu:.2f} s (import cpu = "
            f"{med_cpu / floor_cpu:.0f}x)  "
            f"[target < {IMPORT_TARGET_S:.0f} s: {verdict(med < IMPORT_TARGET_S)}]",
            f"longest concurrent-writer wait {worst_wait:.3f} s during import vs "
            f"{alone_wait:.3f} s alone  [target < {WAIT_TARGET_S:.0f} s: {verdict(data['wait_ok'])}]",
            f"concurrent writer: {data['writer_errors']} failed changes"
            + "".join(
                f"; round {i + 1}: {r['writer_first_error']}"
                for i, r in enumerate(rounds)
                if r["writer_errors"]
            ),
        ]
    )
    report("import_log", data, text, args.json)


if __name__ == "__main__":
    main()
