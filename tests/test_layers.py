"""The import contracts in pyproject.toml ([tool.importlinter]) hold, and they catch a
breach: a cycle planted in a copy of the package (as a function-level import, which
counts like any other) and an upward import both make ``lint-imports`` fail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [str(LINT), "--no-cache", str(cwd / "pyproject.toml")],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "opstui", tmp_path / "opstui", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path / "opstui"


def test_import_contracts_hold() -> None:
    r = _lint(ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout


def test_a_planted_cycle_breaks_the_contract(tmp_path: Path) -> None:
    pkg = _copy(tmp_path)
    items = pkg / "services" / "items.py"
    # transitions imports items; a lazy import back closes the circle
    items.write_text(
        items.read_text() + "\n\ndef _planted() -> None:\n    from . import transitions  # noqa\n"
    )
    r = _lint(tmp_path, pythonpath=tmp_path)
    assert r.returncode != 0
    assert "no import cycles between the modules of any package BROKEN" in r.stdout
    assert "- .items -> .transitions (1 import)" in r.stdout


def test_an_upward_import_breaks_the_layers(tmp_path: Path) -> None:
    pkg = _copy(tmp_path)
    schema = pkg / "store" / "schema.py"
    schema.write_text(schema.read_text() + "\nfrom ..services import items  # noqa\n")
    r = _lint(tmp_path, pythonpath=tmp_path)
    assert r.returncode != 0
    assert "opstui.store.schema -> opstui.services.items" in r.stdout
