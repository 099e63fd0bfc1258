"""``opstui doctor``: is this database, and the machine around it, set up right?"""

from __future__ import annotations

import sys

import click

from ..domain.text import one_line
from .common import AppState, emit_json, pass_state
from .settings import mask_password

LABEL = {"ok": "ok", "warn": "WARN", "problem": "PROBLEM"}


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Findings as JSON.")
@click.option(
    "--full", is_flag=True, help="Full integrity_check (slow on big files) instead of quick_check."
)
@pass_state
def doctor_cmd(state: AppState, as_json: bool, full: bool) -> None:
    """Check the database and its surroundings and say what to fix.

    Journal mode, integrity, schema version, filesystem (network filesystems break WAL),
    group permissions for sharing, the SQLite library version, disk space and inotify
    limits.  For a postgresql:// store: server version, schema, your role's rights,
    LISTEN/NOTIFY and round-trip latency.  Never changes the file.  Exit 0 when there are no problems, 1 otherwise.
    """
    from ..services.doctor import diagnose, summary

    path = state.db_path
    findings = diagnose(path, full=full)
    total = summary(findings)
    shown = mask_password(str(path))
    if as_json:
        emit_json({"database": shown, **total, "findings": [f.as_json() for f in findings]})
    else:
        click.echo(f"opstui doctor: {one_line(shown)}")
        width = max(len(f.check) for f in findings)
        for f in findings:
            click.echo(f"  {LABEL[f.status]:<8} {f.check:<{width}}  {one_line(f.message)}")
            if f.fix and f.status != "ok":
                click.echo(f"  {'':<8} {'':<{width}}  fix: {one_line(f.fix)}")
        if total["ok"]:
            extra = (
                f" ({total['warnings']} warning{'s' if total['warnings'] != 1 else ''})"
                if total["warnings"]
                else ""
            )
            click.echo(f"no problems found{extra}")
        else:
            click.echo(
                f"{total['problems']} problem{'s' if total['problems'] != 1 else ''} found",
                err=True,
            )
    sys.exit(0 if total["ok"] else 1)


COMMANDS = [doctor_cmd]
