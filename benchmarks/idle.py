"""Idle: CPU and terminal bytes of an open dashboard with nothing changing, through a pty.

    python -m benchmarks.idle                    # demo database, 60 s
    python -m benchmarks.idle --db FILE --seconds 60 --size 120x40

Starts ``python -m opstui --db FILE`` on a pseudo-terminal of the given size, waits until
its output settles (first paint), then for ``--seconds`` counts the CPU time the process
uses (utime+stime from /proc, threads included) and the bytes it writes to the terminal.
SLA countdowns keep ticking on screen, so some output is expected; the target is under
0.3% of one core.  The same-run baseline is a bare Textual app that redraws one line (a
clock) every second, measured the same way (``--no-baseline`` skips it).
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

CPU_TARGET = 0.3  # percent of one core

#: The baseline: a bare Textual app redrawing one line every second.
BARE_APP = """
from datetime import datetime
from textual.app import App
from textual.widgets import Static

class Bare(App):
    def compose(self):
        yield Static(id="clock")

    def on_mount(self):
        self.set_interval(1.0, self.tick)
        self.tick()

    def tick(self):
        self.query_one(Static).update(datetime.now().strftime("%H:%M:%S"))

Bare().run()
"""


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


def measure(
    cmd: list[str], seconds: float, size: tuple[int, int], settle: float, warmup: float = 10.0
) -> dict[str, Any]:
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
    startup_bytes += _drain(fd, warmup)  # start-up work that ends later (housekeeping, sync)
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
        "--warmup", type=float, default=10.0, help="seconds after first paint before measuring"
    )
    ap.add_argument(
        "--cmd",
        nargs=argparse.REMAINDER,
        help="run this instead of 'opstui --db DB' (harness check), e.g. --cmd python -m opstui --db X events --follow",
    )
    ap.add_argument("--no-baseline", action="store_true", help="skip the bare Textual app")
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
    bare_cmd = [sys.executable, "-c", BARE_APP]
    runs, bare_runs = [], []
    for _ in range(args.rounds):  # alternate, so load from other work falls on both
        if not args.no_baseline:
            bare_runs.append(measure(bare_cmd, args.seconds, (w, h), args.settle, args.warmup))
        runs.append(measure(cmd, args.seconds, (w, h), args.settle, args.warmup))
    import statistics

    cpu = statistics.median(r["cpu_percent_of_core"] for r in runs)
    bpm = statistics.median(r["bytes_per_minute"] for r in runs)
    bare = statistics.median(r["cpu_percent_of_core"] for r in bare_runs) if bare_runs else None
    data = {
        "machine": info,
        "command": cmd[1:],
        "size": args.size,
        "seconds": args.seconds,
        "target_cpu_percent": CPU_TARGET,
        "median_cpu_percent": cpu,
        "median_bytes_per_minute": bpm,
        "baseline": "bare Textual app redrawing one line every second",
        "baseline_median_cpu_percent": bare,
        "ratio_to_baseline": round(cpu / bare, 2) if bare else None,
        "runs": runs,
        "baseline_runs": bare_runs,
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
    if bare is not None:
        ratio = f"{cpu / bare:.2f}x" if bare else "n/a"
        text += f"\nbaseline (bare Textual app, one line a second): {bare:.3f}% of a core; ratio {ratio}"
    report("idle", data, text, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
