"""Time from process start to the dashboard's first full paint (headless), in this process.

    python benchmarks/paint.py DB [--size 120x40]

Prints one JSON line: ``first_paint_s`` counts from the interpreter's start (imports
included: that is what a user waits for), ``app_s`` from the moment the app starts running,
plus peak RSS.  "Full paint" means: the dashboard's screen is up, no worker is still
running, no loading indicator is shown, and the screen has rendered since.

It patches ``textual.app.App.run`` to run headless with an auto-pilot, so it measures the
real ``opstui`` start path (``python -m opstui --db DB``) without knowing the app's class.
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


def main() -> int:
    args = sys.argv[1:]
    size = (120, 40)
    if "--size" in args:
        i = args.index("--size")
        w, h = args[i + 1].split("x")
        size = (int(w), int(h))
        del args[i : i + 2]
    db = args[0]
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


if __name__ == "__main__":
    sys.exit(main())
