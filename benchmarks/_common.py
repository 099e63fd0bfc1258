"""Shared helpers for the benchmark scripts: machine facts, timing, tables, JSON results.

Every script prints a plain table and a JSON document (``--json`` prints only the JSON),
and saves the JSON under ``benchmarks/results/<name>-<UTC time>.json``.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"

if str(ROOT) not in sys.path:  # run as a plain script: make ``opstui`` importable
    sys.path.insert(0, str(ROOT))


def machine_info() -> dict[str, Any]:
    """CPU count, SQLite and Python versions, load average: what every result carries."""
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    sa_version = sqlalchemy.__version__
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sa_version,
        "loadavg": load,
    }


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def time_call(fn: Callable[[], Any], repeat: int = 7, warmup: int = 1) -> dict[str, float]:
    """Run ``fn`` ``warmup + repeat`` times; return median/min/max in milliseconds."""
    for _ in range(warmup):
        fn()
    samples = []
    cpu = []
    for _ in range(repeat):
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    out = summarize(samples)
    # CPU time of this process: on a shared, loaded machine wall time also counts the
    # time spent waiting for a core; CPU time does not.
    out["cpu_median"] = round(statistics.median(cpu), 3)
    return out


def summarize(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {
        "median": round(statistics.median(ordered), 3),
        "min": round(ordered[0], 3),
        "max": round(ordered[-1], 3),
        "p95": round(p95, 3),
        "n": len(ordered),
    }


def fmt(value: Any) -> str:
    if isinstance(value, float):
        if value != value:
            return "n/a"
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return "-" if value is None else str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    cells = [[fmt(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, v in enumerate(row):
            widths[i] = max(widths[i], len(v))
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    for row in cells:
        out.append(
            "  ".join(
                (v.rjust(w) if _numeric(v) else v.ljust(w))
                for v, w in zip(row, widths, strict=True)
            )
        )
    return "\n".join(out)


def _numeric(text: str) -> bool:
    return bool(text) and (text[0].isdigit() or (text[0] == "-" and text[1:2].isdigit()))


def machine_line(info: dict[str, Any]) -> str:
    return (
        f"{info['date']}  {info['cpu_count']} CPUs ({info['cpu_model'] or '?'})  "
        f"Python {info['python']}  SQLite {info['sqlite']}  load {info['loadavg']}"
    )


def save(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    latest = RESULTS / f"{name}-latest.json"
    latest.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path


def report(name: str, data: dict[str, Any], text: str, as_json: bool) -> None:
    """Print the table (unless ``as_json``) and the JSON, and save the JSON."""
    path = save(name, data)
    if as_json:
        print(json.dumps(data, indent=2, default=str))
        return
    print(text)
    print()
    print(json.dumps(data, indent=2, default=str))
    print(f"\nsaved {path.relative_to(ROOT)}", file=sys.stderr)


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISS"


# --- PostgreSQL beside SQLite -------------------------------------------------------------

#: Server the benchmarks make their scratch databases on (a role that may CREATE DATABASE).
PG_ADMIN_URL = os.environ.get("OPSTUI_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def pg_create(name_hint: str) -> str:
    """A fresh empty database on the benchmark server; returns its URL."""
    import uuid

    import psycopg

    name = f"opstui_bench_{name_hint}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return PG_ADMIN_URL.rpartition("/")[0] + "/" + name


def pg_drop(url: str) -> None:
    import psycopg

    name = url.rpartition("/")[2]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def pg_reachable() -> str | None:
    """None when the benchmark server answers, else why not."""
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any reason is reported
        return str(exc).strip().splitlines()[0]
    return None


def server_cpu_s() -> float:
    """CPU seconds used so far by the local PostgreSQL server: its postmaster (with the
    backends that exited, in its children's times) plus every live ``postgres`` process.
    0.0 when there is none on this machine (a remote server's CPU is not ours to count)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        if comm != "postgres" and not comm.startswith("postgres"):
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
        total += (utime + stime + cutime + cstime) / tick
    return total
