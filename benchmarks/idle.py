"""Idle: CPU and terminal bytes of an open dashboard with nothing changing, through a pty.

    python -m benchmarks.idle                    # demo database, 60 s
    python -m benchmarks.idle --db FILE --seconds 60 --size 120x40

Starts ``python -m opstui --db FILE`` on a pseudo-terminal of the given size, waits until
its output settles (first paint), then for ``--seconds`` counts the CPU time the process
uses (utime+stime from /proc, threads included) and the bytes it writes to the terminal.
SLA countdowns keep ticking on screen, so some output is expected; the target is under
0.5% of one core.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path
from typing import Any

from benchmarks._common import ROOT, loadavg, machine_info, machine_line, report, table, verdict

CPU_TARGET = 0.5  # percent of one core


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    # utime, stime, cutime, cstime (children that were waited for)
    return sum(int(x) for x in fields[11:15]) / ticks


def _drain(fd: int, seconds: float) -> int:
    """Read whatever the app writes for ``seconds``; return the byte count."""
    total = 0
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return total
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                return total
            if not data:
                return total
            total += len(data)


def measure(cmd: list[str], seconds: float, size: tuple[int, int], settle: float) -> dict[str, Any]:
    pid, fd = pty.fork()
    if pid == 0:  # child: the app on the pty
        os.environ.update(
            TERM="xterm-256color",
            COLORTERM="truecolor",
            COLUMNS=str(size[0]),
            LINES=str(size[1]),
            PYTHONPATH=str(ROOT),
        )
        os.chdir(ROOT)
        os.execv(cmd[0], cmd)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    os.kill(pid, signal.SIGWINCH)
    t0 = time.monotonic()
    startup_bytes = 0
    quiet_since = time.monotonic()
    # first paint: output has started and then been quiet for ``settle`` seconds
    while time.monotonic() - t0 < 60:
        n = _drain(fd, 0.25)
        startup_bytes += n
        if n > 200:
            quiet_since = time.monotonic()
        if startup_bytes > 0 and time.monotonic() - quiet_since >= settle:
            break
    started_s = time.monotonic() - t0
    cpu0 = _cpu_seconds(pid)
    w0 = time.monotonic()
    window_bytes = _drain(fd, seconds)
    wall = time.monotonic() - w0
    cpu = _cpu_seconds(pid) - cpu0
    alive = True
    try:
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            _drain(fd, 0.1)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    except ChildProcessError:
        alive = False
    os.close(fd)
    return {
        "startup_s": round(started_s, 2),
        "startup_bytes": startup_bytes,
        "window_s": round(wall, 2),
        "cpu_s": round(cpu, 3),
        "cpu_percent_of_core": round(100 * cpu / wall, 3),
        "bytes_per_minute": round(window_bytes * 60 / wall),
        "alive_at_end": alive,
        "loadavg": loadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="CPU and terminal output of an idle dashboard")
    ap.add_argument("--db", type=Path, help="database (default: a fresh demo database)")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--size", default="120x40")
    ap.add_argument("--settle", type=float, default=3.0, help="quiet seconds that count as painted")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument(
        "--cmd",
        nargs=argparse.REMAINDER,
        help="run this instead of 'opstui --db DB' (harness check), e.g. --cmd python -m opstui --db X events --follow",
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    w, h = (int(x) for x in args.size.split("x"))
    db = args.db
    if db is None and not args.cmd:
        import subprocess

        db = Path(tempfile.mkdtemp(prefix="opstui-idle-")) / "demo.db"
        subprocess.run(
            [sys.executable, "-m", "opstui", "demo", "--path", str(db), "--no-ui"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    cmd = args.cmd or [sys.executable, "-m", "opstui", "--db", str(db)]
    if cmd[0] in ("python", "python3"):
        cmd[0] = sys.executable
    info = machine_info()
    runs = [measure(cmd, args.seconds, (w, h), args.settle) for _ in range(args.rounds)]
    import statistics

    cpu = statistics.median(r["cpu_percent_of_core"] for r in runs)
    bpm = statistics.median(r["bytes_per_minute"] for r in runs)
    data = {
        "machine": info,
        "command": cmd[1:],
        "size": args.size,
        "seconds": args.seconds,
        "target_cpu_percent": CPU_TARGET,
        "median_cpu_percent": cpu,
        "median_bytes_per_minute": bpm,
        "runs": runs,
    }
    rows = [
        [
            i + 1,
            r["startup_s"],
            r["cpu_percent_of_core"],
            r["bytes_per_minute"],
            r["window_s"],
            r["loadavg"][0] if r["loadavg"] else "-",
        ]
        for i, r in enumerate(runs)
    ]
    text = f"idle  ({machine_line(info)})\n{' '.join(cmd[1:])} on a {args.size} pty\n\n"
    text += table(["run", "startup s", "CPU % of a core", "bytes/min", "window s", "load"], rows)
    text += f"\n\nmedian CPU {cpu:.3f}% of a core vs target < {CPU_TARGET}%: {verdict(cpu < CPU_TARGET)}"
    text += f"\nmedian output {bpm:,.0f} bytes/minute"
    report("idle", data, text, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
