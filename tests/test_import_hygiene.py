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
