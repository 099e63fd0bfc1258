"""``opstui ingest``: items from a pipe (an email gateway, an alert, a form)."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import OpsError, ReadOnlyError
from .common import AppState, emit_json, pass_state


@click.command("ingest")
@click.argument("source", default="-", metavar="FILE|-")
@click.option("--dry-run", is_flag=True, help="Check and report; write nothing.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def ingest_cmd(state: AppState, source: str, dry_run: bool, as_json: bool) -> None:
    """Create or update items from one JSON object, a JSON array, or JSON lines.

    Each object names a new item (queue, title, and optionally body, kind, priority,
    owner, estimate, requester, due, state, comment) or an existing one by key or
    external_key (the sender's own id, e.g. an alert fingerprint or a message id).
    All or nothing: a bad line is named with its reason and nothing is written.
    """
    from ..services import inbound

    if source == "-":
        text = click.get_text_stream("stdin").read()
        name = "stdin"
    else:
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise OpsError(f"cannot read {source}: {reason}") from None
        name = path.name
    db = state.open()
    if db.readonly and not dry_run:
        raise ReadOnlyError("the database is open read-only: nothing was written")
    report = inbound.ingest(db, text, source=name, dry_run=dry_run)
    if as_json:
        emit_json(
            {
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "dry_run": dry_run,
            }
        )
        return
    prefix = "would have " if dry_run else ""
    click.echo(
        f"{prefix}{report.summary()}: "
        + " ".join(report.created + report.updated + report.unchanged)
    )


COMMANDS = [ingest_cmd]
