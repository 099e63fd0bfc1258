"""``opstui migrate``: move a team's store between a file and a PostgreSQL server."""

from __future__ import annotations

import sys

import click

from ..config import is_server_url
from ..domain.text import one_line
from ..errors import StoreError
from .common import AppState, emit_json, pass_state, render_table


def _shown(target: str) -> str:
    if not is_server_url(target):
        return target
    from ..store.dialect import mask_url

    return mask_url(target)


@click.command("migrate")
@click.option("--from", "source", required=True, metavar="FILE|URL", help="Store to copy.")
@click.option("--to", "target", required=True, metavar="URL|FILE", help="Store to fill.")
@click.option(
    "--replace", is_flag=True, help="Overwrite a target that already holds data (else refused)."
)
@click.option("--json", "as_json", is_flag=True, help="The per-table check as JSON.")
@pass_state
def migrate_cmd(state: AppState, source: str, target: str, replace: bool, as_json: bool) -> None:
    """Copy a whole store, history included, from a file to PostgreSQL or back.

    FILE is an opstui database file; URL is postgresql://USER@HOST/DB (password from
    ~/.pgpass or PGPASSWORD).  The target gets the schema if it has none; one that already
    holds data is refused unless --replace.  Afterwards every table is counted and
    checksummed on both sides; exit 1 if anything differs.  The source is only read.
    """
    from pathlib import Path

    from ..store.schema import open_database
    from ..store.transfer import copy_store

    if not is_server_url(source) and not Path(source).expanduser().exists():
        raise StoreError(f"no database at {source} to copy from")
    if source == target:
        raise StoreError("--from and --to name the same store")
    try:
        src = open_database(source, create=False, readonly=True, clock=state.clock())
    except StoreError as exc:
        if "needs an upgrade" not in str(exc):
            raise
        raise StoreError(
            f"{_shown(source)} has an older schema and migrate only reads its source: "
            f"upgrade it first with 'opstui --db {_shown(source)} init'"
        ) from exc
    try:
        dst = open_database(target, create=True, clock=state.clock())
        try:
            progress = None if as_json else _progress
            checks = copy_store(src, dst, replace=replace, progress=progress)
        finally:
            dst.dispose()
    finally:
        src.dispose()
    ok = all(c.ok for c in checks)
    if as_json:
        emit_json(
            {
                "from": _shown(source),
                "to": _shown(target),
                "ok": ok,
                "tables": [c.as_json() for c in checks],
            }
        )
    else:
        rows = [
            (
                c.table,
                c.source_rows,
                c.target_rows,
                c.source_sha256[:16],
                "ok" if c.ok else "DIFFERS",
            )
            for c in checks
        ]
        click.echo(render_table(["TABLE", "ROWS", "COPIED", "SHA256", "CHECK"], rows, flex=0))
        total = sum(c.source_rows for c in checks)
        verdict = "identical" if ok else "NOT identical"
        click.echo(
            f"copied {total} rows from {one_line(_shown(source))} to "
            f"{one_line(_shown(target))}: {verdict}"
        )
    sys.exit(0 if ok else 1)


def _progress(table: str, rows: int) -> None:
    click.echo(f"  {table}: {rows} rows", err=True)


COMMANDS = [migrate_cmd]
