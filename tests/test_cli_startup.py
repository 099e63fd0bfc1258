"""CLI start-up stays light: command modules import services and SQLAlchemy lazily,
and a command imports only its own command module (cli.COMMAND_INDEX).

Every ``opstui`` command used to cost ~1 s of imports before doing anything, because
click registers all command modules and they imported the services eagerly.
"""

from __future__ import annotations

import importlib
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from opstui.store.engine import Database
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import sys
import click
import opstui.cli as cli
heavy = sorted(
    m for m in sys.modules
    if m.split(".")[0] in ("sqlalchemy", "sqlmodel", "textual")
    or m.startswith(("opstui.services", "opstui.store", "opstui.domain.models", "opstui.ui"))
)
print(",".join(heavy))
print(",".join(m for m in sys.modules if m.startswith("opstui.cli.") and m != "opstui.cli.common"))
print(",".join(cli.main.list_commands(click.Context(cli.main))))
"""


def _probe() -> tuple[list[str], list[str], list[str]]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    heavy = [m for m in out[0].split(",") if m]
    command_modules = [m for m in out[1].split(",") if m]
    return heavy, command_modules, out[2].split(",")


def test_registering_commands_imports_nothing_heavy() -> None:
    heavy, command_modules, commands = _probe()
    assert heavy == [], f"importing opstui.cli pulled in {heavy[:8]}"
    assert command_modules == [], f"importing opstui.cli imported {command_modules}"
    for name in ("add", "ls", "show", "mv", "assign", "load", "people", "sla", "doctor"):
        assert name in commands


def test_the_command_index_names_every_command_of_every_module() -> None:
    """cli.COMMAND_INDEX (what lets a command import only its own module) agrees with
    the COMMANDS each command module defines: a command added to a module but not to the
    index, or a module not in the index, fails here."""
    import opstui.cli as cli

    defined: dict[str, str] = {}
    commands: dict[str, click.Command] = {}
    for info in pkgutil.iter_modules(cli.__path__):
        module = importlib.import_module(f"opstui.cli.{info.name}")
        for command in getattr(module, "COMMANDS", ()):
            assert command.name not in defined, f"{command.name} defined twice"
            defined[command.name] = info.name
            commands[command.name] = command
    assert defined == cli.COMMAND_INDEX
    ctx = click.Context(cli.main)
    assert cli.main.list_commands(ctx) == sorted(defined)
    for name, command in commands.items():
        assert cli.main.get_command(ctx, name) is command


def test_help_lists_every_registered_command() -> None:
    _heavy, _modules, commands = _probe()
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


#: Never imported by ``comment`` or ``assign`` on an SQLite file given with ``--db`` (no
#: config file): the dashboard, the web server, the sync watcher, hook delivery, the SLA
#: calendar and process-trigger libraries, the PostgreSQL driver, other command modules,
#: and what only a config file or a default location needs.
NOT_FOR_WRITES = (
    "textual",
    "rich",
    "watchfiles",
    "holidays",
    "croniter",
    "dateutil",
    "plotext",
    "textual_plotext",
    "psycopg",
    "aiohttp",
    "textual_serve",
    "jsonschema",
    "tomllib",
    "platformdirs",
    "difflib",
    "sqlalchemy.dialects.postgresql",
    "opstui.ui",
    "opstui.web",
    "opstui.sync",
    "opstui.importers",
    "opstui.services.outbox",
    "opstui.services.processes",
    "opstui.services.review",
    "opstui.services.forecast",
)

RUN_PROBE = """
import runpy, sys
sys.argv = ["opstui", *sys.argv[1:]]
try:
    runpy.run_module("opstui", run_name="__main__")
except SystemExit as exc:
    assert not exc.code, exc.code
print(",".join(sorted(sys.modules)))
"""


@pytest.mark.parametrize(
    "args", [("comment", "SUP-1", "on it"), ("assign", "SUP-1", "alice"), ("assign", "SUP-1")]
)
def test_comment_and_assign_import_only_what_they_use(
    args: tuple[str, ...], sample_db_file: Path, tmp_path: Path
) -> None:
    db = tmp_path / "copy.db"
    shutil.copyfile(sample_db_file, db)
    if args == ("assign", "SUP-1"):
        args = ("assign", "SUP-1", "--none")
    r = subprocess.run(
        [sys.executable, "-c", RUN_PROBE, "--db", str(db), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr[-800:]
    loaded = r.stdout.strip().splitlines()[-1].split(",")
    assert "opstui.services.items" in loaded  # the probe ran the real command
    wrong = [
        m
        for m in loaded
        if any(m == name or m.startswith(name + ".") for name in NOT_FOR_WRITES)
        or (m.startswith("opstui.cli.") and m not in ("opstui.cli.common", "opstui.cli.items"))
    ]
    assert wrong == [], f"opstui {args[0]} imported {wrong[:10]}"


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


def test_a_write_closes_the_database_before_the_program_exits(
    sample_db_file: Path, tmp_path: Path
) -> None:
    """console_main skips the interpreter's walk over the imported code on exit; the
    command's database is closed first (AppState.close), so SQLite checkpoints and removes
    the -wal file as the last connection closes, as it always did, and exit codes hold."""
    db = tmp_path / "copy.db"
    shutil.copyfile(sample_db_file, db)
    for args, code in (
        (("comment", "SUP-1", "closing"), 0),
        (("assign", "SUP-1", "alice"), 0),
        (("assign", "SUP-1", "no-such-person"), 1),
    ):
        r = run_cli(*args, db=db)
        assert r.returncode == code, r.stderr
        assert not (tmp_path / "copy.db-wal").exists(), args
    r = run_cli("show", "SUP-1", db=db)
    assert "closing" in r.stdout and "owner alice" in r.stdout


def test_only_the_program_entry_point_freezes_the_heap() -> None:
    """Code that runs the click group in its own process (tests, an embedding tool) keeps
    its garbage collector as it was: only console_main freezes on the way out."""
    code = (
        "import gc\n"
        "from opstui.cli import main\n"
        "try:\n"
        "    main(['--help'], prog_name='opstui')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(gc.get_freeze_count())\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "0"
    assert 'opstui = "opstui.cli:console_main"' in (ROOT / "pyproject.toml").read_text()
