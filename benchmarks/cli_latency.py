"""CLI latency: wall time of whole ``opstui`` commands against a bare Python start.

    python -m benchmarks.cli_latency                 # demo database, 15 rounds
    python -m benchmarks.cli_latency --rounds 25 --db FILE

Each round runs every command once, in turn (so load from other work on a shared machine
falls on all of them alike): ``python -c pass`` (the baseline), ``import sqlalchemy`` (a
Python that imports SQLAlchemy and its SQLite dialect and exits as ``opstui`` does, after
``gc.collect(); gc.freeze()``: the floor of any command that writes through the service
layer), ``opstui --help``,
``ls --open``, ``show KEY``, ``sla``, ``comment KEY TEXT`` and ``assign KEY HANDLE``
(alternating between two people, so every assign is a real change).  The writes go to a copy
of the database.  Reported: the median and minimum of each command, its ratio to the
baseline's median, the CPU time (user + system) each used, and the target (reads < 150 ms,
writes < 200 ms median, wall time).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import ROOT, machine_info, machine_line, report, table, verdict

TARGETS_MS = {"ls --open": 150, "show": 150, "sla": 150, "comment": 200, "assign": 200}


def _opstui() -> list[str]:
    """The installed console script next to this Python (what a user runs), else -m."""
    script = Path(sys.executable).with_name("opstui")
    return [str(script)] if script.exists() else [sys.executable, "-m", "opstui"]


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall ms, CPU ms) of one run; CPU (user + system, from wait4) hardly changes with
    load from other work on a shared machine, wall time does."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT
    )
    err = proc.stderr.read() if proc.stderr else b""
    _pid, status, usage = os.wait4(proc.pid, 0)
    took = (time.perf_counter() - t0) * 1000
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {err.decode(errors='replace').strip()}")
    return took, (usage.ru_utime + usage.ru_stime) * 1000


def _pick(db: Path, env: dict[str, str]) -> tuple[str, list[str]]:
    """An open item and two active people to hand it between."""
    import json

    out = subprocess.run(
        [*_opstui(), "--db", str(db), "ls", "--open", "-n", "1", "--json"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    key = json.loads(out)[0]["key"]
    people = subprocess.run(
        [*_opstui(), "--db", str(db), "people", "ls", "--json"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    handles = [p["handle"] for p in json.loads(people) if p.get("active", True)][:2]
    return key, handles


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="wall time of opstui commands vs a bare Python")
    ap.add_argument("--db", type=Path, help="database (default: a fresh demo database)")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="opstui-cli-"))
    env = {**os.environ, "OPSTUI_CONFIG": str(work / "none.toml"), "COLUMNS": "120"}
    env.pop("OPSTUI_DB", None)
    # what a user runs has its bytecode cached: without it every run compiles opstui's
    # modules again (~40 ms of CPU more for --help on these machines)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if args.db is None:
        db = work / "demo.db"
        subprocess.run(
            [*_opstui(), "demo", "--path", str(db), "--no-ui"],
            check=True,
            capture_output=True,
            env=env,
        )
    else:
        db = work / "copy.db"
        shutil.copyfile(args.db, db)
    key, handles = _pick(db, env)
    base = [*_opstui(), "--db", str(db)]
    commands: dict[str, Any] = {
        "python -c pass": lambda i: [sys.executable, "-c", "pass"],
        "import sqlalchemy": lambda i: [
            sys.executable,
            "-c",
            "import gc, sqlalchemy, sqlalchemy.dialects.sqlite; gc.collect(); gc.freeze()",
        ],
        "opstui --help": lambda i: [*_opstui(), "--help"],
        "ls --open": lambda i: [*base, "ls", "--open"],
        "show": lambda i: [*base, "show", key],
        "sla": lambda i: [*base, "sla"],
        "comment": lambda i: [*base, "comment", key, f"benchmark comment {i}"],
        "assign": lambda i: [*base, "assign", key, handles[i % 2]],
    }
    for make in commands.values():  # warm the page cache and the bytecode once
        _run(make(-1), env)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for i in range(args.rounds):
        for name, make in commands.items():
            wall, used = _run(make(i), env)
            samples[name].append(wall)
            cpu[name].append(used)
    info = machine_info()
    shutil.rmtree(work, ignore_errors=True)

    baseline = statistics.median(samples["python -c pass"])
    baseline_cpu = statistics.median(cpu["python -c pass"])
    results: dict[str, Any] = {}
    rows = []
    for name, values in samples.items():
        med = statistics.median(values)
        med_cpu = statistics.median(cpu[name])
        target = TARGETS_MS.get(name)
        results[name] = {
            "median_ms": round(med, 1),
            "min_ms": round(min(values), 1),
            "ratio_to_python": round(med / baseline, 2),
            "cpu_median_ms": round(med_cpu, 1),
            "cpu_ratio_to_python": round(med_cpu / baseline_cpu, 2) if baseline_cpu else None,
            "target_ms": target,
            "met": None if target is None else med < target,
        }
        rows.append(
            [
                name,
                round(med, 1),
                round(min(values), 1),
                round(med / baseline, 1),
                round(med_cpu, 1),
                round(med_cpu / baseline_cpu, 1) if baseline_cpu else "-",
                "-" if target is None else f"< {target}",
                "-" if target is None else verdict(med < target),
            ]
        )
    data = {
        "machine": info,
        "rounds": args.rounds,
        "baseline_median_ms": round(baseline, 1),
        "baseline_cpu_median_ms": round(baseline_cpu, 1),
        "commands": results,
    }
    text = f"cli latency  ({machine_line(info)})\n{args.rounds} rounds, commands interleaved\n\n"
    text += table(
        ["command", "median ms", "min ms", "x python", "CPU ms", "CPU x python", "target ms", ""],
        rows,
    )
    text += "\n\nwall time is what the targets are about; CPU time (user + system of the"
    text += "\ncommand) shows the cost without the queueing for a core on a loaded machine"
    report("cli_latency", data, text, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
