"""The ``opstui`` command line.  Same services as the UI; ``--json`` for scripts.

User errors print one line on stderr and exit 1; usage errors exit 2; never a traceback.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from ..errors import OpsError
from .common import AppState, OpsGroup, fail

#: Every top-level command, and the module (in this package) that defines it.  Each module
#: defines COMMANDS, a list of click commands; one module per feature area so that
#: features do not edit each other's files.  A module is imported only when one of its
#: commands runs (``--help`` and completion import them all): ``opstui comment`` used to
#: import all fifteen, ~15 ms of every start.  tests/test_cli_startup.py checks this table
#: against the modules' COMMANDS, so a new command must be named here.
COMMAND_INDEX = {
    "init": "admin",
    "demo": "admin",
    "load": "admin",
    "people": "admin",
    "queues": "admin",
    "events": "admin",
    "add": "items",
    "ls": "items",
    "show": "items",
    "mv": "items",
    "assign": "items",
    "comment": "items",
    "edit": "items",
    "block": "items",
    "sla": "sla",
    "run-due": "automation",
    "processes": "automation",
    "approvals": "automation",
    "approve": "automation",
    "reject": "automation",
    "capacity": "review",
    "review": "review",
    "doctor": "doctor",
    "config": "settings",
    "themes": "settings",
    "log": "forecast",
    "forecast": "forecast",
    "migrate": "migrate",
    "transfer": "transfer",
    "import": "importing",
    "serve": "serve",
    "hooks": "outbox",
    "outbox": "outbox",
    "deliver": "outbox",
    "ingest": "inbound",
    "audit": "audit",
}
COMMAND_MODULES = tuple(dict.fromkeys(COMMAND_INDEX.values()))


class CommandIndexGroup(OpsGroup):
    """The top-level group: lists the commands in :data:`COMMAND_INDEX` and imports a
    command's module the first time the command is looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMAND_INDEX})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_INDEX:
            load_commands(COMMAND_INDEX[cmd_name])
        return self.commands.get(cmd_name)


def load_commands(module_name: str) -> None:
    """Import one command module and register its commands on :data:`main`."""
    import importlib

    module = importlib.import_module(f"{__name__}.{module_name}")
    for command in module.COMMANDS:
        main.add_command(command)


@click.group(
    cls=CommandIndexGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--db", "db_path", metavar="PATH", help="Database file (default: $OPSTUI_DB, config, data dir)."
)
@click.option(
    "--now",
    "now",
    metavar="ISO-TIME",
    help="Pretend the current time is this (what-if views, tests).",
)
@click.option("--read-only", "read_only", is_flag=True, help="Open the database read-only.")
@click.option("--theme", metavar="NAME", help="Theme for the dashboard.")
@click.option("--compact", is_flag=True, default=None, help="Compact layout for a small pane.")
@click.option("--poll", is_flag=True, help="Poll the database instead of watching the file.")
@click.option(
    "--view",
    type=click.Choice(["dashboard", "review", "wall"]),
    default="dashboard",
    help="Open on the dashboard, the weekly review or the wall view (big screen, no keys).",
)
@click.option(
    "--web-user", "web_user", hidden=True, help="Set by `opstui serve` for a browser tab."
)
@click.version_option(package_name="opstui", prog_name="opstui")
@click.pass_context
def main(
    ctx: click.Context,
    db_path: str | None,
    now: str | None,
    read_only: bool,
    theme: str | None,
    compact: bool | None,
    poll: bool,
    view: str,
    web_user: str | None,
) -> None:
    """opstui: live queues, owners, SLA countdowns and capacity for small ops teams.

    Run without a command to open the dashboard.
    """
    ctx.obj = AppState.from_options(db_path, now, read_only, theme, compact, poll)
    ctx.obj.view, ctx.obj.web_user = view, web_user
    ctx.call_on_close(ctx.obj.close)
    if ctx.invoked_subcommand is None:
        from .dashboard import open_dashboard

        open_dashboard(ctx.obj)


def console_main() -> None:
    """The ``opstui`` program (the console script and ``python -m opstui``).

    Runs :data:`main`; then, on the way out, collects the garbage the command left (its
    finalizers run as before) and freezes what is still alive, so the interpreter's exit
    does not walk it all again.  What is alive by then is the imported code (SQLAlchemy's
    alone is ~10^5 objects): walking and freeing it took 70-110 ms after every write, a
    quarter of ``opstui comment``.  The command's database is already closed
    (:meth:`AppState.close`), so the file is left exactly as before.  Only this
    entry point does it: code that calls :data:`main` in its own process is unaffected.
    """
    import gc

    try:
        main(prog_name="opstui")
    finally:
        gc.collect()
        gc.freeze()


def run(argv: list[str] | None = None) -> Any:
    return main.main(args=argv, prog_name="opstui", standalone_mode=True)


__all__ = ["main", "console_main", "run", "fail", "OpsError", "os", "sys"]
