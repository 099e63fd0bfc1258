"""CLI start-up stays light: command modules import services and SQLAlchemy lazily.

Every ``opstui`` command used to cost ~1 s of imports before doing anything, because
click registers all command modules and they imported the services eagerly.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import sys
import opstui.cli as cli
heavy = sorted(
    m for m in sys.modules
    if m.split(".")[0] in ("sqlalchemy", "sqlmodel", "textual")
    or m.startswith(("opstui.services", "opstui.store", "opstui.domain.models", "opstui.ui"))
)
print(",".join(heavy))
print(",".join(sorted(cli.main.commands)))
"""


def _probe() -> tuple[list[str], list[str]]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    heavy = [m for m in out[0].split(",") if m]
    return heavy, out[1].split(",")


def test_registering_commands_imports_nothing_heavy() -> None:
    heavy, commands = _probe()
    assert heavy == [], f"importing opstui.cli pulled in {heavy[:8]}"
    for name in ("add", "ls", "show", "mv", "assign", "load", "people", "sla", "doctor"):
        assert name in commands


def test_help_lists_every_registered_command() -> None:
    _heavy, commands = _probe()
    out = subprocess.run(
        [sys.executable, "-m", "opstui", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    listed = {
        line.split()[0]
        for line in out.stdout.split("Commands:", 1)[1].splitlines()
        if line.startswith("  ") and line.split()
    }
    assert set(commands) <= listed
