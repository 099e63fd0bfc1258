"""Presence: what 20 open terminals, each with an item open, cost while nothing happens.

    python -m benchmarks.presence                 # 20 terminals, 20 s
    python -m benchmarks.presence --terminals 20 --seconds 20

Each terminal is a process running the app's presence loop (opstui.sync.presence, the
code ``OpsApp._presence_loop`` runs: announce one item, then look at the presence
directory every 2 s and compare).  Baseline: the same processes, same wake-ups, no
presence (they announce nothing and look at nothing).  Reported: CPU per process as a
share of one core (median over processes, from /proc utime+stime), and the files written
into the presence directory during the idle period (the target is none) and into the
database directory (none: presence never touches the database).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import ROOT, machine_info, machine_line, report, table, verdict

CHILD = r"""
import os, sys, time, threading
from opstui.sync.presence import Presence, by_key
db, key, mode, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
p = Presence(db, "u%d" % os.getpid())
if mode == "presence":
    p.set(key)
print("ready", flush=True)
sys.stdin.readline()  # go: every process starts its idle period together
stop = threading.Event()
end = time.monotonic() + seconds
last = None
while time.monotonic() < end:
    if mode == "presence":
        now = by_key(p.others())
        if now != last:
            last = now
    stop.wait(2.0)
p.close()
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(mode: str, n: int, seconds: float, workdir: Path) -> dict[str, float]:
    db = workdir / f"{mode}.db"
    db.touch()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(db), f"SUP-{i % 5}", mode, str(seconds)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(n)
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    start_cpu = {p.pid: cpu_seconds(p.pid) for p in procs}
    pdir = db.with_name(db.name + ".presence")
    before = {f.name: f.stat().st_mtime_ns for f in pdir.iterdir()} if pdir.exists() else {}
    db_before = {f.name: f.stat().st_mtime_ns for f in workdir.iterdir() if f.is_file()}
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    t0 = time.monotonic()
    time.sleep(seconds - 0.5)
    used = [cpu_seconds(p.pid) - start_cpu[p.pid] for p in procs]
    elapsed = time.monotonic() - t0
    after = {f.name: f.stat().st_mtime_ns for f in pdir.iterdir()} if pdir.exists() else {}
    db_after = {f.name: f.stat().st_mtime_ns for f in workdir.iterdir() if f.is_file()}
    for p in procs:
        p.wait(30)
    shares = [100.0 * u / elapsed for u in used]
    return {
        "median_pct_core": statistics.median(shares),
        "max_pct_core": max(shares),
        "total_pct_core": sum(shares),
        "presence_files_written": sum(1 for k, v in after.items() if before.get(k) != v),
        "db_dir_files_written": sum(1 for k, v in db_after.items() if db_before.get(k) != v),
    }


def per_look_us(n: int, workdir: Path) -> float:
    """Median CPU microseconds of one look at a directory holding ``n`` live entries."""
    from opstui.sync.presence import Presence, by_key

    db = workdir / "look.db"
    others = []
    for i in range(n):
        p = Presence(db, f"u{i}")
        p.file = p.dir / f"{p.host}-{os.getpid()}-{i}.json"  # live pid: kept
        p.set(f"SUP-{i % 5}")
        others.append(p)
    me = Presence(db, "me")
    me.file = me.dir / "me.json"
    samples = []
    for _ in range(200):
        t = time.process_time()
        by_key(me.others())
        samples.append((time.process_time() - t) * 1e6)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--terminals", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = run("baseline", args.terminals, args.seconds, Path(tmp))
        pres = run("presence", args.terminals, args.seconds, Path(tmp))
        look = per_look_us(args.terminals, Path(tmp))
    extra = pres["median_pct_core"] - base["median_pct_core"]
    look_pct = look / 2.0 / 1e4  # one look every 2 s, as a share of a core
    ok = (
        look_pct < 0.05
        and pres["presence_files_written"] == 0
        and pres["db_dir_files_written"] == 0
    )
    rows = [
        (
            "baseline (no presence)",
            base["median_pct_core"],
            base["max_pct_core"],
            base["total_pct_core"],
            base["presence_files_written"],
        ),
        (
            "presence",
            pres["median_pct_core"],
            pres["max_pct_core"],
            pres["total_pct_core"],
            pres["presence_files_written"],
        ),
    ]
    info = machine_info()
    text = "\n".join(
        [
            machine_line(info),
            f"{args.terminals} terminals, each with an item open, {args.seconds:g} s idle",
            table(("run", "median % core", "max % core", "sum % core", "files written"), rows),
            f"one look at {args.terminals} entries: {look:.0f} us CPU (median of 200) = "
            f"{look_pct:.4f}% of a core per terminal at one look per 2 s",
            f"measured: presence adds {extra:.3f} points of a core per terminal (median; "
            f"/proc resolution {100 / os.sysconf('SC_CLK_TCK') / args.seconds:.3f}); "
            f"writes while idle: {pres['presence_files_written']} presence files, "
            f"{pres['db_dir_files_written']} database files  {verdict(ok)}",
        ]
    )
    data = {
        "machine": info,
        "terminals": args.terminals,
        "seconds": args.seconds,
        "baseline": base,
        "presence": pres,
        "extra_median_pct_core": extra,
        "ok": ok,
    }
    report("presence", data, text, args.json)


if __name__ == "__main__":
    main()
