"""The ``opstui`` command line.  Same services as the UI; ``--json`` for scripts.

User errors print one line on stderr and exit 1; usage errors exit 2; never a traceback.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from ..errors import OpsError
from .common import AppState, fail, opstui_group


@opstui_group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
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
    if ctx.invoked_subcommand is None:
        from .dashboard import open_dashboard

        open_dashboard(ctx.obj)


#: Command modules: each defines COMMANDS, a list of click commands.  One module per
#: feature area so that features do not edit each other's files.
COMMAND_MODULES = (
    "admin",
    "items",
    "sla",
    "automation",
    "review",
    "doctor",
    "settings",
    "forecast",
    "migrate",
    "transfer",
    "importing",
    "serve",
    "outbox",
    "inbound",
    "audit",
)


def _register() -> None:
    import importlib

    for name in COMMAND_MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        for command in module.COMMANDS:
            main.add_command(command)


_register()


def run(argv: list[str] | None = None) -> Any:
    return main.main(args=argv, prog_name="opstui", standalone_mode=True)


__all__ = ["main", "run", "fail", "OpsError", "os", "sys"]
