"""CLI start-up stays light: command modules import services and SQLAlchemy lazily.

Every ``opstui`` command used to cost ~1 s of imports before doing anything, because
click registers all command modules and they imported the services eagerly.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from opstui.store.engine import Database

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


WRITE_PROBE = """
import sys
import opstui.services.items, opstui.store.schema
print(",".join(sorted(m for m in sys.modules if m.startswith("sqlalchemy.dialects.postgresql"))))
"""


def test_the_write_path_on_sqlite_does_not_load_the_postgresql_dialect() -> None:
    """The partial indexes' ``postgresql_where`` is added only when a PostgreSQL engine is
    made (domain.models.add_postgresql_options): importing the dialect cost every SQLite
    command (``comment``, ``assign``) ~15% of its start-up."""
    out = subprocess.run(
        [sys.executable, "-c", WRITE_PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


@pytest.mark.both_engines
def test_partial_indexes_are_partial_on_both_engines(db: Database) -> None:
    from opstui.domain import models

    partial = [
        i.name
        for i in models.Item.__table__.indexes
        if i.dialect_options["sqlite"]["where"] is not None
    ]
    assert len(partial) == 4
    names = ", ".join(f"'{n}'" for n in partial)
    with db.read() as conn:
        if db.dialect == "postgresql":
            defs = dict(
                conn.exec_driver_sql(
                    f"SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN ({names})"
                ).all()
            )
        else:
            defs = dict(
                conn.exec_driver_sql(
                    f"SELECT name, sql FROM sqlite_master WHERE name IN ({names})"
                ).all()
            )
    assert sorted(defs) == sorted(partial)
    for name, sql in defs.items():
        assert "WHERE" in sql.upper() and "done" in sql, (name, sql)
