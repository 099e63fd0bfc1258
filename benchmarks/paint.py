"""Time from process start to the dashboard's first full paint (headless).

    python benchmarks/paint.py DB [--size 120x40]            # one start, in this process
    python benchmarks/paint.py DB --runs 9 [--json]          # 9 fresh starts + baselines
    python benchmarks/paint.py --bare [--size 120x40]        # one start of a bare Textual app

One start prints one JSON line: ``first_paint_s`` counts from the interpreter's start
(imports included: that is what a user waits for), ``app_s`` from the moment the app starts
running, plus peak RSS.  "Full paint" means: the dashboard's screen is up, no worker is
still running, no loading indicator is shown, and the screen has rendered since.

It patches ``textual.app.App.run`` to run headless with an auto-pilot, so it measures the
real ``opstui`` start path (``python -m opstui --db DB``) without knowing the app's class.

``--runs N`` starts N fresh processes of each, interleaved round by round (so load from
other work falls on all alike), with bytecode caching on as for a real install: a bare
``python -c pass`` (wall time to exit), a bare Textual app's first paint (one Static, the
same auto-pilot: what any Textual app pays) and the dashboard's first paint.  It prints the
median and minimum of each, the CPU time (user + system of the whole process, from wait4),
the ratios to the baselines and the target (first full paint at 100k items < 0.6 s).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

T0 = time.perf_counter()
try:  # the interpreter started before this line: use the process start time if we can
    with open(f"/proc/{os.getpid()}/stat") as fh:
        _ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as fh:
        _uptime = float(fh.read().split()[0])
    STARTED_AGO = max(0.0, _uptime - _ticks / os.sysconf("SC_CLK_TCK"))
except (OSError, ValueError, IndexError):
    STARTED_AGO = 0.0

ROOT = Path(__file__).resolve().parent.parent
#: Worker groups that run as long as the app does (not part of a paint).
LIFELONG = {"sync"}
sys.path.insert(0, str(ROOT))


TARGET_S = 0.6


def main() -> int:
    args = sys.argv[1:]
    size = (120, 40)
    if "--size" in args:
        i = args.index("--size")
        w, h = args[i + 1].split("x")
        size = (int(w), int(h))
        del args[i : i + 2]
    if "--runs" in args:
        i = args.index("--runs")
        runs = int(args[i + 1])
        del args[i : i + 2]
        as_json = "--json" in args
        args = [a for a in args if a != "--json"]
        return repeat(args[0], runs, size, as_json)
    bare = "--bare" in args
    db = "" if bare else args[0]
    result: dict[str, Any] = {}

    import textual.app
    from textual.widgets import LoadingIndicator

    original_run = textual.app.App.run
    app_started: list[float] = []

    async def pilot(p: Any) -> None:
        app = p.app
        deadline = time.perf_counter() + 60
        quiet = 0
        while time.perf_counter() < deadline:
            await p.pause(0.005)
            # the live-sync watcher runs for the app's lifetime: it is not "loading"
            busy = any(not w.is_finished and w.group not in LIFELONG for w in app.workers)
            loading = bool(app.screen.query(LoadingIndicator)) or any(
                getattr(w, "loading", False) for w in app.screen.walk_children()
            )
            quiet = quiet + 1 if not (busy or loading) else 0
            if quiet >= 2:  # settled, and rendered once more since
                break
        now = time.perf_counter()
        result.update(
            first_paint_s=round(now - T0 + STARTED_AGO, 3),
            app_s=round(now - app_started[0], 3),
            settled=quiet >= 2,
            screen=type(app.screen).__name__,
            widgets=sum(1 for _ in app.screen.walk_children()),
        )
        app.exit()

    def run(self: Any, *a: Any, **kw: Any) -> Any:
        app_started.append(time.perf_counter())
        kw.update(headless=True, auto_pilot=pilot, size=size)
        return original_run(self, *a, **kw)

    textual.app.App.run = run  # type: ignore[method-assign]
    if bare:
        from textual.widgets import Static

        class Bare(textual.app.App[None]):
            def compose(self) -> Any:
                yield Static("first paint")

        Bare().run()
    else:
        from opstui.cli import main as cli

        try:
            cli.main(args=["--db", db], prog_name="opstui", standalone_mode=False)
        except SystemExit:
            pass
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if "first_paint_s" not in result:
        result["error"] = "the dashboard did not start (no App.run)"
    print(json.dumps(result))
    return 0 if "first_paint_s" in result else 1


def _run_cpu(cmd: list[str], env: dict[str, str]) -> tuple[float, float, dict[str, Any]]:
    """(wall s to exit, CPU s from wait4, the JSON line it printed) of one fresh process."""
    import subprocess
    import tempfile

    with tempfile.TemporaryFile() as err:  # a file, not a pipe: a chatty stderr cannot block
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=env, cwd=ROOT)
        out = proc.stdout.read() if proc.stdout else b""
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-500:]
            raise SystemExit(f"{' '.join(cmd)} failed: {tail}")
    lines = out.decode().strip().splitlines()
    return wall, usage.ru_utime + usage.ru_stime, (json.loads(lines[-1]) if lines else {})


def repeat(db: str, runs: int, size: tuple[int, int], as_json: bool) -> int:
    """``runs`` fresh starts of the dashboard and of the two baselines, interleaved."""
    import shutil
    import statistics
    import tempfile

    from benchmarks._common import machine_info, machine_line, report, table, verdict

    work = Path(tempfile.mkdtemp(prefix="opstui-paint-"))
    env = {
        **os.environ,
        "OPSTUI_CONFIG": str(work / "none.toml"),  # no user config, no saved state
        "OPSTUI_STATE": str(work / "state.toml"),
    }
    env.pop("OPSTUI_DB", None)
    # what a user runs has its bytecode cached (the environment here turns it off)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    me = [sys.executable, str(Path(__file__).resolve()), "--size", f"{size[0]}x{size[1]}"]
    kinds: dict[str, list[str]] = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "bare Textual app": [*me, "--bare"],
        "opstui dashboard": [*me, str(Path(db).resolve())],
    }
    for cmd in kinds.values():  # warm the page cache and the bytecode once
        _run_cpu(cmd, env)
    paint: dict[str, list[float]] = {k: [] for k in kinds}
    app: dict[str, list[float]] = {k: [] for k in kinds}
    cpu: dict[str, list[float]] = {k: [] for k in kinds}
    unsettled = 0
    load_before = machine_info()["loadavg"]
    for _ in range(runs):
        for name, cmd in kinds.items():
            wall, used, out = _run_cpu(cmd, env)
            cpu[name].append(used)
            if name == "python -c pass":
                paint[name].append(wall)  # start to exit: nothing to paint
                continue
            paint[name].append(out["first_paint_s"])
            app[name].append(out["app_s"])
            unsettled += not out.get("settled", True)
    info = machine_info()
    shutil.rmtree(work, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in paint.items()}
    rows, results = [], {}
    for name in kinds:
        m, c = med[name], statistics.median(cpu[name])
        target = TARGET_S if name == "opstui dashboard" else None
        results[name] = {
            "first_paint_median_s": round(m, 3),
            "first_paint_min_s": round(min(paint[name]), 3),
            "app_median_s": round(statistics.median(app[name]), 3) if app[name] else None,
            "cpu_median_s": round(c, 3),
            "ratio_to_python": round(m / med["python -c pass"], 1),
            "ratio_to_bare_textual": round(m / med["bare Textual app"], 2),
            "target_s": target,
            "met": None if target is None else m < target,
        }
        rows.append(
            [
                name,
                round(m, 3),
                round(min(paint[name]), 3),
                "-" if not app[name] else round(statistics.median(app[name]), 3),
                round(c, 3),
                round(m / med["python -c pass"], 1),
                round(m / med["bare Textual app"], 2),
                "-" if target is None else f"< {target}",
                "-" if target is None else verdict(m < target),
            ]
        )
    data = {
        "machine": info,
        "loadavg_before": load_before,
        "database": db,
        "runs": runs,
        "size": f"{size[0]}x{size[1]}",
        "unsettled_runs": unsettled,
        "starts": results,
    }
    text = f"first full paint  ({machine_line(info)})\n"
    text += (
        f"{Path(db).name}, {runs} fresh starts of each, interleaved; load before {load_before}\n\n"
    )
    text += table(
        [
            "start",
            "median s",
            "min s",
            "app s",
            "CPU s",
            "x python",
            "x bare Textual",
            "target s",
            "",
        ],
        rows,
    )
    text += "\n\nfirst paint counts from the process start (python -c pass: to its exit); app s"
    text += "\nfrom App.run; CPU is user + system of the whole process, exit included"
    if unsettled:
        text += f"\n{unsettled} start(s) did not settle within 60 s"
    report("paint", data, text, as_json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
