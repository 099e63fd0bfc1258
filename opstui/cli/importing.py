"""``opstui import servicenow|jira|csv FILE``: bring another tool's work in."""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .common import AppState, emit_json, fail, opstui_group, pass_state

#: How many refused rows are printed (all of them go to --errors FILE).
SHOWN_PROBLEMS = 40


@opstui_group("import")
def import_group() -> None:
    """Import work from ServiceNow, Jira or any CSV (all-or-nothing, re-runnable)."""


def _options(fn: Callable[..., Any]) -> Callable[..., Any]:
    opts = [
        click.option(
            "--mapping",
            "--map",
            "mapping_path",
            type=click.Path(dir_okay=False),
            default=None,
            help="Mapping file (TOML): queues, states, priorities, people, fields.",
        ),
        click.option(
            "--tz", default=None, metavar="ZONE", help="Zone of the export's times (default UTC)."
        ),
        click.option(
            "--date-format",
            default=None,
            metavar="FMT",
            help="strptime format of the export's dates, e.g. '%d-%m-%Y %H:%M'.",
        ),
        click.option("--encoding", default=None, help="Text encoding (default: UTF-8, BOM ok)."),
        click.option("--dry-run", is_flag=True, help="Say what would change; change nothing."),
        click.option(
            "--write-mapping",
            type=click.Path(dir_okay=False),
            default=None,
            help="Save the mapping used (explicit and derived) to this TOML file.",
        ),
        click.option(
            "--errors",
            "errors_path",
            type=click.Path(dir_okay=False),
            default=None,
            help="Write every refused row (file:line: reason) to this file.",
        ),
        click.option("-v", "--verbose", is_flag=True, help="List every item created or updated."),
        click.option("--json", "as_json", is_flag=True),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def _mapping(
    path: str | None, tz: str | None, date_format: str | None, encoding: str | None
) -> Any:
    from ..importers.mapping import Mapping, load_mapping

    m = load_mapping(path) if path else Mapping()
    if tz:
        m.tz = tz
    if date_format:
        m.date_format = date_format
    if encoding:
        m.encoding = encoding
    m.zone()  # an unknown zone is refused before the file is read
    return m


class _Progress:
    """A bar with counts and rate on a terminal; plain lines (about every 10%) when piped."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.tty = sys.stderr.isatty()
        self.started = time.perf_counter()
        self.last_step = -1

    def __call__(self, done: int, total: int) -> None:
        elapsed = max(time.perf_counter() - self.started, 1e-6)
        rate = done / elapsed
        if self.tty:
            width = 24
            filled = int(width * done / total) if total else width
            bar = "█" * filled + "░" * (width - filled)
            click.echo(
                f"\r{self.label} {bar} {done:,}/{total:,} items  {rate:,.0f}/s ",
                err=True,
                nl=False,
            )
            if done >= total:
                click.echo("", err=True)
            return
        step = int(10 * done / total) if total else 10
        if step != self.last_step:
            self.last_step = step
            click.echo(f"{self.label}: {done}/{total} items ({rate:.0f}/s)", err=True)


def _run(
    state: AppState,
    system: str,
    path: str,
    mapping_path: str | None,
    tz: str | None,
    date_format: str | None,
    encoding: str | None,
    dry_run: bool,
    write_mapping: str | None,
    errors_path: str | None,
    verbose: bool,
    as_json: bool,
    parse: Callable[[Any], Any],
    defaults: tuple[dict[str, Any], dict[str, int]],
) -> None:
    from ..importers.mapping import mapping_toml
    from ..importers.model import ImportError_
    from ..services.importing import run_import

    mapping = _mapping(mapping_path, tz, date_format, encoding)
    db = state.open()
    # Millions of small, acyclic objects (cells, rows, events): the cyclic collector would
    # rescan them again and again, which doubled the run time of a 170,000-row log.
    gc.disable()
    try:
        if not as_json:
            click.echo(f"reading {Path(path).name}…", err=True)
        source = parse(mapping)
        report = run_import(
            db,
            source,
            mapping,
            default_states=defaults[0],
            default_priorities=defaults[1],
            dry_run=dry_run,
            progress=None if (dry_run or as_json) else _Progress(f"importing {Path(path).name}"),
        )
    except ImportError_ as exc:
        _print_problems(exc.problems, errors_path)
        fail(str(exc))
    finally:
        gc.enable()
    if write_mapping and report.mapping is not None:
        import tomli_w

        Path(write_mapping).write_text(tomli_w.dumps(mapping_toml(report.mapping)))
    if as_json:
        emit_json(report.as_json())
        return
    for note in report.notes:
        click.echo(f"  {note}")
    if report.kept_fields:
        click.echo(f"  kept as named fields: {', '.join(report.kept_fields)}")
    if report.unused_columns:
        click.echo(
            f"  columns not imported (listed in [fields] ignore): {', '.join(report.unused_columns)}"
        )
    for p in report.skipped:
        click.echo(f"  skipped {p}")
    if verbose or dry_run:
        lines = report.lines if verbose else report.lines[:20]
        for line in lines:
            click.echo(f"  {line}")
        if len(report.lines) > len(lines):
            click.echo(f"  ... {len(report.lines) - len(lines)} more (-v lists all)")
    tail = "" if dry_run else f" in {report.seconds:.1f}s"
    click.echo(report.summary() + tail + (" (dry run: nothing changed)" if dry_run else ""))
    if write_mapping:
        click.echo(f"mapping written to {write_mapping}")


def _print_problems(problems: list[Any], errors_path: str | None) -> None:
    if errors_path:
        Path(errors_path).write_text("".join(f"{p}\n" for p in problems))
    for p in problems[:SHOWN_PROBLEMS]:
        click.echo(f"  {p}", err=True)
    if len(problems) > SHOWN_PROBLEMS:
        more = len(problems) - SHOWN_PROBLEMS
        where = f"all in {errors_path}" if errors_path else "--errors FILE writes all"
        click.echo(f"  ... {more} more ({where})", err=True)


@import_group.command("servicenow")
@click.argument("path", metavar="FILE.csv", type=click.Path(dir_okay=False))
@_options
@pass_state
def servicenow_cmd(state: AppState, path: str, **kw: Any) -> None:
    """A ServiceNow incident export or incident event log (one row per update)."""
    from ..importers import servicenow

    _run(
        state,
        "servicenow",
        path,
        parse=lambda m: servicenow.parse(path, m),
        defaults=(servicenow.DEFAULT_STATES, servicenow.DEFAULT_PRIORITIES),
        **kw,
    )


@import_group.command("jira")
@click.argument("path", metavar="FILE.csv", type=click.Path(dir_okay=False))
@_options
@click.option(
    "--group-by",
    type=click.Choice(["project-name", "project-key"]),
    default="project-name",
    show_default=True,
    help="Which column names an issue's queue.",
)
@pass_state
def jira_cmd(state: AppState, path: str, group_by: str, **kw: Any) -> None:
    """Jira's "CSV (all fields)" export."""
    from ..importers import jira

    column = "Project name" if group_by == "project-name" else "Project key"
    _run(
        state,
        "jira",
        path,
        parse=lambda m: jira.parse(path, m, group_column=column),
        defaults=(jira.DEFAULT_STATES, jira.DEFAULT_PRIORITIES),
        **kw,
    )


@import_group.command("csv")
@click.argument("path", metavar="FILE.csv", type=click.Path(dir_okay=False))
@_options
@pass_state
def csv_cmd(state: AppState, path: str, **kw: Any) -> None:
    """Any CSV, read through the [columns] of a mapping file (--map MAP.toml)."""
    from ..importers import generic

    if not kw.get("mapping_path"):
        raise click.UsageError("a CSV import needs --map MAP.toml (see README: Importing)")
    _run(
        state,
        "csv",
        path,
        parse=lambda m: generic.parse(path, m),
        defaults=({}, {"1": 1, "2": 2, "3": 3, "4": 4, "P1": 1, "P2": 2, "P3": 3, "P4": 4}),
        **kw,
    )


COMMANDS = [import_group]
