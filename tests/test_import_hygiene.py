"""No Textual below ui/: core modules import without it (Harlequin's hygiene test)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts)
    for area in ("domain", "store", "services", "sync")
    for p in (ROOT / "opstui" / area).rglob("*.py")
    if p.name != "__init__.py"
) + ["opstui.config", "opstui.errors", "opstui.paths"]


@pytest.mark.parametrize("module", CORE)
def test_core_module_does_not_import_textual(module: str) -> None:
    code = f"import sys, {module}; bad = [m for m in sys.modules if m == 'textual' or m.startswith('textual.')]; print(bad); sys.exit(1 if bad else 0)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, f"{module} pulls in Textual: {r.stdout} {r.stderr[-500:]}"


#: Not needed before the dashboard's first paint (issue 17: first paint at 100k items):
#: the service layer (the dashboard reads through store and sync), the capacity rules (the
#: panes use domain.figures), the state-file writer, and the libraries of the SLA
#: calendars, process triggers, review charts, PostgreSQL and the web server.
NOT_BEFORE_FIRST_PAINT = (
    "opstui.services",
    "opstui.domain.capacity",
    "tomli_w",
    "holidays",
    "croniter",
    "dateutil",
    "plotext",
    "textual_plotext",
    "psycopg",
    "aiohttp",
    "textual_serve",
)


def test_the_dashboard_modules_import_nothing_the_first_paint_does_not_use() -> None:
    code = (
        "import sys, opstui.cli.dashboard, opstui.ui.app, opstui.ui.screens.main, opstui.ui.themes\n"
        f"names = {NOT_BEFORE_FIRST_PAINT!r}\n"
        "print(sorted(m for m in sys.modules if any(m == n or m.startswith(n + '.') for n in names)))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-500:]
    assert r.stdout.strip() == "[]", f"the dashboard's modules import {r.stdout.strip()}"
